#!/usr/bin/env bash
# Sets up and runs citygrid on the sample city at http://127.0.0.1:8080
# (CITYGRID_BIND to change). Uses DATABASE_URL if set, else a private cluster.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
ensure_postgis
if [ -z "${DATABASE_URL:-}" ]; then
    start_private_cluster dev 54329
fi
ensure_commands node:nodejs npm:npm
build_web_map
cargo build --release --locked
./target/release/citygrid import gis-data
exec ./target/release/citygrid serve --bind "${CITYGRID_BIND:-127.0.0.1:8080}"
