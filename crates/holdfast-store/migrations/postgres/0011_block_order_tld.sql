-- A block order is one TLD's: the TLD moves from each blocked name to its order, and a blocked
-- name is only its name and order, without foreign keys (a check per name of a million-name
-- block). What they guarded holds by construction: the names of an order are written by the
-- statement after the one that makes the order, in the same transaction, with its id as
-- returned; an order is never deleted (a lifted order is marked lifted); and the order's TLD
-- is checked once, by the order's own foreign key.
--
-- An order made before this with names in several TLDs is split, one order per TLD (the
-- lowest TLD id keeps the order's id). An order lifted before this has no names left to tell
-- its TLD: it stays NULL. Every order made from now on has its TLD.
ALTER TABLE block_orders ADD COLUMN tld_id BIGINT REFERENCES tlds(id), ADD COLUMN split_from BIGINT;

UPDATE block_orders o SET tld_id = t.tld_id
FROM (SELECT order_id, MIN(tld_id) AS tld_id FROM blocked_names GROUP BY order_id) t
WHERE t.order_id = o.id;

INSERT INTO block_orders (reason, requested_by, starts_at, ends_at, action_id, lifted_at, tld_id,
    split_from)
SELECT o.reason, o.requested_by, o.starts_at, o.ends_at, o.action_id, o.lifted_at, t.tld_id, o.id
FROM block_orders o JOIN (SELECT DISTINCT order_id, tld_id FROM blocked_names) t
    ON t.order_id = o.id
WHERE t.tld_id <> o.tld_id;
CREATE INDEX block_orders_split ON block_orders(split_from, tld_id);

UPDATE blocked_names b SET order_id = s.id FROM block_orders s
WHERE s.split_from = b.order_id AND s.tld_id = b.tld_id;

DROP INDEX block_orders_split;
ALTER TABLE block_orders DROP COLUMN split_from;
ALTER TABLE blocked_names DROP COLUMN tld_id, DROP CONSTRAINT blocked_names_order_id_fkey;
