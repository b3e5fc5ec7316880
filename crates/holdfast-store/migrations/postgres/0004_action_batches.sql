-- An action's names in batches of consecutive names (10,000: the chunk the runner applies in one
-- transaction) instead of one row per name: a million-name action writes a hundred rows when
-- decided and rewrites each once when applied, instead of inserting and then updating a million.
--
-- items: a JSON array with one [name, result, detail, effect, undo, undo_detail] per name, in
-- sequence order from first_seq. result: pending | applied | already | not-ours | refused |
-- invalid; effect: the JSON of what the action changed (undo restores it); undo: null | undone |
-- refused. The counts are those of the items; undo_pending counts the applied names without an
-- undo result (those an undo has yet to reach). Stored as TEXT: the store reads and writes it whole.
CREATE TABLE action_batches (
    action_id     BIGINT NOT NULL REFERENCES actions(id),
    first_seq     BIGINT NOT NULL,
    size          BIGINT NOT NULL,
    pending       BIGINT NOT NULL,
    applied       BIGINT NOT NULL,
    already       BIGINT NOT NULL,
    not_ours      BIGINT NOT NULL,
    refused       BIGINT NOT NULL,
    invalid       BIGINT NOT NULL,
    undone        BIGINT NOT NULL,
    undo_refused  BIGINT NOT NULL,
    undo_pending  BIGINT NOT NULL,
    items         TEXT NOT NULL,
    PRIMARY KEY (action_id, first_seq)
);

INSERT INTO action_batches (action_id, first_seq, size, pending, applied, already, not_ours,
    refused, invalid, undone, undo_refused, undo_pending, items)
SELECT action_id, MIN(seq), COUNT(*),
    COUNT(*) FILTER (WHERE result = 'pending'), COUNT(*) FILTER (WHERE result = 'applied'),
    COUNT(*) FILTER (WHERE result = 'already'), COUNT(*) FILTER (WHERE result = 'not-ours'),
    COUNT(*) FILTER (WHERE result = 'refused'), COUNT(*) FILTER (WHERE result = 'invalid'),
    COUNT(*) FILTER (WHERE undo = 'undone'), COUNT(*) FILTER (WHERE undo = 'refused'),
    COUNT(*) FILTER (WHERE result = 'applied' AND (undo IS NULL OR undo = 'pending')),
    json_agg(json_build_array(name, result, detail, effect::json,
        CASE WHEN undo IN ('undone', 'refused') THEN undo END, undo_detail) ORDER BY seq)::text
FROM action_items
GROUP BY action_id, seq / 10000;

DROP TABLE action_items;
