-- Where a provider put a notification (Slack's message ts), so later updates thread under it.
ALTER TABLE notifications ADD COLUMN reference TEXT;
