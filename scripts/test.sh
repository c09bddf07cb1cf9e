#!/usr/bin/env bash
# Runs every test against a real PostGIS: DATABASE_URL if set (a server where
# the user may create databases), else a private throw-away cluster.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
ensure_postgis
# curl drives the README scenario; node, npm and Debian's chromium the web map's browser tests.
ensure_commands curl:curl node:nodejs npm:npm chromium:chromium
build_web_map
# An independent Open311 client (PyPI) for the conformance test.
ensure_commands python3:python3
python3 -m pip --version >/dev/null 2>&1 || ensure_commands pip3:python3-pip
python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --upgrade --target target/pydeps georeport==0.3.1
if [ -z "${DATABASE_URL:-}" ]; then
    start_private_cluster test 54330 fast
fi
# Each test makes its own database from a template; clear what earlier runs left.
admin="${DATABASE_URL%/*}/postgres"
for db in $(psql "$admin" -tAc "SELECT datname FROM pg_database WHERE datname LIKE 'citygrid\_t\_%' OR datname LIKE 'citygrid\_tpl\_%'"); do
    psql "$admin" -qc "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)"
done
cargo test --locked --all-targets "$@"
