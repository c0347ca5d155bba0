-- Metric data and metric alarms.
CREATE TABLE metric_data (
    namespace    TEXT NOT NULL,
    metric_name  TEXT NOT NULL,
    dimensions   TEXT NOT NULL,
    ts           INTEGER NOT NULL,
    value        REAL,
    sample_count REAL NOT NULL,
    sum          REAL NOT NULL,
    minimum      REAL NOT NULL,
    maximum      REAL NOT NULL,
    unit         TEXT
);
CREATE INDEX metric_data_series ON metric_data (namespace, metric_name, dimensions, ts);
CREATE INDEX metric_data_ts ON metric_data (ts);

CREATE TABLE alarms (
    id                TEXT PRIMARY KEY,
    name              TEXT NOT NULL UNIQUE,
    spec              TEXT NOT NULL,
    namespace         TEXT NOT NULL,
    metric_name       TEXT NOT NULL,
    dimensions        TEXT NOT NULL,
    state             TEXT NOT NULL,
    state_reason      TEXT NOT NULL,
    state_reason_data TEXT NOT NULL,
    state_updated_at  INTEGER NOT NULL,
    stack             TEXT,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
);
CREATE INDEX alarms_series ON alarms (namespace, metric_name, dimensions);

CREATE TABLE alarm_history (
    id        TEXT PRIMARY KEY,
    alarm_id  TEXT NOT NULL REFERENCES alarms (id) ON DELETE CASCADE,
    ts        INTEGER NOT NULL,
    kind      TEXT NOT NULL,
    summary   TEXT NOT NULL,
    data      TEXT NOT NULL
);
CREATE INDEX alarm_history_alarm ON alarm_history (alarm_id, ts);
