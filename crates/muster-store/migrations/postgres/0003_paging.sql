-- Durable jobs, engagements, pages and server settings.
CREATE TABLE settings (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- Everything due later is a row here. A claim sets locked_by and a lease (locked_until); a job
-- whose lease ran out is claimed again by any node.
CREATE TABLE jobs (
    id           TEXT PRIMARY KEY,
    kind         TEXT NOT NULL,
    payload      TEXT NOT NULL,
    due_at       BIGINT NOT NULL,
    attempts     BIGINT NOT NULL,
    locked_by    TEXT,
    locked_until BIGINT,
    created_at   BIGINT NOT NULL,
    unique_key   TEXT UNIQUE
);
CREATE INDEX jobs_due ON jobs (due_at);

CREATE TABLE engagements (
    id               TEXT PRIMARY KEY,
    incident_id      TEXT REFERENCES incidents (id) ON DELETE CASCADE,
    contact          TEXT NOT NULL,
    subject          TEXT NOT NULL,
    content          TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('ACTIVE', 'ACKNOWLEDGED', 'STOPPED')),
    created_at       BIGINT NOT NULL,
    created_by       TEXT NOT NULL,
    stopped_at       BIGINT,
    acknowledged_by  TEXT,
    acknowledged_via TEXT
);
CREATE INDEX engagements_incident ON engagements (incident_id);

CREATE TABLE pages (
    id            TEXT PRIMARY KEY,
    engagement_id TEXT NOT NULL REFERENCES engagements (id) ON DELETE CASCADE,
    incident_id   TEXT,
    contact       TEXT NOT NULL,
    channel_id    TEXT NOT NULL,
    channel_name  TEXT NOT NULL,
    channel_type  TEXT NOT NULL,
    address       TEXT NOT NULL,
    stage         BIGINT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('PENDING', 'SENT', 'DELIVERED', 'READ', 'ERROR', 'CANCELLED')),
    attempts      BIGINT NOT NULL,
    last_error    TEXT,
    ack_code      TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    sent_at       BIGINT,
    delivered_at  BIGINT,
    read_at       BIGINT,
    read_by       TEXT,
    read_via      TEXT
);
CREATE INDEX pages_engagement ON pages (engagement_id, contact);
CREATE INDEX pages_incident ON pages (incident_id);
CREATE INDEX pages_ack_code ON pages (ack_code);
