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
    pg_opts="-p $pg_port -k $pg_dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300"
    "${as_pg[@]}" "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/log" -w -o "$pg_opts" \
      start >/dev/null
    # tests/resilience restarts this server in the middle of a collection run.
    export PRR_TEST_PG_BIN="$pg_bin" PRR_TEST_PG_DATA="$pg_dir/data" PRR_TEST_PG_LOG="$pg_dir/log"
    export PRR_TEST_PG_OPTS="$pg_opts" PRR_TEST_PG_RUNAS="${as_pg:+postgres}"
    _prr_cleanup+=("${as_pg[*]} $pg_bin/pg_ctl -D $pg_dir/data -m immediate stop; rm -rf $pg_dir")
    "$pg_bin/psql" -q -h 127.0.0.1 -p "$pg_port" -U postgres -d postgres -v ON_ERROR_STOP=1 \
      -c "CREATE ROLE portal LOGIN PASSWORD 'portal' CREATEDB" \
      -c "CREATE ROLE portal_app LOGIN PASSWORD 'portal_app' NOCREATEDB NOCREATEROLE" \
      -c "CREATE DATABASE portal OWNER portal" >/dev/null
    # Two roles, as in production (docs/operations.md): portal owns the schema and runs the
    # migrations; portal_app is what the application runs as once `manage.py grant_app_role`
    # has granted it row access (and on the audit table only SELECT and INSERT). pytest-django
    # builds the test database as portal; tests/resilience/test_db_roles.py grants and checks.
    export DATABASE_URL="postgresql://portal:portal@127.0.0.1:$pg_port/portal"
    export PRR_TEST_PG_APP_ROLE="portal_app:portal_app"
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
