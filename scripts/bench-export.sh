#!/usr/bin/env bash
# Export benchmark: 1,000,000 synthetic cases added to a copy of a city
# database; the server's peak RSS and the time to stream 10,000 vs 1,000,000
# cases as CSV and GeoJSON (the ratio is what matters: constant memory).
# Usage: scripts/bench-export.sh SERVER_URL TEMPLATE_DB (e.g. the dev cluster
# postgres://postgres@127.0.0.1:54329 and a database with an imported city).
set -euo pipefail
cd "$(dirname "$0")/.."
U="${1:?server URL, e.g. postgres://postgres@127.0.0.1:54329}"
TEMPLATE="${2:?a database holding an imported city}"
psql $U/postgres -qc "DROP DATABASE IF EXISTS export1m WITH (FORCE)" -qc "CREATE DATABASE export1m TEMPLATE $TEMPLATE"
DB=$U/export1m
cargo build --release --locked --quiet
DATABASE_URL=$DB ./target/release/citygrid serve --bind 127.0.0.1:8092 > /tmp/serve1m.log 2>&1 &
PID=$!
for i in $(seq 1 120); do curl -sf http://127.0.0.1:8092/ready >/dev/null && break; sleep 1; done
T=$(DATABASE_URL=$DB ./target/release/citygrid user add --name bench --role admin 2>/dev/null)
time psql $DB -qc "INSERT INTO cases (case_no, state, kind, class, urgent, channel, description, geom, grid, community, street, district, department, reported_at, updated_at)
  SELECT '20261101-' || lpad(i::text, 7, '0'), CASE WHEN i % 100 = 0 THEN 'reported' ELSE 'filed' END, 'event', '0102', false, 'inspector', '批量 bulk ' || i,
         ST_SetSRID(ST_MakePoint(107.1 + (i % 1000) * 0.0001, 34.3 + (i / 1000) * 0.0001), 4326),
         '610302001001001', '610302001001', '610302001', '610302', 'sanitation-wb', timestamptz '2026-11-01' + (i || ' seconds')::interval, now()
  FROM generate_series(1, 1000000) i"
rss() { grep VmHWM /proc/$PID/status | awk '{print $2}'; }
echo "after start: peak RSS $(rss) kB"
/usr/bin/time -f "10k (state=reported): %e s" curl -s -o /tmp/small.csv -H "Authorization: Bearer $T" "http://127.0.0.1:8092/api/v1/cases.csv?state=reported"
echo "rows: $(($(wc -l < /tmp/small.csv) - 1)); peak RSS $(rss) kB"
/usr/bin/time -f "1M csv: %e s" curl -s -o /tmp/big.csv -H "Authorization: Bearer $T" "http://127.0.0.1:8092/api/v1/cases.csv"
echo "rows: $(($(wc -l < /tmp/big.csv) - 1)) ($(du -m /tmp/big.csv | cut -f1) MB); peak RSS $(rss) kB"
/usr/bin/time -f "1M geojson: %e s" curl -s -o /tmp/big.geojson -H "Authorization: Bearer $T" "http://127.0.0.1:8092/api/v1/cases.geojson"
echo "$(du -m /tmp/big.geojson | cut -f1) MB; peak RSS $(rss) kB"
kill $PID
