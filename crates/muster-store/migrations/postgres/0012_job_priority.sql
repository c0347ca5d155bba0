-- Jobs are claimed deliveries first: routing what senders posted (a storm can queue thousands)
-- never holds up a page, a notification or an escalation that is due.
CREATE INDEX jobs_claim_order ON jobs ((CASE WHEN kind = 'route' THEN 1 ELSE 0 END), due_at, id);
