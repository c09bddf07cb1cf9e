-- The evaluation indicators of closed cases, summed per day reported (UTC)
-- and group (issue 12): a year of a city's history is a few thousand rows
-- per grouping instead of a million cases. A closed case's facts are
-- settled, so its sums are too; the cases still open, rejected or void (a
-- few in a hundred) are summed from case_facts at each request, as are the
-- closed cases of a period's partial first and last day (src/http/stats.rs).
--
-- Kept by a trigger on case_facts, so in the same transaction as the change
-- to the case: a row's old sums are taken off and its new ones added
-- whenever a closed case's facts change.
CREATE TABLE evaluation_days (
    grouping text NOT NULL CHECK (grouping IN ('department', 'district', 'street', 'community', 'grid', 'inspector')),
    day date NOT NULL,
    -- the department, area or grid code, or the inspector's id; '' for none
    key text NOT NULL,
    cases bigint NOT NULL,
    reports bigint NOT NULL,
    filed bigint NOT NULL,
    dispatched bigint NOT NULL,
    handled bigint NOT NULL,
    handled_on_time bigint NOT NULL,
    overdue bigint NOT NULL,
    rework bigint NOT NULL,
    reworked bigint NOT NULL,
    -- each finished stage's hours: their sum and how many
    filing_h double precision NOT NULL,
    filing_n bigint NOT NULL,
    dispatch_h double precision NOT NULL,
    dispatch_n bigint NOT NULL,
    handling_h double precision NOT NULL,
    handling_n bigint NOT NULL,
    verification_h double precision NOT NULL,
    verification_n bigint NOT NULL,
    PRIMARY KEY (grouping, day, key)
);

-- One closed case's sums under each grouping, times `sign` (1 or -1).
CREATE FUNCTION evaluation_days_add(f case_facts, sign integer) RETURNS void LANGUAGE sql AS $$
    INSERT INTO evaluation_days AS d
    SELECT g.grouping, (f.reported_at AT TIME ZONE 'UTC')::date, g.key,
        sign, sign * f.reports, sign * f.was_filed::int, sign * f.was_dispatched::int,
        sign * f.was_handled::int, sign * f.handled_on_time::int, sign * f.was_overdue::int,
        sign * f.rework_count, sign * (f.rework_count > 0)::int,
        sign * coalesce(f.filing_h, 0), sign * (f.filing_h IS NOT NULL)::int,
        sign * coalesce(f.dispatch_h, 0), sign * (f.dispatch_h IS NOT NULL)::int,
        sign * coalesce(f.handling_h, 0), sign * (f.handling_h IS NOT NULL)::int,
        sign * coalesce(f.verification_h, 0), sign * (f.verification_h IS NOT NULL)::int
    FROM (VALUES ('department', coalesce(f.department, '')), ('district', f.district),
                 ('street', f.street), ('community', f.community), ('grid', f.grid),
                 ('inspector', coalesce(f.inspector::text, ''))) AS g (grouping, key)
    ON CONFLICT (grouping, day, key) DO UPDATE SET
        cases = d.cases + EXCLUDED.cases, reports = d.reports + EXCLUDED.reports,
        filed = d.filed + EXCLUDED.filed, dispatched = d.dispatched + EXCLUDED.dispatched,
        handled = d.handled + EXCLUDED.handled,
        handled_on_time = d.handled_on_time + EXCLUDED.handled_on_time,
        overdue = d.overdue + EXCLUDED.overdue, rework = d.rework + EXCLUDED.rework,
        reworked = d.reworked + EXCLUDED.reworked,
        filing_h = d.filing_h + EXCLUDED.filing_h, filing_n = d.filing_n + EXCLUDED.filing_n,
        dispatch_h = d.dispatch_h + EXCLUDED.dispatch_h, dispatch_n = d.dispatch_n + EXCLUDED.dispatch_n,
        handling_h = d.handling_h + EXCLUDED.handling_h, handling_n = d.handling_n + EXCLUDED.handling_n,
        verification_h = d.verification_h + EXCLUDED.verification_h,
        verification_n = d.verification_n + EXCLUDED.verification_n
$$;

CREATE FUNCTION evaluation_days_keep() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD IS NOT DISTINCT FROM NEW THEN
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.state = 'closed' THEN
        PERFORM evaluation_days_add(OLD, -1);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.state = 'closed' THEN
        PERFORM evaluation_days_add(NEW, 1);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER evaluation_days_keep AFTER INSERT OR UPDATE OR DELETE ON case_facts
    FOR EACH ROW EXECUTE FUNCTION evaluation_days_keep();

-- Every case's facts made again in one pass (after a bulk load that
-- bypassed the triggers: bench/history.sql).
CREATE FUNCTION case_facts_rebuild() RETURNS void LANGUAGE sql AS $$
    TRUNCATE case_facts;
    INSERT INTO case_facts (case_id, reported_at, state, department, district, street, community, grid, inspector, reports,
         rework_count, was_filed, was_dispatched, was_handled, handled_on_time, was_overdue,
         handling_due_at, filing_h, dispatch_h, handling_h, verification_h)
    SELECT case_id, reported_at, state, department, district, street, community, grid, inspector, reports,
         rework_count, was_filed, was_dispatched, was_handled, handled_on_time, was_overdue,
         handling_due_at, filing_h, dispatch_h, handling_h, verification_h
    FROM case_facts_now
$$;

-- The sums made again from case_facts in one pass (here, and after a bulk
-- load that bypassed the triggers: bench/history.sql).
CREATE FUNCTION evaluation_days_rebuild() RETURNS void LANGUAGE sql AS $$
    TRUNCATE evaluation_days;
    INSERT INTO evaluation_days
    SELECT g.grouping, (f.reported_at AT TIME ZONE 'UTC')::date, g.key,
        count(*), sum(f.reports), count(*) FILTER (WHERE f.was_filed),
        count(*) FILTER (WHERE f.was_dispatched), count(*) FILTER (WHERE f.was_handled),
        count(*) FILTER (WHERE f.handled_on_time), count(*) FILTER (WHERE f.was_overdue),
        sum(f.rework_count), count(*) FILTER (WHERE f.rework_count > 0),
        coalesce(sum(f.filing_h), 0), count(f.filing_h),
        coalesce(sum(f.dispatch_h), 0), count(f.dispatch_h),
        coalesce(sum(f.handling_h), 0), count(f.handling_h),
        coalesce(sum(f.verification_h), 0), count(f.verification_h)
    FROM case_facts f
    CROSS JOIN LATERAL (VALUES ('department', coalesce(f.department, '')), ('district', f.district),
                 ('street', f.street), ('community', f.community), ('grid', f.grid),
                 ('inspector', coalesce(f.inspector::text, ''))) AS g (grouping, key)
    WHERE f.state = 'closed'
    GROUP BY 1, 2, 3
$$;
SELECT evaluation_days_rebuild();

-- The cases summed at each request: those not closed, by the day reported.
CREATE INDEX case_facts_unsettled_idx ON case_facts (reported_at) WHERE state <> 'closed';

-- A transaction that appends several events to a case (a report filed and
-- dispatched at once) computes its facts once, at its last event.
CREATE OR REPLACE FUNCTION case_facts_refresh() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM case_events WHERE case_id = NEW.case_id AND id > NEW.id) THEN
        RETURN NULL;
    END IF;
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
         EXCLUDED.filing_h, EXCLUDED.dispatch_h, EXCLUDED.handling_h, EXCLUDED.verification_h)
    -- unchanged facts (a note on a closed case) write nothing
    WHERE case_facts IS DISTINCT FROM EXCLUDED;
    RETURN NULL;
END $$;
