-- Runbooks, their executions, and each run of a step.
CREATE TABLE runbooks (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    document   TEXT NOT NULL,
    stack      TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE runbook_executions (
    id          TEXT PRIMARY KEY,
    runbook     TEXT NOT NULL,
    document    TEXT NOT NULL,
    parameters  TEXT NOT NULL,
    status      TEXT NOT NULL,
    incident_id TEXT,
    outputs     TEXT NOT NULL,
    failure     TEXT,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    ended_at    BIGINT,
    created_by  TEXT NOT NULL
);
CREATE INDEX runbook_executions_incident ON runbook_executions (incident_id);

CREATE TABLE runbook_steps (
    execution_id TEXT NOT NULL REFERENCES runbook_executions (id) ON DELETE CASCADE,
    seq          BIGINT NOT NULL,
    name         TEXT NOT NULL,
    action       TEXT NOT NULL,
    status       TEXT NOT NULL,
    inputs       TEXT NOT NULL,
    outputs      TEXT NOT NULL,
    log          TEXT NOT NULL,
    failure      TEXT,
    attempts     BIGINT NOT NULL,
    approvals    TEXT NOT NULL,
    started_at   BIGINT NOT NULL,
    ended_at     BIGINT,
    PRIMARY KEY (execution_id, seq)
);
