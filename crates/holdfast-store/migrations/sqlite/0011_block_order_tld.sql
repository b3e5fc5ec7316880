-- A block order is one TLD's: the TLD moves from each blocked name to its order, and a blocked
-- name is only its name and order, without foreign keys. Writing a blocked name checked two
-- (its TLD and its order), each a B-tree search per name: 0.61 s of SQLite's work to insert a
-- million names, 0.32 s without them. What they guarded holds by construction: the names of an
-- order are written by the statement after the one that makes the order, in the same
-- transaction, with its id as returned; an order is never deleted (a lifted order is marked
-- lifted); and the order's TLD is checked once, by the order's own foreign key.
--
-- An order made before this with names in several TLDs is split, one order per TLD (the
-- lowest TLD id keeps the order's id). An order lifted before this has no names left to tell
-- its TLD: it stays NULL. Every order made from now on has its TLD.
ALTER TABLE block_orders ADD COLUMN tld_id INTEGER REFERENCES tlds(id);
ALTER TABLE block_orders ADD COLUMN split_from INTEGER;

UPDATE block_orders SET tld_id =
    (SELECT MIN(b.tld_id) FROM blocked_names b WHERE b.order_id = block_orders.id);

INSERT INTO block_orders (reason, requested_by, starts_at, ends_at, action_id, lifted_at, tld_id,
    split_from)
SELECT o.reason, o.requested_by, o.starts_at, o.ends_at, o.action_id, o.lifted_at, t.tld_id, o.id
FROM block_orders o JOIN (SELECT DISTINCT order_id, tld_id FROM blocked_names) t
    ON t.order_id = o.id
WHERE t.tld_id <> o.tld_id;
CREATE INDEX block_orders_split ON block_orders(split_from, tld_id);

CREATE TABLE blocked_names_by_order (
    name      TEXT PRIMARY KEY,
    order_id  INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO blocked_names_by_order (name, order_id)
SELECT b.name, CASE WHEN b.tld_id = o.tld_id THEN o.id ELSE
    (SELECT s.id FROM block_orders s WHERE s.split_from = o.id AND s.tld_id = b.tld_id) END
FROM blocked_names b JOIN block_orders o ON o.id = b.order_id;
DROP TABLE blocked_names;
ALTER TABLE blocked_names_by_order RENAME TO blocked_names;

DROP INDEX block_orders_split;
ALTER TABLE block_orders DROP COLUMN split_from;
