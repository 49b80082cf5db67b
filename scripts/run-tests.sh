#!/usr/bin/env bash
# The whole suite twice at once: on PostgreSQL + Redis, and the embedded path on SQLite with the
# in-process queue. Each run has its own database and Redis database (tests/conftest.py), so the
# two never meet. Both logs are printed; the exit status fails if either run failed.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.venv/bin}
logs=$(mktemp -d)
"$BIN/pytest" "$@" >"$logs/postgresql.log" 2>&1 &
pg=$!
SURVEY_TEST_DB=sqlite "$BIN/pytest" -m "not postgres_only" "$@" >"$logs/sqlite.log" 2>&1 &
lite=$!
wait $pg; pg_status=$?
wait $lite; lite_status=$?
for run in postgresql sqlite; do
  echo "======================== $run run ========================"
  cat "$logs/$run.log"
done
rm -rf "$logs"
echo "PostgreSQL run: exit $pg_status; SQLite run: exit $lite_status"
[ $pg_status -eq 0 ] && [ $lite_status -eq 0 ]
