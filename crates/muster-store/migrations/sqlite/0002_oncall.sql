-- Contacts, their channels, rotations and overrides.
CREATE TABLE contacts (
    id             TEXT PRIMARY KEY,
    alias          TEXT NOT NULL UNIQUE,
    spec           TEXT NOT NULL,
    stack          TEXT,
    calendar_token TEXT NOT NULL UNIQUE,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
);

CREATE TABLE contact_channels (
    id                    TEXT PRIMARY KEY,
    contact_id            TEXT NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    name                  TEXT NOT NULL,
    kind                  TEXT NOT NULL CHECK (kind IN ('EMAIL', 'SMS', 'VOICE', 'CHAT', 'WEBHOOK')),
    address               TEXT NOT NULL,
    activated_at          INTEGER,
    activation_code_hash  TEXT,
    activation_expires_at INTEGER,
    activation_attempts   INTEGER NOT NULL,
    stack                 TEXT,
    created_at            INTEGER NOT NULL,
    UNIQUE (contact_id, name)
);

CREATE TABLE rotations (
    id             TEXT PRIMARY KEY,
    name           TEXT NOT NULL UNIQUE,
    spec           TEXT NOT NULL,
    stack          TEXT,
    calendar_token TEXT NOT NULL UNIQUE,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
);

-- Members by contact, so a contact in a rotation cannot be deleted from under it.
CREATE TABLE rotation_members (
    rotation_id TEXT NOT NULL REFERENCES rotations (id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    contact_id  TEXT NOT NULL REFERENCES contacts (id),
    PRIMARY KEY (rotation_id, position)
);
CREATE INDEX rotation_members_contact ON rotation_members (contact_id);

CREATE TABLE rotation_overrides (
    id          TEXT PRIMARY KEY,
    rotation_id TEXT NOT NULL REFERENCES rotations (id) ON DELETE CASCADE,
    contacts    TEXT NOT NULL,
    start_at    INTEGER NOT NULL,
    end_at      INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    created_by  TEXT NOT NULL
);
CREATE INDEX rotation_overrides_window ON rotation_overrides (rotation_id, end_at);
