#!/usr/bin/env bash
# Static checks CI runs next to the tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
.venv/bin/ruff check .
.venv/bin/ruff format --check .
DEBUG=true .venv/bin/python manage.py makemigrations --check --dry-run
# Production settings must pass Django's deployment checks.
env -i PATH="$PATH" HOME="${HOME:-/tmp}" \
  SECRET_KEY="ci-deploy-check-$(head -c 32 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')" \
  ALLOWED_HOSTS=prr.example.com DATABASE_URL=postgresql://portal@db.example.com/portal \
  CELERY_BROKER_URL=redis://redis.example.com:6379/0 \
  .venv/bin/python manage.py check --deploy --fail-level WARNING
# Security linters: no high-severity bandit finding in the application code (tests and
# benchmarks are excluded: they run subprocesses and fixtures on purpose).
.venv/bin/bandit -q -r accounts audit collection controls dashboards evidence exports gate \
  notifications portal reviews services -x '*/migrations/*' --severity-level high
# No known vulnerability in the pinned dependencies (the installed, resolved set).
bash scripts/pip-audit.sh
