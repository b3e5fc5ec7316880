-- The case desk (SQLite): per-organisation calendars and desk settings, LEA verification, recognised
-- sources, reports with their names and evidence, cases with their clocks and actions, referrals
-- to registrars, messages in and out, and every e-mail as received.

-- JSON calendar ({"time_zone", "weekend", "holidays"}); NULL = Monday to Friday, UTC.
ALTER TABLE organisations ADD COLUMN calendar TEXT;
-- A reporter organisation an admin verified as law enforcement: who and when.
ALTER TABLE organisations ADD COLUMN lea_verified_by INTEGER REFERENCES users(id);
ALTER TABLE organisations ADD COLUMN lea_verified_at INTEGER;

-- A registry's desk: clock targets and the address reports and replies come to.
CREATE TABLE desk_settings (
    org_id                  INTEGER PRIMARY KEY REFERENCES organisations(id),
    acknowledge_minutes     INTEGER NOT NULL,
    assess_hours            INTEGER NOT NULL,
    referral_business_days  INTEGER NOT NULL,
    desk_address            TEXT UNIQUE
);

-- Sources a registry recognises: an e-mail domain or a reporter organisation.
CREATE TABLE recognised_sources (
    id               INTEGER PRIMARY KEY,
    registry_org_id  INTEGER NOT NULL REFERENCES organisations(id),
    email_domain     TEXT,
    reporter_org_id  INTEGER REFERENCES organisations(id),
    label            TEXT NOT NULL,
    created_at       INTEGER NOT NULL
);
CREATE INDEX recognised_sources_registry ON recognised_sources(registry_org_id);

-- state: new | acknowledged | assessed | action_decided | mitigated | closed | closed_no_action
CREATE TABLE cases (
    id                  INTEGER PRIMARY KEY,
    org_id              INTEGER NOT NULL REFERENCES organisations(id),
    state               TEXT NOT NULL,
    threat_type         TEXT NOT NULL,
    priority            TEXT,
    priority_rationale  TEXT,
    responsible_party   TEXT,
    course_of_action    TEXT,
    no_action_reason    TEXT,
    assigned_to         INTEGER REFERENCES users(id),
    merged_into         INTEGER REFERENCES cases(id),
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL,
    closed_at           INTEGER
);
CREATE INDEX cases_org_state ON cases(org_id, state);

CREATE TABLE reports (
    id                INTEGER PRIMARY KEY,
    registry_org_id   INTEGER NOT NULL REFERENCES organisations(id),
    case_id           INTEGER REFERENCES cases(id),
    channel           TEXT NOT NULL,
    source_class      TEXT NOT NULL,
    origin            TEXT NOT NULL,
    reporter_user_id  INTEGER REFERENCES users(id),
    reporter_org_id   INTEGER REFERENCES organisations(id),
    reporter_name     TEXT NOT NULL,
    reporter_email    TEXT,
    threat_type       TEXT NOT NULL,
    description       TEXT NOT NULL,
    requested_action  TEXT,
    claimed_urgency   TEXT,
    legal_basis       TEXT,
    urls              TEXT NOT NULL,
    name_count        INTEGER NOT NULL,
    ours_count        INTEGER NOT NULL,
    invalid_count     INTEGER NOT NULL,
    -- the e-mail this report came from, kept whole; and why it could not be parsed, if so
    mail_id           INTEGER,
    parse_error       TEXT,
    received_at       INTEGER NOT NULL
);
CREATE INDEX reports_case ON reports(case_id);
CREATE INDEX reports_reporter ON reports(reporter_user_id);

-- Each name of a report: its A-label (or the raw text when invalid), its TLD when ours, and
-- the problem when the text is not a valid name.
CREATE TABLE report_names (
    report_id  INTEGER NOT NULL REFERENCES reports(id),
    name       TEXT NOT NULL,
    tld_id     INTEGER,
    problem    TEXT,
    PRIMARY KEY (report_id, name)
) WITHOUT ROWID;
CREATE INDEX report_names_name ON report_names(name);

CREATE TABLE evidence (
    id            INTEGER PRIMARY KEY,
    report_id     INTEGER NOT NULL REFERENCES reports(id),
    filename      TEXT NOT NULL,
    content_type  TEXT NOT NULL,
    size          INTEGER NOT NULL,
    sha256        TEXT NOT NULL,
    content       BLOB NOT NULL,
    created_at    INTEGER NOT NULL
);
CREATE INDEX evidence_report ON evidence(report_id);

-- clock: acknowledge | assess | referral
CREATE TABLE case_clocks (
    case_id      INTEGER NOT NULL REFERENCES cases(id),
    clock        TEXT NOT NULL,
    started_at   INTEGER NOT NULL,
    due          INTEGER NOT NULL,
    remind_at    INTEGER NOT NULL,
    done_at      INTEGER,
    reminded_at  INTEGER,
    breached_at  INTEGER,
    PRIMARY KEY (case_id, clock)
);
CREATE INDEX case_clocks_open ON case_clocks(remind_at) WHERE done_at IS NULL;

-- Actions decided from a case name it in case_ref as case:ID.
CREATE INDEX actions_case_ref ON actions(case_ref);

-- A refer action's notice to one registrar, and the registrar's answer.
CREATE TABLE referrals (
    id            INTEGER PRIMARY KEY,
    case_id       INTEGER NOT NULL REFERENCES cases(id),
    action_id     INTEGER NOT NULL REFERENCES actions(id),
    registrar_id  INTEGER NOT NULL REFERENCES registrars(id),
    names         TEXT NOT NULL,
    due           INTEGER NOT NULL,
    answer        TEXT,
    answered_by   INTEGER REFERENCES users(id),
    answered_at   INTEGER
);
CREATE INDEX referrals_registrar ON referrals(registrar_id);
CREATE INDEX referrals_case ON referrals(case_id);

-- Every e-mail the SMTP listener accepted, as received.
CREATE TABLE inbound_mail (
    id           INTEGER PRIMARY KEY,
    received_at  INTEGER NOT NULL,
    mail_from    TEXT NOT NULL,
    rcpt_to      TEXT NOT NULL,
    peer         TEXT NOT NULL,
    raw          BLOB NOT NULL,
    parse_error  TEXT
);

-- direction: out | in; event: acknowledgment | assessment | referral | no_action | closure |
-- reminder | breach | reply | reply_alert. Outgoing messages wait here until sent.
CREATE TABLE messages (
    id            INTEGER PRIMARY KEY,
    case_id       INTEGER REFERENCES cases(id),
    report_id     INTEGER REFERENCES reports(id),
    referral_id   INTEGER REFERENCES referrals(id),
    direction     TEXT NOT NULL,
    event         TEXT NOT NULL,
    sender        TEXT NOT NULL,
    recipient     TEXT NOT NULL,
    subject       TEXT NOT NULL,
    body          TEXT NOT NULL,
    mail_id       INTEGER REFERENCES inbound_mail(id),
    created_at    INTEGER NOT NULL,
    sent_at       INTEGER,
    attempts      INTEGER NOT NULL,
    last_error    TEXT
);
CREATE INDEX messages_case ON messages(case_id);
CREATE INDEX messages_report ON messages(report_id);
CREATE INDEX messages_unsent ON messages(id) WHERE direction = 'out' AND sent_at IS NULL;

-- A registry's own wording of a message; the built-in text otherwise.
CREATE TABLE message_templates (
    org_id   INTEGER NOT NULL REFERENCES organisations(id),
    event    TEXT NOT NULL,
    subject  TEXT NOT NULL,
    body     TEXT NOT NULL,
    PRIMARY KEY (org_id, event)
);
