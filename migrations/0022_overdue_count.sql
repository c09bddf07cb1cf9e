-- The overdue filter as the planner can count it (issue 12). Written as "an
-- open state and a deadline passed", the planner took the two for
-- independent: it guessed 44 of a long history's 136,517 overdue cases, and
-- the list said "about 10,001". A case has a running deadline only while it
-- is open, as this constraint says, so "not suspended and a deadline passed"
-- says the same, and the planner reads it from the deadlines' statistics.
ALTER TABLE cases ADD CONSTRAINT cases_deadline_while_open
    CHECK (due_at IS NULL OR state IN ('reported', 'filed', 'dispatched', 'handled', 'suspended'));
DROP INDEX cases_running_due_idx;
CREATE INDEX cases_running_due_idx ON cases (due_at) INCLUDE (state, reported_at, id)
    WHERE due_at IS NOT NULL;
