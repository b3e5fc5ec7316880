-- An action's names in batches of consecutive names (10,000: the chunk the runner applies in one
-- transaction) instead of one row per name: a million-name action writes a hundred rows when
-- decided and rewrites each once when applied, instead of inserting and then updating a million.
--
-- items: a JSON array with one [name, result, detail, effect, undo, undo_detail] per name, in
-- sequence order from first_seq. result: pending | applied | already | not-ours | refused |
-- invalid; effect: the JSON of what the action changed (undo restores it); undo: null | undone |
-- refused. The counts are those of the items; undo_pending counts the applied names without an
-- undo result (those an undo has yet to reach). The counts come before items, so reading them never
-- touches the items' overflow pages.
CREATE TABLE action_batches (
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
    items         TEXT NOT NULL,
    PRIMARY KEY (action_id, first_seq)
);

INSERT INTO action_batches (action_id, first_seq, size, pending, applied, already, not_ours,
    refused, invalid, undone, undo_refused, undo_pending, items)
SELECT action_id, MIN(seq), COUNT(*),
    SUM(result = 'pending'), SUM(result = 'applied'), SUM(result = 'already'),
    SUM(result = 'not-ours'), SUM(result = 'refused'), SUM(result = 'invalid'),
    SUM(undo IS 'undone'), SUM(undo IS 'refused'),
    SUM(result = 'applied' AND (undo IS NULL OR undo = 'pending')),
    json_group_array(json_array(name, result, detail, json(effect),
        CASE WHEN undo IN ('undone', 'refused') THEN undo END, undo_detail) ORDER BY seq)
FROM action_items
GROUP BY action_id, seq / 10000;

DROP TABLE action_items;
