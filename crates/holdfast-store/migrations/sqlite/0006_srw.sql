-- Security Response Waiver requests (SQLite): the draft as written, and once complete the
-- submitted request and its review, each as the model's JSON.
CREATE TABLE srw_requests (
    id              INTEGER PRIMARY KEY,
    org_id          INTEGER NOT NULL REFERENCES organisations(id),
    requester_kind  TEXT NOT NULL,
    created_by      INTEGER NOT NULL REFERENCES users(id),
    draft           TEXT NOT NULL,
    submitted       TEXT,
    review          TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    submitted_at    INTEGER
);
CREATE INDEX srw_requests_org ON srw_requests(org_id);
