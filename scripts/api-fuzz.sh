#!/usr/bin/env bash
# Property-based checks of the HTTP API against its own OpenAPI document (schemathesis, from
# PyPI): a host on a fresh SQLite database and a free loopback port, every documented operation
# called with generated input, as a tenant and as the admin. Fails on any 5xx or a response the
# document does not allow (status, content type, or a body that breaks its schema). Used by
# `make api-fuzz`.
set -euo pipefail
bin=${1:-target/debug/postd-host}
examples=${POSTD_FUZZ_EXAMPLES:-25}
dir=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
admin="fuzz-admin-key-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
: > "$dir/plugins.toml"
# Each run sends one key to the other key's routes too: the failure budget (brute-force
# protection, tested on its own) would answer 429 to most of the run, so it is off here. Event
# delivery is off too: generated endpoint URLs name arbitrary hosts, and tests reach only loopback.
POSTD_DATA_DIR=$dir POSTD_LISTEN=127.0.0.1:$port POSTD_ADMIN_KEY=$admin POSTD_LOG=warn \
  POSTD_AUTH_FAILURES_PER_MINUTE=0 POSTD_EVENT_DELIVERY=false \
  POSTD_DATABASE_URL= POSTD_REDIS_URL= POSTD_CONFIG= \
  "$bin" run --plugins "$dir/plugins.toml" > "$dir/stdout" 2> "$dir/stderr" &
host=$!
cleanup() {
  local status=$?
  kill "$host" 2>/dev/null || true
  wait "$host" 2>/dev/null || true
  rm -rf "$dir"
  exit "$status"
}
trap cleanup EXIT
for _ in $(seq 100); do
  grep -q '^  pdk_' "$dir/stdout" 2>/dev/null && (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break
  sleep 0.2
done
key=$(grep -m1 -o 'pdk_[0-9a-f]*' "$dir/stdout")
for auth in "$key" "$admin"; do
  python3 -m schemathesis.cli run "http://127.0.0.1:$port/openapi.json" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
    --hypothesis-max-examples "$examples" --hypothesis-derandomize \
    -H "Authorization: Bearer $auth" --show-trace
done
if grep -q 'panicked' "$dir/stderr"; then
  echo "error: the host panicked under fuzzing:" >&2; cat "$dir/stderr" >&2; exit 1
fi
