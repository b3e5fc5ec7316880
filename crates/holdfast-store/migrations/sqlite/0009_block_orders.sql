-- Blocks in two parts: what a block decision says (reason, requester, start, end, action) once
-- per decision in `block_orders`, and each name blocked now as one narrow row naming its order
-- in `blocked_names`, keyed by the name. A million-name block wrote a wide row per name with
-- two index entries (three B-tree inserts); now it writes one. A name leaves `blocked_names`
-- when its block is lifted: its end date passed (the whole order is lifted), an undo, or a
-- create action; a row whose order ended but was not lifted yet is replaced by a new block.
-- The history of blocks is the actions' (each blocked name's result and effect).
CREATE TABLE block_orders (
    id            INTEGER PRIMARY KEY,
    reason        TEXT NOT NULL,
    requested_by  TEXT NOT NULL,
    starts_at     INTEGER NOT NULL,
    ends_at       INTEGER NOT NULL,
    action_id     INTEGER REFERENCES actions(id),
    lifted_at     INTEGER
);
CREATE INDEX block_orders_unlifted_end ON block_orders(ends_at) WHERE lifted_at IS NULL;

CREATE TABLE blocked_names (
    name      TEXT PRIMARY KEY,
    tld_id    INTEGER NOT NULL REFERENCES tlds(id),
    order_id  INTEGER NOT NULL REFERENCES block_orders(id)
) WITHOUT ROWID;

-- Each block not yet lifted becomes an order of its own, with its name.
INSERT INTO block_orders (id, reason, requested_by, starts_at, ends_at, action_id)
SELECT id, reason, requested_by, starts_at, ends_at, action_id FROM blocks
WHERE lifted_at IS NULL;
INSERT INTO blocked_names (name, tld_id, order_id)
SELECT name, tld_id, id FROM blocks WHERE lifted_at IS NULL;

DROP TABLE blocks;
