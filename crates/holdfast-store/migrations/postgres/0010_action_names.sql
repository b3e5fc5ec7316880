-- An action's names are written once, when it is decided, in `action_names` (a JSON array of the
-- names of a batch, in sequence order from first_seq); `action_batches` keeps each batch's counts
-- and results, so applying a batch rewrites its results, not its names.
--
-- results: a JSON array of runs, [count, result, detail, effect, undo, undo_detail], that give
-- the next `count` names of the batch that result, detail, effect and undo result (as the items
-- of 0004 did one name each). Most names of a large action share them: a block of a million
-- new names is a few runs a batch.
CREATE TABLE action_names (
    action_id  BIGINT NOT NULL REFERENCES actions(id),
    first_seq  BIGINT NOT NULL,
    names      TEXT NOT NULL,
    PRIMARY KEY (action_id, first_seq)
);

INSERT INTO action_names (action_id, first_seq, names)
SELECT action_id, first_seq,
    (SELECT json_agg(e.value ->> 0 ORDER BY e.ordinality)::text
     FROM json_array_elements(items::json) WITH ORDINALITY AS e)
FROM action_batches;

-- A run of one name each.
ALTER TABLE action_batches ADD COLUMN results TEXT;
UPDATE action_batches SET results =
    (SELECT json_agg(json_build_array(1, e.value ->> 1, e.value -> 2, e.value -> 3, e.value -> 4,
        e.value -> 5) ORDER BY e.ordinality)::text
     FROM json_array_elements(items::json) WITH ORDINALITY AS e);
ALTER TABLE action_batches ALTER COLUMN results SET NOT NULL, DROP COLUMN items;
