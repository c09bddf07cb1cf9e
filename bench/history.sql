-- A deterministic case history for the read-path benchmarks (issue 12):
-- :cases cases reported evenly over the ten years before :'until' (a date,
-- China time), on the imported city, set-based (no row by row, no triggers).
-- The newest 1.5 % are still open (reported, filed, dispatched, handled or
-- suspended, with their open stage); of the rest 4 % were rejected, 1 % void
-- and 95 % closed after filing, dispatch, handling (about one in eight late)
-- and verification, with every stage and every event a real case has.
-- The same :cases and :'until' give the same history: every "random" choice is
-- a hash of the case's number.
-- Usage: psql -v cases=10000000 -v until=2026-12-01 -f bench/history.sql
\set ON_ERROR_STOP on
\timing on
SET session_replication_role = replica;  -- no triggers: no 58M NOTIFYs
SET maintenance_work_mem = '1GB';
SET work_mem = '256MB';
SET synchronous_commit = off;

-- h(i, salt): a number in [0, 1) fixed by (i, salt).
CREATE OR REPLACE FUNCTION pg_temp.h(i bigint, salt int) RETURNS float8
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT ((hashint8(i * 1009 + salt)::bigint & 2147483647)::float8 / 2147483648.0) $$;

-- The places, classes, departments and inspectors to choose from.
CREATE TEMP TABLE g AS
    SELECT (row_number() OVER (ORDER BY code)) - 1 AS n, code,
           ST_X(p) AS x, ST_Y(p) AS y
    FROM (SELECT code, ST_PointOnSurface(geom) AS p FROM grids) q;
CREATE TEMP TABLE k AS
    SELECT (row_number() OVER (ORDER BY kind, code)) - 1 AS n, kind, code FROM classes;
CREATE TEMP TABLE d AS
    SELECT (row_number() OVER (ORDER BY code)) - 1 AS n, code FROM departments;
INSERT INTO users (name, login, role)
    SELECT '巡查员 ' || n, 'bench-inspector-' || n, 'inspector' FROM generate_series(1, 300) n
    ON CONFLICT DO NOTHING;
CREATE TEMP TABLE u AS
    SELECT (row_number() OVER (ORDER BY id)) - 1 AS n, id FROM users WHERE login LIKE 'bench-inspector-%';

-- One row per case with every choice made, and each step's time.
CREATE UNLOGGED TABLE bench_cases AS
WITH p AS (
    SELECT (:'until'::date - interval '10 years')::timestamp AT TIME ZONE 'Asia/Shanghai' AS t0,
           (:'until'::date)::timestamp AT TIME ZONE 'Asia/Shanghai' AS t1,
           :cases::bigint AS total,
           (SELECT count(*) FROM g) AS gn, (SELECT count(*) FROM k) AS kn,
           (SELECT count(*) FROM d) AS dn, (SELECT count(*) FROM u) AS un
), s AS (
    SELECT i,
           p.t0 + (p.t1 - p.t0) * ((i - 1)::float8 / p.total) AS r,
           i > p.total - p.total * 15 / 1000 AS open,
           floor(pg_temp.h(i, 1) * p.gn)::int AS gi,
           floor(pg_temp.h(i, 2) * p.kn)::int AS ki,
           floor(pg_temp.h(i, 3) * p.dn)::int AS di,
           floor(pg_temp.h(i, 4) * p.un)::int AS ui,
           pg_temp.h(i, 5) AS fate,
           interval '1 hour' * (0.05 + pg_temp.h(i, 11) * 1.1) AS file_took,
           interval '1 hour' * (0.05 + pg_temp.h(i, 12) * 1.1) AS dispatch_took,
           interval '1 hour' * (2 + pg_temp.h(i, 13) * 80) AS handle_took,
           interval '1 hour' * (0.1 + pg_temp.h(i, 14) * 1.1) AS verify_took
    FROM p, generate_series(1, :cases::bigint) i
)
SELECT s.i AS id,
       to_char(s.r AT TIME ZONE 'Asia/Shanghai', 'YYYYMMDD') || '-' ||
           lpad((row_number() OVER (PARTITION BY (s.r AT TIME ZONE 'Asia/Shanghai')::date ORDER BY s.i))::text, 6, '0') AS case_no,
       CASE WHEN s.open THEN
                CASE WHEN s.fate < 0.15 THEN 'reported' WHEN s.fate < 0.30 THEN 'filed'
                     WHEN s.fate < 0.75 THEN 'dispatched' WHEN s.fate < 0.95 THEN 'handled'
                     ELSE 'suspended' END
            ELSE CASE WHEN s.fate < 0.04 THEN 'rejected' WHEN s.fate < 0.05 THEN 'void'
                      ELSE 'closed' END END AS state,
       k.kind, k.code AS class, pg_temp.h(s.i, 6) < 0.03 AS urgent,
       g.code AS grid, g.x + (pg_temp.h(s.i, 7) - 0.5) * 0.0004 AS lon,
       g.y + (pg_temp.h(s.i, 8) - 0.5) * 0.0003 AS lat,
       d.code AS department, u.id AS inspector, s.r,
       s.r + s.file_took AS t_file,
       s.r + s.file_took + s.dispatch_took AS t_dispatch,
       s.r + s.file_took + s.dispatch_took + s.handle_took AS t_handle,
       s.r + s.file_took + s.dispatch_took + s.handle_took + s.verify_took AS t_verify,
       s.r + s.file_took + s.dispatch_took + s.handle_took + s.verify_took
           + interval '3 minutes' AS t_close
FROM s JOIN g ON g.n = s.gi JOIN k ON k.n = s.ki JOIN d ON d.n = s.di JOIN u ON u.n = s.ui;

-- How far each case got: 0 reported, 1 filed, 2 dispatched, 3 handled,
-- 4 closed; rejected and void cases stopped after the report.
CREATE FUNCTION pg_temp.reached(state text) RETURNS int LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE state WHEN 'reported' THEN 0 WHEN 'filed' THEN 1 WHEN 'suspended' THEN 1
                      WHEN 'dispatched' THEN 2 WHEN 'handled' THEN 3 WHEN 'closed' THEN 4
                      ELSE 0 END $$;

INSERT INTO cases (id, case_no, state, kind, class, urgent, channel, description, geom,
                   grid, community, street, district, department, reported_by, reported_at,
                   updated_at, verified, suspended_from, suspended_at, version)
SELECT id, case_no, state, kind, class, urgent, 'inspector', '历史案件 history case',
       ST_SetSRID(ST_MakePoint(lon, lat), 4326), grid, left(grid, 12), left(grid, 9), left(grid, 6),
       CASE WHEN pg_temp.reached(state) >= 2 THEN department END, inspector, r,
       CASE pg_temp.reached(state) WHEN 0 THEN r WHEN 1 THEN t_file WHEN 2 THEN t_dispatch
            WHEN 3 THEN t_verify ELSE t_close END
           + CASE WHEN state IN ('rejected', 'void') THEN interval '30 minutes' ELSE interval '0' END,
       pg_temp.reached(state) >= 3 AND state = 'closed' OR (state = 'handled' AND id % 2 = 0),
       CASE WHEN state = 'suspended' THEN 'filed' END,
       CASE WHEN state = 'suspended' THEN t_file + interval '1 hour' END,
       1 + pg_temp.reached(state) + CASE WHEN state = 'closed' THEN 1 WHEN state IN ('rejected', 'void', 'suspended') THEN 1 ELSE 0 END
FROM bench_cases;
SELECT setval('cases_id_seq', (SELECT max(id) FROM cases));

INSERT INTO reports (case_id, reported_by, client_key, channel, description, geom, reported_at, duplicate)
SELECT id, inspector, 'history-' || id, 'inspector', '历史案件 history case',
       ST_SetSRID(ST_MakePoint(lon, lat), 4326), r, false
FROM bench_cases;

-- The stages: filing, dispatch, handling, verification as far as each case got.
INSERT INTO case_stages (case_id, stage, amount, unit, started_at, due_at, warn_at, done_at, overdue_at)
SELECT c.id, st.stage, st.amount, st.unit, st.started, st.due, st.started + (st.due - st.started) * 0.8,
       CASE WHEN pg_temp.reached(c.state) > st.n OR c.state IN ('rejected', 'void') THEN st.done END,
       CASE WHEN st.done > st.due AND (pg_temp.reached(c.state) > st.n
                                       OR :'until'::date::timestamptz > st.due) THEN st.due END
FROM bench_cases c
CROSS JOIN LATERAL (VALUES
    (0, 'filing', 1, 'working_hours', c.r, c.r + interval '1 hour', c.t_file),
    (1, 'dispatch', 1, 'working_hours', c.t_file, c.t_file + interval '1 hour', c.t_dispatch),
    (2, 'handling', 3, 'working_days', c.t_dispatch, c.t_dispatch + interval '72 hours', c.t_handle),
    (3, 'verification', 1, 'working_hours', c.t_handle, c.t_handle + interval '1 hour', c.t_verify)
) AS st (n, stage, amount, unit, started, due, done)
WHERE st.n <= pg_temp.reached(c.state) AND NOT (c.state IN ('rejected', 'void') AND st.n > 0)
  AND NOT (c.state = 'suspended' AND st.n > 1);

-- The events, in the order they happened.
INSERT INTO case_events (case_id, at, actor_id, actor_name, role, action, from_state, to_state, note, data)
SELECT c.id, e.at, e.actor, e.actor_name, e.role, e.action, e.from_state, e.to_state, '', e.data
FROM bench_cases c
CROSS JOIN LATERAL (VALUES
    (0, c.r, c.inspector, '巡查员', 'inspector', 'report', NULL, 'reported',
        jsonb_build_object('channel', 'inspector')),
    (1, c.t_file, NULL::bigint, '受理员', 'operator', 'file', 'reported', 'filed', '{}'::jsonb),
    (2, c.t_dispatch, NULL, '派遣员', 'dispatcher', 'dispatch', 'filed', 'dispatched',
        jsonb_build_object('department', c.department)),
    (3, c.t_handle, NULL, c.department, 'department', 'handle', 'dispatched', 'handled', '{}'),
    (4, c.t_verify, c.inspector, '巡查员', 'inspector', 'verify_pass', 'handled', 'handled', '{}'),
    (5, c.t_close, NULL, '受理员', 'operator', 'close', 'handled', 'closed', '{}')
) AS e (n, at, actor, actor_name, role, action, from_state, to_state, data)
WHERE e.n <= CASE c.state WHEN 'closed' THEN 5 WHEN 'handled' THEN 3 + (c.id % 2)::int
                          WHEN 'dispatched' THEN 2 WHEN 'filed' THEN 1 WHEN 'suspended' THEN 1
                          ELSE 0 END
UNION ALL
SELECT c.id, c.t_file, NULL, '受理员', 'operator',
       CASE c.state WHEN 'rejected' THEN 'reject' WHEN 'void' THEN 'void' ELSE 'suspend' END,
       CASE c.state WHEN 'suspended' THEN 'filed' ELSE 'reported' END, c.state, '', '{}'
FROM bench_cases c WHERE c.state IN ('rejected', 'void', 'suspended');

DROP TABLE bench_cases;
-- Each open case's running deadline, as intake and actions keep it (0020),
-- its light and the map squares (0021).
SELECT case_deadlines_rebuild();
SELECT case_lights_rebuild(:'until'::date::timestamptz);
VACUUM ANALYZE cases;
VACUUM ANALYZE reports;
VACUUM ANALYZE case_stages;
VACUUM ANALYZE case_events;
-- The evaluation facts and their daily sums, as the triggers keep them
-- (migrations 0016 and 0019), in one pass each.
SELECT case_facts_rebuild();
SELECT evaluation_days_rebuild();
RESET session_replication_role;
VACUUM ANALYZE case_facts;
VACUUM ANALYZE evaluation_days;
