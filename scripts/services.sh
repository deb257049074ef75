# Sourced by scripts/test.sh: starts throwaway PostgreSQL and Redis servers on free loopback
# ports unless DATABASE_URL / CELERY_BROKER_URL are already set, and stops them on exit.
# shellcheck shell=bash

_free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
_prr_cleanup=()
_prr_stop_services() {
  for cmd in "${_prr_cleanup[@]}"; do eval "$cmd" >/dev/null 2>&1 || true; done
}
trap _prr_stop_services EXIT

if [ -z "${DATABASE_URL:-}" ]; then
  pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -n "$pg_bin" ] && [ -x "$pg_bin/initdb" ]; then
    pg_dir=$(mktemp -d /tmp/prr-pg.XXXXXX)
    pg_port=$(_free_port)
    as_pg=()
    if [ "$(id -u)" = 0 ]; then
      chown postgres:postgres "$pg_dir"
      as_pg=(runuser -u postgres --)
    fi
    "${as_pg[@]}" "$pg_bin/initdb" -D "$pg_dir/data" -U postgres -A trust >/dev/null
    "${as_pg[@]}" "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/log" -w \
      -o "-p $pg_port -k $pg_dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
      start >/dev/null
    _prr_cleanup+=("${as_pg[*]} $pg_bin/pg_ctl -D $pg_dir/data -m immediate stop; rm -rf $pg_dir")
    "$pg_bin/psql" -q -h 127.0.0.1 -p "$pg_port" -U postgres -d postgres -v ON_ERROR_STOP=1 \
      -c "CREATE ROLE portal LOGIN PASSWORD 'portal' CREATEDB" \
      -c "CREATE DATABASE portal OWNER portal" >/dev/null
    export DATABASE_URL="postgresql://portal:portal@127.0.0.1:$pg_port/portal"
    export PRR_TEST_PG_SUPERUSER_URL="postgresql://postgres@127.0.0.1:$pg_port/postgres"
    echo "PostgreSQL (throwaway) on 127.0.0.1:$pg_port"
  else
    echo "PostgreSQL not installed: running on SQLite; PostgreSQL-only tests are skipped." >&2
  fi
fi

if [ -z "${CELERY_BROKER_URL:-}" ]; then
  if command -v redis-server >/dev/null; then
    redis_dir=$(mktemp -d /tmp/prr-redis.XXXXXX)
    redis_port=$(_free_port)
    redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no \
      --daemonize yes --pidfile "$redis_dir/redis.pid" --dir "$redis_dir" \
      --logfile "$redis_dir/redis.log" >/dev/null
    for _ in $(seq 50); do [ -s "$redis_dir/redis.pid" ] && break; sleep 0.1; done
    _prr_cleanup+=("kill \$(cat $redis_dir/redis.pid); rm -rf $redis_dir")
    export CELERY_BROKER_URL="redis://127.0.0.1:$redis_port/0"
    echo "Redis (throwaway) on 127.0.0.1:$redis_port"
  else
    echo "Redis not installed: tests needing a real broker are skipped." >&2
  fi
fi
