-- Event rules, integrations, what they receive, and silences.
CREATE TABLE rules (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    spec       TEXT NOT NULL,
    stack      TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE integrations (
    id               TEXT PRIMARY KEY,
    name             TEXT NOT NULL UNIQUE,
    spec             TEXT NOT NULL,
    key_hash         TEXT NOT NULL UNIQUE,
    key_prefix       TEXT NOT NULL,
    last_received_at BIGINT,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL
);

-- Everything received, written before it is answered, then routed by a job.
CREATE TABLE inbound (
    id             TEXT PRIMARY KEY,
    kind           TEXT NOT NULL,
    integration_id TEXT,
    payload        TEXT NOT NULL,
    status         TEXT NOT NULL,
    outcome        TEXT NOT NULL,
    incident_id    TEXT,
    received_at    BIGINT NOT NULL,
    routed_at      BIGINT
);
CREATE INDEX inbound_received ON inbound (received_at);
CREATE INDEX inbound_integration ON inbound (integration_id, received_at);

CREATE TABLE silences (
    id         TEXT PRIMARY KEY,
    spec       TEXT NOT NULL,
    starts_at  BIGINT NOT NULL,
    ends_at    BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX silences_ends ON silences (ends_at);
