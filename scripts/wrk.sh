#!/usr/bin/env bash
# Load on loopback with wrk (apt-get install wrk): `scripts/wrk.sh get|post [workers]`.
# Creates a scratch PostgreSQL database, runs `session-api serve`, seeds it, drives
# GET /v1/sessions/{id} (and /healthz) or POST /v1/sessions for 8 s with 16 connections,
# then stops the server and drops only the database it created.
set -euo pipefail
mode=${1:-get}
workers=${2:-1}
here=$(cd "$(dirname "$0")/.." && pwd)
bin=$here/.venv/bin
port=${PORT:-8796}
db=session_api_wrk_$RANDOM$RANDOM
url=http://127.0.0.1:$port

psql -q -h 127.0.0.1 -U postgres -c "CREATE DATABASE $db"
export SESSION_API_DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/$db
export SESSION_API_JWT_SECRET=wrk-only-secret-wrk-only-secret-wrk-only-secret
server=
cleanup() {
    [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null || true
    psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)"
}
trap cleanup EXIT

"$bin/session-api" migrate >/dev/null
"$bin/session-api" serve --port "$port" --workers "$workers" >/dev/null 2>&1 &
server=$!
for _ in $(seq 50); do curl -sf "$url/healthz" >/dev/null && break; sleep 0.2; done

token=$("$bin/session-api" token --role admin)
auth="Authorization: Bearer $token"
post() { curl -sf -H "$auth" -H 'content-type: application/json' -d "$2" "$url$1"; }
id() { python3 -c 'import sys, json; print(json.load(sys.stdin)["id"])'; }
week='{"weekly":['
for day in monday tuesday wednesday thursday friday saturday sunday; do
    week+="{\"weekday\":\"$day\",\"start\":\"00:00\",\"end\":\"24:00\"},"
done
week="${week%,}],\"overrides\":[]}"

program=$(post /v1/programs '{"name":"Load","sessions_per_month":31}' | id)
coachees=()
for n in $(seq 16); do
    coach=$(post /v1/coaches "{\"name\":\"C$n\",\"email\":\"c$n@example.com\",\"timezone\":\"UTC\"}" | id)
    curl -sf -o /dev/null -X PUT -H "$auth" -H 'content-type: application/json' -d "$week" \
        "$url/v1/coaches/$coach/availability"
    coachees+=("$(post /v1/coachees "{\"name\":\"E$n\",\"email\":\"e$n@example.com\",\"timezone\":\"UTC\",\"program_id\":\"$program\",\"coach_id\":\"$coach\"}" | id)")
done

if [ "$mode" = get ]; then
    session=$(post /v1/sessions "{\"coachee_id\":\"${coachees[0]}\",\"starts_at\":\"2030-03-04T10:00:00Z\"}" | id)
    echo "GET /v1/sessions/{id}, $workers worker(s):"
    wrk -t1 -c16 -d8s -H "$auth" "$url/v1/sessions/$session" | grep -E "Latency|Requests/sec"
    echo "GET /healthz, $workers worker(s):"
    wrk -t1 -c16 -d8s "$url/healthz" | grep -E "Latency|Requests/sec"
else
    script=$(mktemp --suffix=.lua)
    ids=$(printf '"%s",' "${coachees[@]}")
    cat > "$script" <<LUA
-- Each request books the next coachee one day later than its last booking: no refusals.
local ids = {${ids%,}}
local n = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $token"
request = function()
  local id = ids[(n % #ids) + 1]
  local day = math.floor(n / #ids)
  n = n + 1
  local starts = os.date("!%Y-%m-%dT10:00:00Z", 1893456000 + day * 86400)
  return wrk.format(nil, "/v1/sessions", nil,
    string.format('{"coachee_id":"%s","starts_at":"%s"}', id, starts))
end
LUA
    echo "POST /v1/sessions, $workers worker(s):"
    wrk -t1 -c16 -d8s -s "$script" "$url" | grep -E "Latency|Requests/sec|Non-2xx"
    rm -f "$script"
fi
