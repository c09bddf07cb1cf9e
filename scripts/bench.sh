#!/usr/bin/env bash
# The scale benchmark suite (issue 12): every staff read, the tiles, an export
# and the server's memory on a long case history, each against the same
# measurement on a 100,000-case history in the same run; then intake against
# the pgbench ceiling (scripts/bench-intake.sh).
#   1. Two databases on a private durable cluster (port 54332, settings for a
#      dedicated 24 GiB machine: shared_buffers 4 GB …) with the sample city
#      at scale BENCH_CITY_SCALE (default 20: 44,000 grids, 1.26M components)
#      and a deterministic history (bench/history.sql): CASES cases (default
#      10,000,000) and the 100,000-case baseline; made once and kept (.pg/history).
#   2. A server on each (clock fixed at the history's end); wrk (Debian)
#      asks each read from 4 connections for SECONDS: p50 and p99 on both
#      histories and their ratio.
#   3. Vector tiles of the city centre at every zoom 8–16: the largest and
#      slowest; every closed case exported as CSV: the server's peak memory; the
#      server's resident memory at the end.
# Writes the figures and the command into bench/results/reads-<date>.txt.
# Usage: scripts/bench.sh [CASES] [SECONDS]      (default 10000000 10)
#        BENCH_SKIP_INTAKE=1 scripts/bench.sh …   (the reads only)
#        BENCH_ONLY='evaluation|hotspots' scripts/bench.sh …   (the reads so named only)
#        CITYGRID_BIN=path/to/citygrid scripts/bench.sh …   (another build)
#        BENCH_MAKE_ONLY=1 scripts/bench.sh …   (make the histories, measure nothing)
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
CASES=${1:-10000000}
SECONDS_EACH=${2:-10}
BASE_CASES=100000
SCALE=${BENCH_CITY_SCALE:-20}
UNTIL=2026-12-01
NOW=2026-11-30T06:00:00Z   # the server's clock: a working morning at the history's end
ensure_postgis
ensure_commands wrk:wrk curl:curl
BIN=${CITYGRID_BIN:-}
if [ -z "$BIN" ]; then
    cargo build --release --locked --quiet
    BIN=./target/release/citygrid
fi

# A cluster of its own, set up as a dedicated database machine would be.
PORT=54332
if ! pg_isready -q -h 127.0.0.1 -p $PORT 2>/dev/null; then
    start_private_cluster history $PORT
    run=(); [ "$(id -u)" = 0 ] && run=(runuser -u postgres --)
    dir=$(psql "postgres://postgres@127.0.0.1:$PORT/postgres" -tAc "SHOW data_directory")
    "${run[@]}" "/usr/lib/postgresql/$(pg_major)/bin/pg_ctl" -D "$dir" -w restart -o \
        "-p $PORT -k $(dirname "$dir") -c listen_addresses=127.0.0.1 -c max_connections=200 \
         -c shared_buffers=4GB -c effective_cache_size=16GB -c work_mem=32MB \
         -c maintenance_work_mem=1GB -c random_page_cost=1.1 -c max_wal_size=8GB" >/dev/null
fi
SERVER_URL="postgres://postgres@127.0.0.1:$PORT"
ADMIN="$SERVER_URL/postgres"

# The histories, made once: a database is kept with the parameters it was made with.
history_db() {
    local n=$1 db="history_$1"
    local made
    made=$(psql "$SERVER_URL/$db" -tAc "SELECT obj_description('cases'::regclass)" 2>/dev/null || true)
    local want="history $n until $UNTIL city $SCALE $(sha1sum bench/history.sql | cut -c1-12)"
    if [ "$made" != "$want" ]; then
        echo "== making the $n-case history in $db (once)" >&2
        psql "$ADMIN" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" -qc "CREATE DATABASE $db"
        if [ "$SCALE" = 1 ]; then
            DATABASE_URL="$SERVER_URL/$db" $BIN import gis-data >/dev/null
        else
            [ -f "$CITY/grids.geojson" ] || $BIN sample-city --scale "$SCALE" --out "$CITY" >/dev/null
            DATABASE_URL="$SERVER_URL/$db" $BIN import "$CITY" >/dev/null
        fi
        local t0=$SECONDS
        psql "$SERVER_URL/$db" -q -v ON_ERROR_STOP=1 -v cases="$n" -v until=$UNTIL -f bench/history.sql >/dev/null
        echo "   made in $((SECONDS - t0)) s" >&2
        psql "$SERVER_URL/$db" -qc "COMMENT ON TABLE cases IS '$want'"
    fi
    echo "$db"
}
CITY="$ROOT/.pg/sample-city-$SCALE"
BASE_DB=$(history_db $BASE_CASES)
BIG_DB=$(history_db "$CASES")
[ -n "${BENCH_MAKE_ONLY:-}" ] && exit 0
# Migrations the build brings since the history was made; the open cases'
# lights as at the servers' clock.
for db in "$BASE_DB" "$BIG_DB"; do
    DATABASE_URL="$SERVER_URL/$db" $BIN user list >/dev/null
    psql "$SERVER_URL/$db" -qc "SELECT case_lights_rebuild('$NOW')" -qc "VACUUM ANALYZE cases" \
        -qc "VACUUM ANALYZE evaluation_days" >/dev/null
done

OUT="bench/results/reads-$(date -u +%Y%m%d-%H%M).txt"
mkdir -p bench/results
work=$(mktemp -d)
PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null || true; rm -rf "$work"' EXIT

serve() { # db port → pid
    DATABASE_URL="$SERVER_URL/$1" CITYGRID_FIXED_CLOCK=$NOW $BIN serve --bind "127.0.0.1:$2" \
        --media-dir "$work/media" >"$work/serve-$2.log" 2>&1 &
    echo $!
}
BASE_PID=$(serve "$BASE_DB" 8095); PIDS+=("$BASE_PID")
BIG_PID=$(serve "$BIG_DB" 8096); PIDS+=("$BIG_PID")
for p in 8095 8096; do
    for _ in $(seq 1 240); do curl -sf "http://127.0.0.1:$p/ready" >/dev/null && break; sleep 0.5; done
done
# The servers give the cases of a history made before migration 0024 their
# H3 cells (once); the measurements start when every case has its own.
for db in "$BASE_DB" "$BIG_DB"; do
    t0=$SECONDS
    until [ "$(psql "$SERVER_URL/$db" -tAc "SELECT NOT EXISTS (SELECT 1 FROM cases WHERE cell IS NULL)")" = t ]; do
        [ $((SECONDS - t0)) -lt 7200 ] || { echo "!! $db: cases still without a cell after 2 h" >&2; exit 1; }
        sleep 5
    done
    if [ $((SECONDS - t0)) -gt 5 ]; then
        echo "   $db: cells given in $((SECONDS - t0)) s" >&2
        psql "$SERVER_URL/$db" -qc "VACUUM ANALYZE cases"
    fi
done
# And settle the hotspots' sums (migration 0027) up to the clock's day.
for db in "$BASE_DB" "$BIG_DB"; do
    t0=$SECONDS
    until [ "$(psql "$SERVER_URL/$db" -tAc "SELECT coalesce(max(at) >= date_trunc('day', (timestamptz '$NOW' - interval '1 hour') AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', false) FROM hotspot_bounds")" = t ]; do
        [ $((SECONDS - t0)) -lt 1800 ] || { echo "!! $db: hotspot sums still unsettled after 30 min" >&2; exit 1; }
        sleep 2
    done
    [ $((SECONDS - t0)) -gt 2 ] && echo "   $db: hotspot sums settled in $((SECONDS - t0)) s" >&2
    psql "$SERVER_URL/$db" -qc "VACUUM ANALYZE hotspot_grids, hotspot_cells"
done
token() { DATABASE_URL="$SERVER_URL/$1" $BIN user add --name "bench dispatcher $$" --role dispatcher 2>/dev/null | tail -1; }
BASE_TOKEN=$(token "$BASE_DB")
BIG_TOKEN=$(token "$BIG_DB")

# Values to ask about, the same on both histories.
q() { psql "$SERVER_URL/$BIG_DB" -tAc "$1"; }
DEPT=$(q "SELECT department FROM cases WHERE department IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC LIMIT 1")
DISTRICT=$(q "SELECT district FROM cases GROUP BY 1 ORDER BY count(*) DESC LIMIT 1")
GRID=$(q "SELECT grid FROM cases GROUP BY 1 ORDER BY count(*) DESC LIMIT 1")
MONTH="from=2026-11-01T00:00:00%2B08:00&to=2026-12-01T00:00:00%2B08:00"
YEAR="from=2025-12-01T00:00:00%2B08:00&to=2026-12-01T00:00:00%2B08:00"
OPEN="state=reported,filed,dispatched,handled,suspended"

{
    echo "# read benchmarks, $(date -u +%FT%TZ), $(nproc) cores, $(free -g | awk '/Mem/ {print $2}') GiB; scripts/bench.sh $CASES $SECONDS_EACH; $(git rev-parse --short HEAD)"
    echo "# $CASES-case history against $BASE_CASES; wrk, 4 connections, ${SECONDS_EACH}s each; clock $NOW"
    printf '%-44s %12s %12s %12s %12s %7s\n' read "p50 base" "p99 base" "p50 big" "p99 big" "ratio"
} | tee "$OUT"

# One read: a path, or several (a random one each request, from a file).
measure() { # name path-or-@file
    local name=$1 what=$2 base big
    [[ -z ${BENCH_ONLY:-} || $name =~ $BENCH_ONLY ]] || return 0
    for side in base big; do
        local port=8095 tok=$BASE_TOKEN db=$BASE_DB
        [ $side = big ] && port=8096 tok=$BIG_TOKEN db=$BIG_DB
        if [[ $what == @* ]]; then
            local list=${what#@}; list=${list//\{db\}/$db}
            cat > "$work/paths.lua" <<LUA
local paths = {}
for line in io.lines("$list") do paths[#paths + 1] = line end
wrk.headers["Authorization"] = "Bearer $tok"
request = function() return wrk.format("GET", paths[math.random(#paths)]) end
LUA
        else
            cat > "$work/paths.lua" <<LUA
wrk.headers["Authorization"] = "Bearer $tok"
request = function() return wrk.format("GET", "$what") end
LUA
        fi
        wrk -t2 -c4 -d"${SECONDS_EACH}s" --timeout 30s --latency -s "$work/paths.lua" "http://127.0.0.1:$port" > "$work/wrk.txt"
        if grep -q 'Non-2xx' "$work/wrk.txt"; then
            echo "!! $name ($side): $(grep 'Non-2xx' "$work/wrk.txt")" | tee -a "$OUT"
        fi
        local p50 p99
        p50=$(grep -oP '^\s+50%\s+\K\S+' "$work/wrk.txt")
        p99=$(grep -oP '^\s+99%\s+\K\S+' "$work/wrk.txt")
        eval "${side}_p50=\$p50; ${side}_p99=\$p99"
    done
    printf '%-44s %12s %12s %12s %12s %7s\n' "$name" "$base_p50" "$base_p99" "$big_p50" "$big_p99" \
        "$(ms "$big_p99" "$base_p99")" | tee -a "$OUT"
}
# big ÷ base of two wrk latencies (us, ms, s).
ms() { python3 -c "
import re,sys
def v(s):
    n,u=re.match(r'([0-9.]+)(\w+)',s).groups(); return float(n)*{'us':0.001,'ms':1,'s':1000,'m':60000}[u]
print(f'{v(sys.argv[1])/v(sys.argv[2]):.2f}')" "$1" "$2"; }

# Cases to look at: a thousand spread over each history.
for db in "$BASE_DB" "$BIG_DB"; do
    psql "$SERVER_URL/$db" -tAc "SELECT '/api/v1/cases/' || case_no FROM cases
        WHERE id % (SELECT greatest(max(id) / 1000, 1) FROM cases) = 0" > "$work/case-$db.txt"
    sed 's|/api/v1/cases/\(.*\)|/open311/v2/requests/\1.json|' "$work/case-$db.txt" > "$work/open311-$db.txt"
done

measure "case list, open, first page" "/api/v1/cases?$OPEN&page_size=100"
measure "case list, open, 100th page" "/api/v1/cases?$OPEN&page_size=100&page=100"
measure "case list, all, first page" "/api/v1/cases?page_size=100"
measure "case list, all, 100th page" "/api/v1/cases?page_size=100&page=100"
measure "case list, department, first page" "/api/v1/cases?department=$DEPT&page_size=100"
measure "case list, department, 100th page" "/api/v1/cases?department=$DEPT&page_size=100&page=100"
measure "case list, district closed, 100th page" "/api/v1/cases?district=$DISTRICT&state=closed&page_size=100&page=100"
measure "case list, grid, first page" "/api/v1/cases?grid=$GRID&page_size=100"
measure "case list, overdue, first page" "/api/v1/cases?overdue=true&page_size=100"
measure "a case with its timeline" "@$work/case-{db}.txt"
measure "evaluation by department, a month" "/api/v1/stats/evaluation?by=department&$MONTH"
measure "evaluation by grid, a month" "/api/v1/stats/evaluation?by=grid&$MONTH"
measure "evaluation by inspector, a month" "/api/v1/stats/evaluation?by=inspector&$MONTH"
measure "evaluation by department, a year" "/api/v1/stats/evaluation?by=department&$YEAR"
measure "evaluation by district, a year" "/api/v1/stats/evaluation?by=district&$YEAR"
measure "evaluation by grid, a year" "/api/v1/stats/evaluation?by=grid&$YEAR"
measure "hotspots, a year" "/api/v1/stats/hotspots?$YEAR"
measure "Open311 requests.json" "/open311/v2/requests.json"
measure "Open311 one request" "@$work/open311-{db}.txt"

if [ -n "${BENCH_ONLY:-}" ]; then echo "written to $OUT"; exit 0; fi

# Tiles: the city centre at every zoom, the largest and the slowest of ten asks.
read -r CX CY < <(q "SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_Centroid(ST_Extent(geom)) c FROM grids) x" | tr '|' ' ')
echo "tiles at the city centre ($CX, $CY), the $CASES-case history: layer z size time(max of 10)" | tee -a "$OUT"
for z in 8 9 10 11 12 13 14 15 16; do
    read -r x y < <(python3 -c "
import math
z,lon,lat=$z,$CX,$CY
n=2**z; x=int((lon+180)/360*n); r=math.radians(lat)
print(x, int((1-math.log(math.tan(r)+1/math.cos(r))/math.pi)/2*n))")
    for layer in cases grids; do
        size=0 worst=0
        for _ in $(seq 1 10); do
            read -r s t < <(curl -s -o /dev/null -w '%{size_download} %{time_total}\n' \
                -H "Authorization: Bearer $BIG_TOKEN" "http://127.0.0.1:8096/tiles/$layer/$z/$x/$y.mvt")
            size=$s
            worst=$(python3 -c "print(max($worst, $t))")
        done
        printf 'tile %-6s z%-2s %8s bytes %7.1f ms\n' "$layer" "$z" "$size" "$(python3 -c "print($worst*1000)")" | tee -a "$OUT"
    done
done

# Every closed case exported, streamed: the server's peak memory meanwhile.
rss() { awk '/VmRSS/ {print int($2/1024)}' "/proc/$1/status"; }
before=$(rss "$BIG_PID")
peak=$before
curl -s -o "$work/year.csv" -H "Authorization: Bearer $BIG_TOKEN" "http://127.0.0.1:8096/api/v1/cases.csv?state=closed" &
CURL=$!
while kill -0 $CURL 2>/dev/null; do
    now=$(rss "$BIG_PID"); [ "$now" -gt "$peak" ] && peak=$now
    sleep 0.1
done
echo "export every closed case as CSV: $(($(wc -l < "$work/year.csv") - 1)) rows, $(du -m "$work/year.csv" | cut -f1) MB; server RSS $before MiB before, $peak MiB at most" | tee -a "$OUT"
echo "server resident memory at the end (scale-$SCALE city, $CASES cases): $(rss "$BIG_PID") MiB now, $(awk '/VmHWM/ {print int($2/1024)}' "/proc/$BIG_PID/status") MiB at most" | tee -a "$OUT"
echo "written to $OUT"

if [ -z "${BENCH_SKIP_INTAKE:-}" ]; then
    CITYGRID_BIN=$BIN scripts/bench-intake.sh
fi
