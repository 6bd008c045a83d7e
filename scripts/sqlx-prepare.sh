#!/usr/bin/env bash
# Regenerates host/.sqlx, the offline metadata of the store's compile-time checked queries
# (`sqlx::query!` and friends), so that building needs no database.
#
#   scripts/sqlx-prepare.sh          rewrites host/.sqlx from a scratch database
#   scripts/sqlx-prepare.sh --check  fails when host/.sqlx differs from what the queries need
#
# The checked queries are PostgreSQL's (`host/src/store/postgres/`): a scratch database on
# 127.0.0.1:5432 gets the migrations, the host is checked against it with the macros online,
# and they write each query's description into the offline directory. Without `DATABASE_URL`
# the macros read host/.sqlx (what CI and every other build do).
set -euo pipefail
cd "$(dirname "$0")/.."
db=postd_sqlx_prepare
pg=${POSTD_SQLX_PG:-postgres://postgres@127.0.0.1:5432}
psql -q "$pg/postgres" -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
for migration in migrations/postgres/*.sql; do
  psql -q -v ON_ERROR_STOP=1 "$pg/$db" -f "$migration" >/dev/null
done
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
# A source change forces the macros to run again (they would not on an unchanged crate).
touch host/src/store/postgres/mod.rs
DATABASE_URL="$pg/$db" SQLX_OFFLINE=false SQLX_OFFLINE_DIR="$out" \
  cargo build -p postd-host --lib --quiet
psql -q "$pg/postgres" -c "DROP DATABASE IF EXISTS $db"
if [[ "${1:-}" == "--check" ]]; then
  if ! diff -r "$out" host/.sqlx >/dev/null 2>&1; then
    echo "error: host/.sqlx is stale; run scripts/sqlx-prepare.sh and commit it" >&2
    diff -r "$out" host/.sqlx >&2 || true
    exit 1
  fi
  echo "host/.sqlx matches the queries"
else
  rm -rf host/.sqlx
  cp -r "$out" host/.sqlx
  echo "host/.sqlx: $(ls host/.sqlx | wc -l) queries"
fi
