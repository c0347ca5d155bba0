-- Jobs are claimed with the routing of new alerts last (a storm can queue thousands of them):
-- it never holds up a page, a notification, an escalation stage or a resolve that is due.
CREATE INDEX jobs_claim_order ON jobs ((CASE WHEN kind = 'route' THEN 1 ELSE 0 END), due_at, id);
