-- Topics and their subscriptions, chat channels, and the notifications sent through them.
CREATE TABLE topics (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    spec       TEXT NOT NULL,
    stack      TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE topic_subscriptions (
    id         TEXT PRIMARY KEY,
    topic_id   TEXT NOT NULL REFERENCES topics (id) ON DELETE CASCADE,
    protocol   TEXT NOT NULL,
    endpoint   TEXT NOT NULL,
    stack      TEXT,
    created_at BIGINT NOT NULL
);

CREATE TABLE chat_channels (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    spec       TEXT NOT NULL,
    stack      TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE notifications (
    id          TEXT PRIMARY KEY,
    incident_id TEXT,
    topic       TEXT,
    destination TEXT NOT NULL,
    target      TEXT NOT NULL,
    address     TEXT NOT NULL,
    subject     TEXT NOT NULL,
    body        TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('PENDING', 'SENT', 'DELIVERED', 'ERROR')),
    attempts    BIGINT NOT NULL,
    last_error  TEXT,
    created_at  BIGINT NOT NULL,
    sent_at     BIGINT
);
CREATE INDEX notifications_incident ON notifications (incident_id);
