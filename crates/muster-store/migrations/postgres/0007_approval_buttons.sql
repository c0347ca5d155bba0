-- The runbook execution a notification asks to approve, so chat messages can carry the buttons.
ALTER TABLE notifications ADD COLUMN approval TEXT;
