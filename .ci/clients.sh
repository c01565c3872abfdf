#!/usr/bin/env bash
# CI: generated clients against a live server. A Python client (openapi-python-client) runs the
# worked example and reads the typed 409; TypeScript types (openapi-typescript) and an
# openapi-fetch usage file are checked with `tsc --strict` and run with node. The generated
# code and the tools live in .ci/clients/ (ignored by git, kept between runs as a cache).
set -euo pipefail
cd "$(dirname "$0")/.."

work=.ci/clients
mkdir -p "$work"
venv=$work/venv
python=${PYTHON:-python3}

echo "ci: clients: installing the generators"
[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "openapi-python-client==0.29.1"
# Exact versions in package.json; no lock file is kept.
(cd .ci/ts && npm install --no-audit --no-fund --no-package-lock --silent)

echo "ci: clients: generating"
rm -rf "$work/python"
"$venv/bin/openapi-python-client" generate --path openapi.json --meta none \
    --output-path "$work/python/session_api_client" --config .ci/openapi-python-client.yaml
# Fields with a default are optional in a request: without this flag openapi-typescript
# would make callers send them.
.ci/ts/node_modules/.bin/openapi-typescript openapi.json --output .ci/ts/schema.d.ts \
    --default-non-nullable false
.ci/ts/node_modules/.bin/tsc --strict --project .ci/ts/tsconfig.json
echo "ci: clients: tsc --strict passed"

# A live server on loopback, on a scratch SQLite file; stopped by the trap. `./dev token`
# installs the project into .venv first when it is not there yet.
scratch=$(mktemp -d)
port=$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export SESSION_API_DATABASE_URL="sqlite+aiosqlite:///$scratch/clients.sqlite3"
SESSION_API_JWT_SECRET=$("$python" -c 'import secrets; print(secrets.token_urlsafe(48))')
export SESSION_API_JWT_SECRET SESSION_API_ACCESS_LOG=false
export API_TOKEN
API_TOKEN=$(./dev token --role admin --ttl 10m)
.venv/bin/session-api serve --port "$port" 2> "$scratch/serve.log" &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$scratch"' EXIT
export API_URL="http://127.0.0.1:$port"
for _ in $(seq 1 100); do
    "$python" -c "import urllib.request; urllib.request.urlopen('$API_URL/healthz')" 2>/dev/null && break
    sleep 0.2
done
"$python" -c "import urllib.request; urllib.request.urlopen('$API_URL/healthz')" \
    || { echo "ci: clients: FAILED: the server did not start" >&2; cat "$scratch/serve.log" >&2; exit 1; }

echo "ci: clients: Python worked example"
PYTHONPATH="$work/python" "$venv/bin/python" .ci/worked_example.py
echo "ci: clients: TypeScript worked example"
node .ci/ts/build/worked_example.js
echo "ci: clients: both generated clients ran the worked example"
