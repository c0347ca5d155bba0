-- Times are Unix milliseconds (INTEGER); structured values are JSON text.
CREATE TABLE counters (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
INSERT INTO counters (name, value) VALUES ('incident_number', 0);

CREATE TABLE api_tokens (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    role         TEXT NOT NULL CHECK (role IN ('viewer', 'responder', 'admin')),
    token_hash   TEXT NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL,
    created_by   TEXT NOT NULL,
    revoked_at   INTEGER
);

CREATE TABLE response_plans (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL UNIQUE,
    spec         TEXT NOT NULL,
    stack        TEXT,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);

CREATE TABLE incidents (
    id                 TEXT PRIMARY KEY,
    number             INTEGER NOT NULL UNIQUE,
    title              TEXT NOT NULL,
    impact             INTEGER NOT NULL CHECK (impact BETWEEN 1 AND 5),
    status             TEXT NOT NULL CHECK (status IN ('OPEN', 'RESOLVED')),
    summary            TEXT,
    dedupe_string      TEXT,
    response_plan_id   TEXT,
    response_plan_name TEXT,
    tags               TEXT NOT NULL,
    roles              TEXT NOT NULL,
    trigger_info       TEXT NOT NULL,
    trigger_count      INTEGER NOT NULL,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    resolved_at        INTEGER,
    last_triggered_at  INTEGER NOT NULL,
    created_by         TEXT NOT NULL
);
-- Invariant 3: at most one open incident per dedupe string.
CREATE UNIQUE INDEX incidents_open_dedupe ON incidents (dedupe_string)
    WHERE status = 'OPEN' AND dedupe_string IS NOT NULL;
CREATE INDEX incidents_status_number ON incidents (status, number);

-- A start's client token, kept so a retried start returns the same incident, whether the first
-- attempt opened it or was deduplicated into it.
CREATE TABLE start_tokens (
    token       TEXT PRIMARY KEY,
    incident_id TEXT NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL
);

CREATE TABLE timeline_events (
    id          TEXT PRIMARY KEY,
    incident_id TEXT NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    event_time  INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    event_type  TEXT NOT NULL,
    actor       TEXT NOT NULL,
    message     TEXT NOT NULL,
    data        TEXT NOT NULL
);
CREATE INDEX timeline_events_incident ON timeline_events (incident_id, event_time, id);

CREATE TABLE related_items (
    id          TEXT PRIMARY KEY,
    incident_id TEXT NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    kind        TEXT NOT NULL,
    title       TEXT,
    value       TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    created_by  TEXT NOT NULL,
    UNIQUE (incident_id, kind, value)
);

CREATE TABLE stacks (
    name        TEXT PRIMARY KEY,
    format      TEXT NOT NULL,
    template    TEXT NOT NULL,
    parameters  TEXT NOT NULL,
    outputs     TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

CREATE TABLE stack_resources (
    stack         TEXT NOT NULL REFERENCES stacks (name) ON DELETE CASCADE,
    logical_id    TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    physical_id   TEXT NOT NULL,
    properties    TEXT NOT NULL,
    PRIMARY KEY (stack, logical_id)
);
