-- Who changed what, when, from where: every change through the API, the CLI, the web UI or chat.
CREATE TABLE audit_log (
    id         TEXT PRIMARY KEY,
    at         INTEGER NOT NULL,
    actor      TEXT NOT NULL,
    method     TEXT NOT NULL,
    path       TEXT NOT NULL,
    status     INTEGER NOT NULL,
    remote     TEXT,
    client     TEXT,
    request_id TEXT
);
CREATE INDEX audit_log_at ON audit_log (at);
