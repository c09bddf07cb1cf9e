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
# The sample city on the first run; later runs keep the city as it is (its
# configuration may have been edited on the admin page since).
./target/release/citygrid import --if-empty gis-data
# The first run: an administrator to sign in with, its password shown once.
if ! ./target/release/citygrid user list | awk '$2 == "admin" && $4 == "enabled" && $5 == "yes"' | grep -q .; then
    password=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
    echo "$password" | ./target/release/citygrid user add --login admin --name "管理员 Administrator" --role admin --password-stdin
    echo "== the first administrator: sign in as admin with the one-time password $password"
    echo "== (change it: ./target/release/citygrid user set-password admin, with the same DATABASE_URL)"
fi
exec ./target/release/citygrid serve --bind "${CITYGRID_BIND:-127.0.0.1:8080}"
