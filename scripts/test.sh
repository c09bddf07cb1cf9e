#!/usr/bin/env bash
# Runs every test against a real PostGIS: DATABASE_URL if set (a server where
# the user may create databases), else a private throw-away cluster.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
ensure_postgis
# curl drives the README scenario; node, npm and Debian's chromium the web map's browser tests.
ensure_commands curl:curl node:nodejs npm:npm chromium:chromium
# Chinese fonts, so that the browser tests' screenshots show the pages and the
# map's labels as people read them.
ensure_packages fonts-noto-cjk
build_web_map
# An independent Open311 client (PyPI) for the conformance test.
ensure_commands python3:python3
python3 -m pip --version >/dev/null 2>&1 || ensure_commands pip3:python3-pip
python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --upgrade --target target/pydeps georeport==0.3.1
# Schemathesis checks every answer against the served OpenAPI document (tests/it/openapi.rs).
[ -x target/schemathesis/bin/st ] && grep -q '^Version: 4.32.5$' target/schemathesis/schemathesis-4.32.5.dist-info/METADATA 2>/dev/null ||
    python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --upgrade --target target/schemathesis schemathesis==4.32.5
if [ -z "${DATABASE_URL:-}" ]; then
    start_private_cluster test 54330 fast
fi
# The fault tests stop and start a cluster of their own with these binaries.
export CITYGRID_PG_BIN="/usr/lib/postgresql/$(pg_major)/bin"
# Each test makes its own database from a template; clear what earlier runs left.
admin="${DATABASE_URL%/*}/postgres"
for db in $(psql "$admin" -tAc "SELECT datname FROM pg_database WHERE datname LIKE 'citygrid\_t\_%' OR datname LIKE 'citygrid\_tpl\_%'"); do
    psql "$admin" -qc "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)"
done
# Every test runs on a fixed clock (tests/it/support.rs: a Wednesday, 10:00 China
# time). The suite must give the same answer whenever CI runs it: run the
# server tests again at 22:00 and on a Sunday at 10:00 and 22:00.
cargo test --locked --all-targets "$@"
if [ $# -eq 0 ]; then
    echo "== the fuzz targets, longer: 100,000 inputs each"
    CITYGRID_FUZZ_CASES=100000 cargo test --locked --test fuzz
    for now in 2026-11-25T22:00:00+08:00 2026-11-29T10:00:00+08:00 2026-11-29T22:00:00+08:00; do
        echo "== the server tests with the clock at $now"
        # (The browser, Schemathesis and fault tests do not depend on the hour.)
        CITYGRID_TEST_NOW=$now cargo test --locked --test it -- --skip browser --skip openapi:: --skip faults::
    done
fi
