-- Every case summed per day, not only the closed ones (issue 12): the
-- cases still open, rejected or void were summed from their facts at each
-- request — a month of the 10M-case history is 83,000 open cases (0.24 s for
-- a month by department, 0.8 s for a year).
--
-- A case's change must not wait for another's, so it does not update the
-- sums: it adds a row to evaluation_changes (its old sums taken off, its new
-- ones put on), which the sweep folds into evaluation_days (as the map
-- squares are kept: 0021). A request adds the two.
--
-- Whether an open case is due depends on the clock: its handling deadline
-- passed. The sums count such a case in `due_pending`; a request takes off
-- those whose deadline is still ahead of its clock (a few days' cases,
-- found by case_facts_pending_idx), so the sums never go stale.
DROP TRIGGER evaluation_days_keep ON case_facts;
DROP FUNCTION evaluation_days_keep();
DROP FUNCTION evaluation_days_add(case_facts, integer);
DROP FUNCTION evaluation_days_rebuild();
DROP INDEX case_facts_unsettled_idx;

ALTER TABLE evaluation_days
    ADD COLUMN closed bigint NOT NULL DEFAULT 0,
    ADD COLUMN closed_on_time bigint NOT NULL DEFAULT 0,
    ADD COLUMN suspended bigint NOT NULL DEFAULT 0,
    -- filed and not suspended, and closed or overdue: due whatever the clock
    ADD COLUMN due bigint NOT NULL DEFAULT 0,
    -- filed, neither suspended nor closed nor overdue, with a handling
    -- deadline: due once the deadline has passed
    ADD COLUMN due_pending bigint NOT NULL DEFAULT 0;
COMMENT ON TABLE evaluation_days IS 'the evaluation sums of every case per UTC day reported and group (0019, 0023)';

-- The changes not yet folded into evaluation_days: one row per change of a
-- case's facts, its keys under every grouping.
CREATE TABLE evaluation_changes (
    day date NOT NULL,
    department text NOT NULL,
    district text NOT NULL,
    street text NOT NULL,
    community text NOT NULL,
    grid text NOT NULL,
    inspector text NOT NULL,
    cases bigint NOT NULL,
    reports bigint NOT NULL,
    filed bigint NOT NULL,
    dispatched bigint NOT NULL,
    handled bigint NOT NULL,
    handled_on_time bigint NOT NULL,
    overdue bigint NOT NULL,
    rework bigint NOT NULL,
    reworked bigint NOT NULL,
    filing_h double precision NOT NULL,
    filing_n bigint NOT NULL,
    dispatch_h double precision NOT NULL,
    dispatch_n bigint NOT NULL,
    handling_h double precision NOT NULL,
    handling_n bigint NOT NULL,
    verification_h double precision NOT NULL,
    verification_n bigint NOT NULL,
    closed bigint NOT NULL,
    closed_on_time bigint NOT NULL,
    suspended bigint NOT NULL,
    due bigint NOT NULL,
    due_pending bigint NOT NULL
);

-- The sums of facts `f`, each row times its `sign`, per day and keys.
CREATE FUNCTION evaluation_sums(f case_facts, sign integer)
RETURNS TABLE (day date, department text, district text, street text, community text, grid text,
               inspector text, cases bigint, reports bigint, filed bigint, dispatched bigint,
               handled bigint, handled_on_time bigint, overdue bigint, rework bigint, reworked bigint,
               filing_h double precision, filing_n bigint, dispatch_h double precision, dispatch_n bigint,
               handling_h double precision, handling_n bigint,
               verification_h double precision, verification_n bigint,
               closed bigint, closed_on_time bigint, suspended bigint, due bigint, due_pending bigint)
LANGUAGE sql IMMUTABLE AS $$
    SELECT (f.reported_at AT TIME ZONE 'UTC')::date, coalesce(f.department, ''), f.district, f.street,
        f.community, f.grid, coalesce(f.inspector::text, ''),
        sign, sign * f.reports, sign * f.was_filed::int, sign * f.was_dispatched::int,
        sign * f.was_handled::int, sign * f.handled_on_time::int, sign * f.was_overdue::int,
        sign * f.rework_count, sign * (f.rework_count > 0)::int,
        sign * coalesce(f.filing_h, 0), sign * (f.filing_h IS NOT NULL)::int,
        sign * coalesce(f.dispatch_h, 0), sign * (f.dispatch_h IS NOT NULL)::int,
        sign * coalesce(f.handling_h, 0), sign * (f.handling_h IS NOT NULL)::int,
        sign * coalesce(f.verification_h, 0), sign * (f.verification_h IS NOT NULL)::int,
        sign * (f.state = 'closed')::int, sign * (f.state = 'closed' AND f.handled_on_time)::int,
        sign * (f.state = 'suspended')::int,
        sign * (f.was_filed AND f.state <> 'suspended' AND (f.state = 'closed' OR f.was_overdue))::int,
        sign * (f.was_filed AND f.state NOT IN ('suspended', 'closed') AND NOT f.was_overdue
                AND f.handling_due_at IS NOT NULL)::int
    WHERE f.case_id IS NOT NULL
$$;

-- Facts whose handling deadline may still be ahead: the `due_pending` ones.
CREATE INDEX case_facts_pending_idx ON case_facts (handling_due_at)
    WHERE was_filed AND state NOT IN ('suspended', 'closed') AND NOT was_overdue;

CREATE FUNCTION evaluation_changes_keep() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Nothing the sums count changed (a closed case's handling deadline, say).
    IF TG_OP = 'UPDATE' AND (SELECT s FROM evaluation_sums(OLD, 1) s)
                            IS NOT DISTINCT FROM (SELECT s FROM evaluation_sums(NEW, 1) s) THEN
        RETURN NULL;
    END IF;
    -- One row when the keys stay (most changes): the difference.
    INSERT INTO evaluation_changes
    SELECT s.day, s.department, s.district, s.street, s.community, s.grid, s.inspector,
        sum(s.cases), sum(s.reports), sum(s.filed), sum(s.dispatched), sum(s.handled),
        sum(s.handled_on_time), sum(s.overdue), sum(s.rework), sum(s.reworked),
        sum(s.filing_h), sum(s.filing_n), sum(s.dispatch_h), sum(s.dispatch_n),
        sum(s.handling_h), sum(s.handling_n), sum(s.verification_h), sum(s.verification_n),
        sum(s.closed), sum(s.closed_on_time), sum(s.suspended), sum(s.due), sum(s.due_pending)
    -- (OLD is null on INSERT, NEW on DELETE: no sums)
    FROM (SELECT * FROM evaluation_sums(OLD, -1) UNION ALL SELECT * FROM evaluation_sums(NEW, 1)) s
    GROUP BY 1, 2, 3, 4, 5, 6, 7;
    RETURN NULL;
END $$;
CREATE TRIGGER evaluation_changes_keep AFTER INSERT OR UPDATE OR DELETE ON case_facts
    FOR EACH ROW EXECUTE FUNCTION evaluation_changes_keep();

-- Folds the changes added since into evaluation_days. Servers settle one at
-- a time; a change committed meanwhile stays for the next time.
CREATE FUNCTION evaluation_settle() RETURNS void LANGUAGE sql AS $$
    WITH gone AS (
        DELETE FROM evaluation_changes
        WHERE pg_try_advisory_xact_lock(hashtextextended('evaluation_settle', 0))
        RETURNING *
    )
    INSERT INTO evaluation_days AS d (grouping, day, key, cases, reports, filed, dispatched, handled,
        handled_on_time, overdue, rework, reworked, filing_h, filing_n, dispatch_h, dispatch_n,
        handling_h, handling_n, verification_h, verification_n, closed, closed_on_time, suspended,
        due, due_pending)
    SELECT g.grouping, c.day, g.key, sum(c.cases), sum(c.reports), sum(c.filed), sum(c.dispatched),
        sum(c.handled), sum(c.handled_on_time), sum(c.overdue), sum(c.rework), sum(c.reworked),
        sum(c.filing_h), sum(c.filing_n), sum(c.dispatch_h), sum(c.dispatch_n),
        sum(c.handling_h), sum(c.handling_n), sum(c.verification_h), sum(c.verification_n),
        sum(c.closed), sum(c.closed_on_time), sum(c.suspended), sum(c.due), sum(c.due_pending)
    FROM gone c
    CROSS JOIN LATERAL (VALUES ('department', c.department), ('district', c.district), ('street', c.street),
                               ('community', c.community), ('grid', c.grid), ('inspector', c.inspector)) AS g (grouping, key)
    GROUP BY 1, 2, 3
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
        verification_n = d.verification_n + EXCLUDED.verification_n,
        closed = d.closed + EXCLUDED.closed, closed_on_time = d.closed_on_time + EXCLUDED.closed_on_time,
        suspended = d.suspended + EXCLUDED.suspended, due = d.due + EXCLUDED.due,
        due_pending = d.due_pending + EXCLUDED.due_pending
$$;

-- The sums made again from case_facts in one pass (here, and after a bulk
-- load that bypassed the triggers: bench/history.sql). Changes to facts
-- wait meanwhile, so that none is both in the new sums and in a change row.
CREATE FUNCTION evaluation_days_rebuild() RETURNS void LANGUAGE sql AS $$
    LOCK TABLE case_facts IN SHARE ROW EXCLUSIVE MODE;
    -- No settling meanwhile (it would wait for the tables in the other order).
    SELECT pg_advisory_xact_lock(hashtextextended('evaluation_settle', 0));
    TRUNCATE evaluation_days, evaluation_changes;
    INSERT INTO evaluation_days (grouping, day, key, cases, reports, filed, dispatched, handled,
        handled_on_time, overdue, rework, reworked, filing_h, filing_n, dispatch_h, dispatch_n,
        handling_h, handling_n, verification_h, verification_n, closed, closed_on_time, suspended,
        due, due_pending)
    SELECT g.grouping, s.day, g.key, sum(s.cases), sum(s.reports), sum(s.filed), sum(s.dispatched),
        sum(s.handled), sum(s.handled_on_time), sum(s.overdue), sum(s.rework), sum(s.reworked),
        sum(s.filing_h), sum(s.filing_n), sum(s.dispatch_h), sum(s.dispatch_n),
        sum(s.handling_h), sum(s.handling_n), sum(s.verification_h), sum(s.verification_n),
        sum(s.closed), sum(s.closed_on_time), sum(s.suspended), sum(s.due), sum(s.due_pending)
    FROM case_facts f
    CROSS JOIN LATERAL evaluation_sums(f, 1) s
    CROSS JOIN LATERAL (VALUES ('department', s.department), ('district', s.district), ('street', s.street),
                               ('community', s.community), ('grid', s.grid), ('inspector', s.inspector)) AS g (grouping, key)
    GROUP BY 1, 2, 3
$$;
SELECT evaluation_days_rebuild();

-- A page of groups in key order (a year by grid is a million rows of sums):
-- its keys, each with its days.
CREATE INDEX evaluation_days_key_idx ON evaluation_days (grouping, key, day);
