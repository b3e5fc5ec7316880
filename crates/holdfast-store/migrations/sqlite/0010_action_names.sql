-- An action's names are written once, when it is decided, in `action_names` (a JSON array of the
-- names of a batch, in sequence order from first_seq); `action_batches` keeps each batch's counts
-- and results. Applying a batch rewrites its results, not its names: SQLite rewrites a whole row
-- on any update (its overflow pages too), so names beside the results were written twice.
--
-- results: a JSON array of runs, [count, result, detail, effect, undo, undo_detail], that give
-- the next `count` names of the batch that result, detail, effect and undo result (as the items
-- of 0004 did one name each). Most names of a large action share them: a block of a million
-- new names is a few runs a batch.
CREATE TABLE action_names (
    action_id  INTEGER NOT NULL REFERENCES actions(id),
    first_seq  INTEGER NOT NULL,
    names      TEXT NOT NULL,
    PRIMARY KEY (action_id, first_seq)
);

INSERT INTO action_names (action_id, first_seq, names)
SELECT action_id, first_seq,
    (SELECT json_group_array(value ->> 0 ORDER BY key) FROM json_each(items))
FROM action_batches;

CREATE TABLE action_results (
    action_id     INTEGER NOT NULL REFERENCES actions(id),
    first_seq     INTEGER NOT NULL,
    size          INTEGER NOT NULL,
    pending       INTEGER NOT NULL,
    applied       INTEGER NOT NULL,
    already       INTEGER NOT NULL,
    not_ours      INTEGER NOT NULL,
    refused       INTEGER NOT NULL,
    invalid       INTEGER NOT NULL,
    undone        INTEGER NOT NULL,
    undo_refused  INTEGER NOT NULL,
    undo_pending  INTEGER NOT NULL,
    results       TEXT NOT NULL,
    PRIMARY KEY (action_id, first_seq)
);

-- A run of one name each.
INSERT INTO action_results (action_id, first_seq, size, pending, applied, already, not_ours,
    refused, invalid, undone, undo_refused, undo_pending, results)
SELECT action_id, first_seq, size, pending, applied, already, not_ours, refused, invalid, undone,
    undo_refused, undo_pending,
    (SELECT json_group_array(json_array(1, value ->> 1, value -> 2, value -> 3, value -> 4,
        value -> 5) ORDER BY key) FROM json_each(items))
FROM action_batches;

DROP TABLE action_batches;
ALTER TABLE action_results RENAME TO action_batches;
