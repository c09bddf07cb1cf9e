-- Each case's running deadline on the case itself (issue 12): the map's
-- light and the overdue filter read one row per case instead of looking up
-- the stages of every open case (a city-wide tile of a long history read
-- 87,000 cases' stages one by one: 0.3–1.8 s below zoom 13).
--
-- A stage's warn_at is when its light turns yellow: 80 % of its limit used,
-- on the working calendar when the limit is in working time (computed with
-- the deadline: src/domain/calendar.rs). The stages running when this
-- migration runs are given 80 % of the wall-clock time to their deadline
-- instead, as the map drew them before.
ALTER TABLE case_stages ADD COLUMN warn_at timestamptz;
UPDATE case_stages SET warn_at = started_at + (due_at - started_at) * 0.8 WHERE done_at IS NULL;

-- A case's due_at and warn_at are its earliest-due running stage's; NULL
-- when no stage runs or the case left the loop. Kept by the statement that
-- changes the case (src/store/cases.rs), after its stages.
ALTER TABLE cases ADD COLUMN due_at timestamptz, ADD COLUMN warn_at timestamptz;

-- Sets every case's deadline from its stages (after a bulk load).
CREATE FUNCTION case_deadlines_rebuild() RETURNS void LANGUAGE sql AS $$
    UPDATE cases c SET due_at = s.due_at, warn_at = s.warn_at
    FROM (SELECT DISTINCT ON (s.case_id) s.case_id, s.due_at, s.warn_at
          FROM case_stages s WHERE s.done_at IS NULL
          ORDER BY s.case_id, s.due_at) s
    WHERE c.id = s.case_id AND c.state NOT IN ('closed', 'rejected', 'void')
      AND (c.due_at, c.warn_at) IS DISTINCT FROM (s.due_at, s.warn_at);
$$;
SELECT case_deadlines_rebuild();

-- The open cases for the map, from the index alone: where each is, its
-- light, its department and number. A city-wide tile reads these entries
-- and no table pages; a street-level one takes the spatial index instead.
CREATE INDEX cases_open_map_idx ON cases (department)
    INCLUDE (geom, state, due_at, warn_at, suspended_at, urgent, verified, case_no)
    WHERE state IN ('reported', 'filed', 'dispatched', 'handled', 'suspended');
-- The cases running late (the overdue filter and the queues' count), newest
-- first from the index alone.
CREATE INDEX cases_running_due_idx ON cases (due_at) INCLUDE (reported_at, id)
    WHERE state IN ('reported', 'filed', 'dispatched', 'handled');
-- The overdue filter read the running stages by deadline; the case's own
-- deadline serves it now.
DROP INDEX case_stages_running_due_idx;
