-- Waivers (SQLite): one row per waiver (its identity and holder), one per version (the terms a
-- decision issued or updated, as the model's JSON). Waiver requests gain their after-action
-- report, the review clocks' reminder and breach marks and the thread of messages; actions say which waiver let them
-- act, or that they were taken in an emergency without one.
CREATE TABLE waivers (
    id          INTEGER PRIMARY KEY,
    holder_org  INTEGER NOT NULL REFERENCES organisations(id),
    created_at  INTEGER NOT NULL
);
CREATE INDEX waivers_holder ON waivers(holder_org);
CREATE TABLE waiver_versions (
    waiver_id   INTEGER NOT NULL REFERENCES waivers(id),
    version     INTEGER NOT NULL,
    request_id  INTEGER NOT NULL REFERENCES srw_requests(id),
    terms       TEXT NOT NULL,
    issued_by   INTEGER NOT NULL REFERENCES users(id),
    issued_at   INTEGER NOT NULL,
    PRIMARY KEY (waiver_id, version)
);
ALTER TABLE srw_requests ADD COLUMN report TEXT;
ALTER TABLE srw_requests ADD COLUMN marks TEXT;
ALTER TABLE srw_requests ADD COLUMN thread TEXT;
ALTER TABLE actions ADD COLUMN waiver_ref TEXT;
-- Files either side attaches to a waiver request (evidence, the waiver letter).
CREATE TABLE srw_attachments (
    id            INTEGER PRIMARY KEY,
    request_id    INTEGER NOT NULL REFERENCES srw_requests(id),
    filename      TEXT NOT NULL,
    content_type  TEXT NOT NULL,
    size          INTEGER NOT NULL,
    sha256        TEXT NOT NULL,
    content       BLOB NOT NULL,
    created_at    INTEGER NOT NULL
);
CREATE INDEX srw_attachments_request ON srw_attachments(request_id);
