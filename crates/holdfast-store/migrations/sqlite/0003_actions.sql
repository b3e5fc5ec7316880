-- Actions on names as one decision each, with a result and an undo record per name; sinkhole
-- hosts per TLD; blocks made by actions; the queue of names whose DNS must be re-published.
ALTER TABLE tlds ADD COLUMN sinkhole_ns TEXT;
-- Where the TLD's DNS is published: NULL = Holdfast's embedded server; else an RFC 2136 primary
-- (host:port) with the TSIG key (hmac-sha256) that signs the updates.
ALTER TABLE tlds ADD COLUMN dns_primary TEXT;
ALTER TABLE tlds ADD COLUMN tsig_name TEXT;
ALTER TABLE tlds ADD COLUMN tsig_secret TEXT;

CREATE TABLE actions (
    id               INTEGER PRIMARY KEY,
    org_id           INTEGER NOT NULL REFERENCES organisations(id),
    kind             TEXT NOT NULL,
    -- proposed (waits for a second approver) | applying | applied | undoing | undone
    state            TEXT NOT NULL,
    reason           TEXT NOT NULL,
    case_ref         TEXT,
    requested_by     TEXT NOT NULL,
    decided_by       INTEGER NOT NULL REFERENCES users(id),
    approved_by      INTEGER REFERENCES users(id),
    legal_direction  TEXT,
    to_registrar_id  INTEGER REFERENCES registrars(id),
    until            INTEGER,
    deadline         INTEGER,
    total            INTEGER NOT NULL,
    created_at       INTEGER NOT NULL,
    applied_at       INTEGER,
    undone_by        INTEGER REFERENCES users(id),
    undone_at        INTEGER,
    effect_ms        INTEGER
);
CREATE INDEX actions_unfinished ON actions(state) WHERE state IN ('applying', 'undoing');

ALTER TABLE blocks ADD COLUMN action_id INTEGER REFERENCES actions(id);

-- result: pending | applied | already | not-ours | refused | invalid
-- undo:   NULL | pending | undone | refused
CREATE TABLE action_items (
    action_id    INTEGER NOT NULL REFERENCES actions(id),
    seq          INTEGER NOT NULL,
    name         TEXT NOT NULL,
    result       TEXT NOT NULL,
    detail       TEXT,
    effect       TEXT,
    undo         TEXT,
    undo_detail  TEXT,
    PRIMARY KEY (action_id, seq)
) WITHOUT ROWID;

CREATE TABLE dns_changes (
    seq     INTEGER PRIMARY KEY,
    tld_id  INTEGER NOT NULL REFERENCES tlds(id),
    name    TEXT NOT NULL
);
