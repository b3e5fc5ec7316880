-- Registry data: registrars, domains with name servers and DS, glue, blocks; TLD apex (SQLite).
ALTER TABLE tlds ADD COLUMN soa TEXT;
ALTER TABLE tlds ADD COLUMN apex_ns TEXT;

CREATE TABLE registrars (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    iana_id     INTEGER UNIQUE,
    org_id      INTEGER REFERENCES organisations(id),
    abuse_email TEXT NOT NULL,
    abuse_phone TEXT NOT NULL,
    internal    BOOLEAN NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE UNIQUE INDEX registrars_one_internal ON registrars(internal) WHERE internal;

-- Names are the natural key of a registry: delegation rows refer to the domain by name.
CREATE TABLE domains (
    name          TEXT PRIMARY KEY,
    tld_id        INTEGER NOT NULL REFERENCES tlds(id),
    registrar_id  INTEGER REFERENCES registrars(id),
    statuses      TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER,
    updated_at    INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX domains_tld ON domains(tld_id);
CREATE INDEX domains_registrar ON domains(registrar_id);

CREATE TABLE domain_ns (
    domain  TEXT NOT NULL REFERENCES domains(name) ON DELETE CASCADE,
    host    TEXT NOT NULL,
    PRIMARY KEY (domain, host)
) WITHOUT ROWID;
CREATE INDEX domain_ns_host ON domain_ns(host);

CREATE TABLE domain_ds (
    domain       TEXT NOT NULL REFERENCES domains(name) ON DELETE CASCADE,
    key_tag      INTEGER NOT NULL,
    algorithm    INTEGER NOT NULL,
    digest_type  INTEGER NOT NULL,
    digest       TEXT NOT NULL,
    PRIMARY KEY (domain, key_tag, algorithm, digest_type, digest)
) WITHOUT ROWID;

CREATE TABLE glue (
    host     TEXT NOT NULL,
    tld_id   INTEGER NOT NULL REFERENCES tlds(id),
    address  TEXT NOT NULL,
    PRIMARY KEY (host, address)
) WITHOUT ROWID;

CREATE TABLE blocks (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL,
    tld_id        INTEGER NOT NULL REFERENCES tlds(id),
    reason        TEXT NOT NULL,
    requested_by  TEXT NOT NULL,
    starts_at     INTEGER NOT NULL,
    ends_at       INTEGER NOT NULL,
    lifted_at     INTEGER
);
CREATE UNIQUE INDEX blocks_active_name ON blocks(name) WHERE lifted_at IS NULL;
CREATE INDEX blocks_active_end ON blocks(ends_at) WHERE lifted_at IS NULL;
