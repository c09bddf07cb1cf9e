# Shared by run.sh and test.sh: PostGIS from Debian packages, and a private
# PostgreSQL cluster under .pg/ when DATABASE_URL is not set.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

pg_major() {
    local v
    if command -v pg_config >/dev/null 2>&1; then
        v=$(pg_config --version)
    elif command -v postgres >/dev/null 2>&1; then
        v=$(postgres --version)
    else
        v=$(ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -1)
    fi
    echo "$v" | grep -oE '[0-9]+' | head -1
}

# Installs the Debian package of each missing command, given as COMMAND:PACKAGE.
ensure_commands() {
    local missing=() pair
    for pair in "$@"; do
        command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
    done
    install_packages "${missing[@]}"
}

# Installs each Debian package not installed yet.
ensure_packages() {
    local missing=() pkg
    for pkg in "$@"; do
        dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
    done
    install_packages "${missing[@]}"
}

install_packages() {
    [ $# -eq 0 ] && return
    echo "== installing $* from Debian packages"
    as_root apt-get update -q
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -q "$@"
}

# The web map's static assets (MapLibre from the npm registry) into web-map/dist,
# with the labels' Latin glyphs made from Debian's DejaVu Sans.
build_web_map() {
    ensure_packages fonts-dejavu-core
    (cd "$ROOT/web-map" && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build)
}

# Installs PostgreSQL (if absent) and PostGIS from Debian's packages.
ensure_postgis() {
    local major
    major=$(pg_major || true)
    local want="postgresql-${major:-15}-postgis-3"
    if [ -n "$major" ] && dpkg -s "$want" >/dev/null 2>&1; then
        return
    fi
    echo "== installing $want (PostGIS) from Debian packages"
    as_root apt-get update -q
    if [ -z "$major" ]; then
        DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -q postgresql
        major=$(pg_major)
        want="postgresql-${major}-postgis-3"
    fi
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -q "$want"
}

# start_private_cluster NAME PORT [fast]: a cluster in .pg/NAME listening on
# 127.0.0.1:PORT, started if not running; exports DATABASE_URL to database citygrid.
# "fast" turns fsync off: for throw-away test data only.
start_private_cluster() {
    local name=$1 port=$2 mode=${3:-}
    local bin="/usr/lib/postgresql/$(pg_major)/bin"
    local dir="$ROOT/.pg/$name"
    local run=()
    mkdir -p "$dir"
    if [ "$(id -u)" = 0 ]; then
        # PostgreSQL refuses to run as root: the cluster belongs to the postgres user.
        id postgres >/dev/null 2>&1 || as_root useradd --system --home-dir /var/lib/postgresql postgres
        if ! runuser -u postgres -- test -w "$ROOT/.pg" 2>/dev/null; then
            chown postgres "$ROOT/.pg" "$dir"
        fi
        if ! runuser -u postgres -- test -x "$dir"; then
            dir="/var/tmp/citygrid-pg-$name-$(echo "$ROOT" | md5sum | cut -c1-8)"
            mkdir -p "$dir" && chown postgres "$dir"
        fi
        chown postgres "$dir"
        run=(runuser -u postgres --)
    fi
    if [ ! -f "$dir/data/PG_VERSION" ]; then
        echo "== creating a private PostgreSQL cluster in $dir"
        "${run[@]}" "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --no-locale >"$dir/initdb.log"
    fi
    local opts="-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=200"
    if [ "$mode" = fast ]; then
        opts="$opts -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    fi
    if ! "${run[@]}" "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
        echo "== starting PostgreSQL on 127.0.0.1:$port"
        "${run[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -o "$opts" -w start >/dev/null
    fi
    local admin="postgres://postgres@127.0.0.1:$port/postgres"
    if ! psql "$admin" -tAc "SELECT 1 FROM pg_database WHERE datname = 'citygrid'" | grep -q 1; then
        psql "$admin" -qc "CREATE DATABASE citygrid"
    fi
    export DATABASE_URL="postgres://postgres@127.0.0.1:$port/citygrid"
}
