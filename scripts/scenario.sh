#!/usr/bin/env bash
# The closed loop end to end, over HTTP with curl: an inspector reports a
# missing sewage manhole cover (with a photo), the operator files it, the
# dispatcher dispatches it to the cover's owner, the department handles it with
# a photo, the inspector verifies it and the operator closes it. Prints each
# step and the case's timeline.
#
# Needs a running server (./scripts/run.sh) and its database:
#   DATABASE_URL=postgres://postgres@127.0.0.1:54329/citygrid ./scripts/scenario.sh
# CITYGRID_URL (default http://127.0.0.1:8080), CITYGRID_BIN (default target/release/citygrid).
set -euo pipefail
cd "$(dirname "$0")/.."
URL="${CITYGRID_URL:-http://127.0.0.1:8080}"
BIN="${CITYGRID_BIN:-target/release/citygrid}"
: "${DATABASE_URL:?set DATABASE_URL to the database of the server}"

# The first "key":"string" / "key":number in a JSON document (serde_json writes no spaces).
str() { grep -o "\"$1\":\"[^\"]*\"" | head -1 | cut -d'"' -f4; }
num() { grep -o "\"$1\":[0-9]*" | head -1 | cut -d: -f2; }
token() { "$BIN" user add --name "$1" --role "$2" ${3:+--department "$3"} | grep -oE 'cg_[0-9a-f]{64}'; }
call() { # METHOD PATH TOKEN [JSON]: prints the body, fails on a 4xx/5xx
    local body=()
    if [ -n "${4:-}" ]; then body=(-H "Content-Type: application/json" --data-binary "$4"); fi
    curl -sS --fail-with-body -X "$1" "$URL$2" -H "Authorization: Bearer $3" "${body[@]}"
}
act() { # TOKEN ACTION EXTRA_JSON: acts at the current version and advances it
    local body
    body=$(call POST "/api/v1/cases/$CASE/actions" "$1" "{\"action\":\"$2\",\"expected_version\":$VERSION${3:+,$3}}")
    VERSION=$(echo "$body" | num version)
    echo "  $2 → $(echo "$body" | str state) (version $VERSION)"
}
photo() { # TOKEN FILE TYPE: uploads a picture (checked by decoding it), prints its id
    curl -sS --fail-with-body -X POST "$URL/api/v1/media" \
        -H "Authorization: Bearer $1" -H "Content-Type: $3" --data-binary @"$2" | str id
}

COVER=$(psql "$DATABASE_URL" -tAc "SELECT code FROM components WHERE class = '0102' ORDER BY code LIMIT 1")
INSPECTOR=$(token 王巡查 inspector)
OPERATOR=$(token 李受理 operator)
DISPATCHER=$(token 张派遣 dispatcher)

echo "1. the inspector reports sewage manhole cover $COVER missing"
SEEN=$(photo "$INSPECTOR" tests/fixtures/python.jpg image/jpeg)
REPORT=$(call POST /api/v1/reports "$INSPECTOR" \
    "{\"client_key\":\"scenario-$RANDOM$RANDOM\",\"kind\":\"component\",\"class\":\"0102\",\"component_code\":\"$COVER\",\"description\":\"污水井盖丢失 sewage cover missing\",\"photos\":[\"$SEEN\"],\"urgent\":true}")
CASE=$(echo "$REPORT" | str case_no)
VERSION=$(echo "$REPORT" | num version)
DEPT=$(echo "$REPORT" | str department)
echo "  case $CASE in grid $(echo "$REPORT" | str grid), routed to $DEPT"

echo "2. the operator files it";            act "$OPERATOR" file
echo "3. the dispatcher dispatches it";     act "$DISPATCHER" dispatch
DEPARTMENT=$(token 排水公司 department "$DEPT")
FIXED=$(photo "$DEPARTMENT" tests/fixtures/python.webp image/webp)
echo "4. $DEPT handles it";                 act "$DEPARTMENT" handle "\"note\":\"已补装井盖 cover replaced\",\"photos\":[\"$FIXED\"]"
echo "5. the inspector verifies it";        act "$INSPECTOR" verify_pass "\"note\":\"现场核查通过\""
echo "6. the operator closes it";           act "$OPERATOR" close

echo "timeline of $CASE:"
call GET "/api/v1/cases/$CASE" "$OPERATOR" | grep -o '"action":"[a-z_]*"' | cut -d'"' -f4 | sed 's/^/  /'
