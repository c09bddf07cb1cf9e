-- Each case's evaluation facts (README "Evaluation"): one row per case, so
-- the indicators of a period sum rows of one table instead of looking into
-- every case's reports, events and stages (4.7 s for six months of a
-- million cases before; issue 12).
--
-- Every change to a case appends to its audit trail, so the trail keeps the
-- facts: at commit, the case's row is computed again in the same
-- transaction (a deferred trigger, after the transaction's last statement).
CREATE TABLE case_facts (
    case_id bigint PRIMARY KEY REFERENCES cases (id),
    reported_at timestamptz NOT NULL,
    state text NOT NULL,
    department text,
    district text NOT NULL,
    street text NOT NULL,
    community text NOT NULL,
    grid text NOT NULL,
    -- the inspector who reported it first, if an inspector did (the user's
    -- role as it was at the case's last change)
    inspector bigint,
    reports integer NOT NULL,
    rework_count integer NOT NULL,
    was_filed boolean NOT NULL,
    was_dispatched boolean NOT NULL,
    was_handled boolean NOT NULL,
    handled_on_time boolean NOT NULL,
    was_overdue boolean NOT NULL,
    handling_due_at timestamptz,
    -- wall-clock hours of each finished stage
    filing_h double precision,
    dispatch_h double precision,
    handling_h double precision,
    verification_h double precision
);
CREATE INDEX case_facts_reported_idx ON case_facts (reported_at);

-- The facts as they are now, computed from the case's rows.
CREATE VIEW case_facts_now AS
SELECT c.id AS case_id, c.reported_at, c.state, c.department, c.district, c.street, c.community, c.grid,
    (SELECT r.reported_by FROM reports r JOIN users u ON u.id = r.reported_by
     WHERE r.case_id = c.id AND NOT r.duplicate AND u.role = 'inspector'
     ORDER BY r.id LIMIT 1) AS inspector,
    (SELECT count(*) FROM reports r WHERE r.case_id = c.id)::integer AS reports,
    c.rework_count,
    coalesce(e.was_filed, false) AS was_filed,
    coalesce(e.was_dispatched, false) AS was_dispatched,
    coalesce(e.was_handled, false) AS was_handled,
    coalesce(s.handled_on_time, false) AS handled_on_time,
    coalesce(e.overdue_event, false) OR coalesce(s.finished_late, false) AS was_overdue,
    s.handling_due_at, s.filing_h, s.dispatch_h, s.handling_h, s.verification_h
FROM cases c
LEFT JOIN LATERAL (
    SELECT bool_or(action = 'file') AS was_filed,
           bool_or(action = 'dispatch') AS was_dispatched,
           bool_or(action = 'handle') AS was_handled,
           bool_or(action = 'overdue') AS overdue_event
    FROM case_events WHERE case_id = c.id
) e ON true
LEFT JOIN LATERAL (
    SELECT bool_or(stage = 'handling' AND done_at <= due_at) AS handled_on_time,
           bool_or(done_at > due_at) AS finished_late,
           max(due_at) FILTER (WHERE stage = 'handling') AS handling_due_at,
           max(extract(epoch FROM done_at - started_at) / 3600) FILTER (WHERE stage = 'filing') AS filing_h,
           max(extract(epoch FROM done_at - started_at) / 3600) FILTER (WHERE stage = 'dispatch') AS dispatch_h,
           max(extract(epoch FROM done_at - started_at) / 3600) FILTER (WHERE stage = 'handling') AS handling_h,
           max(extract(epoch FROM done_at - started_at) / 3600) FILTER (WHERE stage = 'verification') AS verification_h
    FROM case_stages WHERE case_id = c.id
) s ON true;

CREATE FUNCTION case_facts_refresh() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO case_facts (case_id, reported_at, state, department, district, street, community, grid, inspector, reports,
         rework_count, was_filed, was_dispatched, was_handled, handled_on_time, was_overdue,
         handling_due_at, filing_h, dispatch_h, handling_h, verification_h)
    SELECT case_id, reported_at, state, department, district, street, community, grid, inspector, reports,
         rework_count, was_filed, was_dispatched, was_handled, handled_on_time, was_overdue,
         handling_due_at, filing_h, dispatch_h, handling_h, verification_h
    FROM case_facts_now WHERE case_id = NEW.case_id
    ON CONFLICT (case_id) DO UPDATE SET
        (reported_at, state, department, district, street, community, grid, inspector, reports,
         rework_count, was_filed, was_dispatched, was_handled, handled_on_time, was_overdue,
         handling_due_at, filing_h, dispatch_h, handling_h, verification_h)
      = (EXCLUDED.reported_at, EXCLUDED.state, EXCLUDED.department, EXCLUDED.district,
         EXCLUDED.street, EXCLUDED.community, EXCLUDED.grid, EXCLUDED.inspector, EXCLUDED.reports,
         EXCLUDED.rework_count, EXCLUDED.was_filed, EXCLUDED.was_dispatched, EXCLUDED.was_handled,
         EXCLUDED.handled_on_time, EXCLUDED.was_overdue, EXCLUDED.handling_due_at,
         EXCLUDED.filing_h, EXCLUDED.dispatch_h, EXCLUDED.handling_h, EXCLUDED.verification_h);
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER case_facts_refresh AFTER INSERT ON case_events
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION case_facts_refresh();

-- The cases already there.
INSERT INTO case_facts (case_id, reported_at, state, department, district, street, community, grid, inspector, reports,
     rework_count, was_filed, was_dispatched, was_handled, handled_on_time, was_overdue,
     handling_due_at, filing_h, dispatch_h, handling_h, verification_h)
SELECT case_id, reported_at, state, department, district, street, community, grid, inspector, reports,
     rework_count, was_filed, was_dispatched, was_handled, handled_on_time, was_overdue,
     handling_due_at, filing_h, dispatch_h, handling_h, verification_h
FROM case_facts_now;
