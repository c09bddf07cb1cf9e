#!/usr/bin/env bash
# Intake benchmark (issue 12): POST /api/v1/reports against the ceiling of the
# same cluster. On a durable private cluster (fsync and synchronous_commit on:
# acknowledged means durable) with the sample city:
#   1. the baseline — pgbench committing geocoded inserts (a point, the grid
#      that covers it found with PostGIS, one row inserted), 16 and 64 clients;
#   2. citygrid — wrk posting reports (each with its own client key, at a
#      random place in a random grid, of one of five classes: mostly new
#      cases, some duplicates as in life), 16 and 64 connections;
#   3. citygrid offered reports open-loop at fixed rates (OPEN_LOOP_RATES,
#      default 200, 400 and 1,000 a second; examples/open_loop.rs).
# Writes the figures and the command into bench/results/intake-<date>.txt.
# Usage: scripts/bench-intake.sh [SECONDS]   (default 20 per measurement)
#        BENCH_PROFILE=1 scripts/bench-intake.sh   (and where the database's time
#        goes at 16 connections: pg_stat_statements, statements in triggers included)
#        CITYGRID_BIN=path/to/citygrid scripts/bench-intake.sh   (another build, e.g. an
#        earlier commit's, for a before/after on the same machine)
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
SECONDS_EACH=${1:-20}
ensure_postgis
ensure_commands wrk:wrk pgbench:postgresql-client
BIN=${CITYGRID_BIN:-}
if [ -z "$BIN" ]; then
    cargo build --release --locked --quiet
    BIN=./target/release/citygrid
fi
start_private_cluster bench 54331
ADMIN="${DATABASE_URL%/*}/postgres"
# The cluster restarted with its settings as they are (its log where it was).
restart_cluster() {
    local data run=()
    data=$(psql "$ADMIN" -tAc "SHOW data_directory")
    [ "$(id -u)" = 0 ] && run=(runuser -u postgres --)
    "${run[@]}" "/usr/lib/postgresql/$(pg_major)/bin/pg_ctl" -D "$data" -l "$(dirname "$data")/postgres.log" \
        -w restart >/dev/null
}
# A profile loads pg_stat_statements for this run only.
psql "$ADMIN" -qc "ALTER SYSTEM RESET shared_preload_libraries" -qc "ALTER SYSTEM RESET pg_stat_statements.track" 2>/dev/null || true
if [ -n "${BENCH_PROFILE:-}" ]; then
    psql "$ADMIN" -qc "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'"
    restart_cluster
    psql "$ADMIN" -qc "ALTER SYSTEM SET pg_stat_statements.track = 'all'" -qc "SELECT pg_reload_conf()" >/dev/null
elif [ "$(psql "$ADMIN" -tAc "SHOW shared_preload_libraries")" != "" ]; then
    restart_cluster
fi
DB="${DATABASE_URL%/*}/intake_bench"
psql "$ADMIN" -qc "DROP DATABASE IF EXISTS intake_bench WITH (FORCE)" -qc "CREATE DATABASE intake_bench"
DATABASE_URL=$DB $BIN import gis-data >/dev/null
TOKEN=$(DATABASE_URL=$DB $BIN user add --name "bench inspector" --role inspector 2>/dev/null | tail -1)
OUT="bench/results/intake-$(date -u +%Y%m%d-%H%M).txt"
mkdir -p bench/results
work=$(mktemp -d)
SERVER=
trap 'kill $SERVER 2>/dev/null || true; rm -rf "$work"' EXIT

# The points: each grid's point on surface.
psql "$DB" -tAc "SELECT format('{%s,%s},', ST_X(p), ST_Y(p)) FROM (SELECT ST_PointOnSurface(geom) p FROM grids ORDER BY code) g" > "$work/points.lua"

# 1. The ceiling: pgbench, the same cluster and settings.
psql "$DB" -qc "CREATE TABLE bench_inserts (id bigserial PRIMARY KEY, grid text, at timestamptz, geom geometry(Point, 4326))"
read -r X0 Y0 X1 Y1 < <(psql "$DB" -tAc "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent(geom) e FROM grids) x" | tr '|' ' ')
cat > "$work/insert.sql" <<SQL
\set x random(0, 1000000)
\set y random(0, 1000000)
INSERT INTO bench_inserts (grid, at, geom)
SELECT (SELECT code FROM grids WHERE ST_Covers(geom, p) LIMIT 1), now(), p
FROM (SELECT ST_SetSRID(ST_MakePoint($X0 + ($X1 - $X0) * :x / 1000000.0, $Y0 + ($Y1 - $Y0) * :y / 1000000.0), 4326) AS p) q;
SQL
{
    echo "# intake benchmark, $(date -u +%FT%TZ), $(nproc) cores; scripts/bench-intake.sh $SECONDS_EACH; $BIN ($(git rev-parse --short HEAD))"
    echo "# cluster: fsync=$(psql "$DB" -tAc 'SHOW fsync'), synchronous_commit=$(psql "$DB" -tAc 'SHOW synchronous_commit')"
} | tee "$OUT"
for c in 16 64; do
    tps=$(pgbench -n -c $c -j 2 -T "$SECONDS_EACH" -f "$work/insert.sql" "$DB" 2>/dev/null | grep -oP 'tps = \K[0-9.]+' | head -1)
    echo "pgbench geocoded inserts, $c clients: $tps /s" | tee -a "$OUT"
done

# 2. citygrid.
DATABASE_URL=$DB $BIN serve --bind 127.0.0.1:8093 --max-connections 1024 > "$work/serve.log" 2>&1 &
SERVER=$!
for _ in $(seq 1 120); do curl -sf http://127.0.0.1:8093/ready >/dev/null && break; sleep 0.5; done
cat > "$work/report.lua" <<LUA
local points = { $(cat "$work/points.lua") }
local classes = { "0102", "0103", "0104", "0201", "0501" }
local threads = 0
setup = function(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
init = function()
  math.randomseed(os.time() * 100 + tid)
  run = tostring(os.time()) .. "-" .. tid
end
local n = 0
request = function()
  n = n + 1
  local p = points[math.random(#points)]
  -- Up to ~40 m from the grid's point: reports of one place are sometimes duplicates.
  local lon = p[1] + (math.random() - 0.5) * 0.0008
  local lat = p[2] + (math.random() - 0.5) * 0.0006
  local body = string.format('{"client_key":"wrk-%s-%d","kind":"event","class":"%s","lon":%.7f,"lat":%.7f,"description":"bench"}',
    run, n, classes[math.random(#classes)], lon, lat)
  return wrk.format("POST", "/api/v1/reports", { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer $TOKEN" }, body)
end
LUA
for c in 16 64; do
    if [ -n "${BENCH_PROFILE:-}" ] && [ $c = 16 ]; then
        psql "$DB" -qc "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" -qc "SELECT pg_stat_statements_reset()" >/dev/null
    fi
    wrk -t2 -c$c -d"${SECONDS_EACH}s" --latency -s "$work/report.lua" http://127.0.0.1:8093 > "$work/wrk.txt"
    rps=$(grep -oP 'Requests/sec:\s+\K[0-9.]+' "$work/wrk.txt")
    p50=$(grep -oP '^\s+50%\s+\K\S+' "$work/wrk.txt")
    p99=$(grep -oP '^\s+99%\s+\K\S+' "$work/wrk.txt")
    non2xx=$(grep -oP 'Non-2xx or 3xx responses: \K[0-9]+' "$work/wrk.txt" || echo 0)
    echo "citygrid POST /api/v1/reports, $c connections: $rps /s, p50 $p50, p99 $p99, non-2xx $non2xx" | tee -a "$OUT"
    if [ -n "${BENCH_PROFILE:-}" ] && [ $c = 16 ]; then
        echo "# the database's time at 16 connections, by statement (a trigger's statements also in its caller's):" | tee -a "$OUT"
        psql "$DB" -P pager=off -c "SELECT calls, round(total_exec_time) AS total_ms,
                round((total_exec_time / calls)::numeric, 3) AS ms_each,
                left(regexp_replace(query, '\s+', ' ', 'g'), 110) AS statement
            FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
            ORDER BY total_exec_time DESC LIMIT 25" | tee -a "$OUT"
    fi
done

# 3. Open loop: reports sent at fixed rates whatever the answers take
# (examples/open_loop.rs; wrk waits for each answer before its next request,
# so it never offers more than the server takes). Latency counts from each
# report's due time. A two-second run first opens the connections.
cargo build --release --locked --quiet --example open_loop
psql "$DB" -tAc "SELECT ST_X(p) || ' ' || ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) p FROM grids ORDER BY code) g" > "$work/points.txt"
./target/release/examples/open_loop http://127.0.0.1:8093 "$TOKEN" 100 2 "$work/points.txt" >/dev/null
for rate in ${OPEN_LOOP_RATES:-200 400 1000}; do
    echo "citygrid open loop: $(./target/release/examples/open_loop http://127.0.0.1:8093 "$TOKEN" "$rate" "$SECONDS_EACH" "$work/points.txt")" | tee -a "$OUT"
done
echo "cases: $(psql "$DB" -tAc 'SELECT count(*) FROM cases'), reports: $(psql "$DB" -tAc 'SELECT count(*) FROM reports')" | tee -a "$OUT"
echo "written to $OUT"
