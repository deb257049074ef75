#!/usr/bin/env bash
# The whole test suite, on real PostgreSQL and Redis when they are installed.
# Extra arguments go to pytest (e.g. scripts/test.sh tests/services -x).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/system-deps.sh
bash scripts/bootstrap.sh
# shellcheck source=scripts/services.sh
source scripts/services.sh
set +e
.venv/bin/python -m pytest "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
  echo "pytest collected no tests" >&2
  rc=0
fi
exit "$rc"
