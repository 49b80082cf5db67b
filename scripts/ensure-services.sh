#!/usr/bin/env bash
# Make sure PostgreSQL (127.0.0.1:5432, trust auth), Redis (127.0.0.1:6379) and Chromium are
# there for the test suite: start them if installed, install them with apt-get if not.
set -euo pipefail

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
apt_updated=""
apt_install() {
  if [ -z "$apt_updated" ]; then as_root apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >/dev/null
}
wait_for() { for _ in $(seq 1 30); do if "$@" >/dev/null 2>&1; then return 0; fi; sleep 1; done; return 1; }

pg_up() { pg_isready -q -h 127.0.0.1 -p 5432; }
if ! command -v pg_isready >/dev/null 2>&1 || ! pg_up; then
  if ! command -v pg_ctlcluster >/dev/null 2>&1; then
    echo "installing PostgreSQL"; apt_install postgresql
  fi
  version=$(ls /etc/postgresql | sort -V | tail -1)
  hba=/etc/postgresql/$version/main/pg_hba.conf
  if ! grep -q "survey-app test trust" "$hba"; then
    # Local tests only: trust connections from this machine.
    as_root sed -i '1i host all all 127.0.0.1/32 trust # survey-app test trust\nhost all all ::1/128 trust # survey-app test trust' "$hba"
  fi
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || \
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" main reload || true
  wait_for pg_up || { echo "PostgreSQL did not start" >&2; exit 1; }
fi

redis_up() { redis-cli -h 127.0.0.1 -p 6379 ping | grep -q PONG; }
if ! command -v redis-cli >/dev/null 2>&1 || ! redis_up; then
  command -v redis-server >/dev/null 2>&1 || { echo "installing Redis"; apt_install redis-server; }
  as_root mkdir -p /var/lib/redis /var/log/redis
  as_root redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" \
    --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log
  wait_for redis_up || { echo "Redis did not start" >&2; exit 1; }
fi

if [ ! -x "${SURVEY_CHROMIUM:-/usr/bin/chromium}" ]; then
  echo "installing Chromium"; apt_install chromium
fi
echo "services: PostgreSQL, Redis and Chromium are ready"
