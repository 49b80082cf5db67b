#!/usr/bin/env bash
# The production topology on one machine: two gunicorn app processes and two RQ workers against
# one PostgreSQL and one Redis.  Usage: scripts/topology.sh up|down|status
#
# Settings (environment): TOPOLOGY_DIR (pids, logs, secret; default var/topology),
# SURVEY_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/survey_topology, created if
# missing), SURVEY_REDIS_URL (default redis://127.0.0.1:6379/0), TOPOLOGY_PORTS (default
# "8001 8002"), TOPOLOGY_WORKERS (default 2), SURVEY_WEB_WORKERS per app process (default 2).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.venv/bin}
DIR=${TOPOLOGY_DIR:-var/topology}
PORTS=${TOPOLOGY_PORTS:-"8001 8002"}
WORKERS=${TOPOLOGY_WORKERS:-2}
export SURVEY_DATABASE_URL=${SURVEY_DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/survey_topology}
export SURVEY_REDIS_URL=${SURVEY_REDIS_URL:-redis://127.0.0.1:6379/0}
export PROMETHEUS_MULTIPROC_DIR="$DIR/prometheus"

# A process that has exited but not yet been reaped by its parent (a zombie) counts as stopped.
alive() {
  [ -f "$1" ] || return 1
  local pid state
  pid=$(cat "$1")
  kill -0 "$pid" 2>/dev/null || return 1
  state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null || true)
  [ "$state" != "Z" ]
}

up() {
  mkdir -p "$DIR"
  scripts/ensure-services.sh
  if [ ! -f "$DIR/secret_key" ]; then
    "$BIN/python" -c 'import secrets; print(secrets.token_urlsafe(48))' > "$DIR/secret_key"
    chmod 600 "$DIR/secret_key"
  fi
  export SURVEY_SECRET_KEY=${SURVEY_SECRET_KEY:-$(cat "$DIR/secret_key")}
  export SURVEY_BASE_URL=${SURVEY_BASE_URL:-http://127.0.0.1:${PORTS%% *}}
  export SURVEY_LOG_FORMAT=${SURVEY_LOG_FORMAT:-json}
  db=${SURVEY_DATABASE_URL##*/}
  admin=${SURVEY_DATABASE_URL%/*}/postgres
  admin=${admin/postgresql+psycopg:/postgresql:}
  if ! psql "$admin" -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1; then
    psql "$admin" -qc "CREATE DATABASE \"$db\""
  fi
  "$BIN/survey-app" db upgrade heads
  rm -rf "$PROMETHEUS_MULTIPROC_DIR"; mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
  for port in $PORTS; do
    if alive "$DIR/web-$port.pid"; then continue; fi
    SURVEY_BIND="127.0.0.1:$port" "$BIN/gunicorn" --config deploy/gunicorn.conf.py \
      --pid "$DIR/web-$port.pid" wsgi:app >>"$DIR/web-$port.log" 2>&1 &
  done
  for n in $(seq 1 "$WORKERS"); do
    if alive "$DIR/worker-$n.pid"; then continue; fi
    "$BIN/survey-app" worker >>"$DIR/worker-$n.log" 2>&1 &
    echo $! > "$DIR/worker-$n.pid"
  done
  for port in $PORTS; do
    for _ in $(seq 1 60); do
      if curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; then break; fi
      sleep 0.5
    done
    curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null || { echo "app on :$port is not ready" >&2; exit 1; }
  done
  status
}

down() {
  # SIGTERM: gunicorn finishes requests in flight, RQ workers finish their current job.
  for pidfile in "$DIR"/*.pid; do
    [ -e "$pidfile" ] || continue
    if alive "$pidfile"; then kill -TERM "$(cat "$pidfile")"; fi
  done
  for pidfile in "$DIR"/*.pid; do
    [ -e "$pidfile" ] || continue
    for _ in $(seq 1 60); do alive "$pidfile" || break; sleep 0.5; done
    if alive "$pidfile"; then echo "$(basename "$pidfile" .pid) did not stop in 30 s" >&2; fi
    rm -f "$pidfile"
  done
}

status() {
  for pidfile in "$DIR"/*.pid; do
    [ -e "$pidfile" ] || continue
    name=$(basename "$pidfile" .pid)
    if alive "$pidfile"; then echo "$name running (pid $(cat "$pidfile"))"; else echo "$name stopped"; fi
  done
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
