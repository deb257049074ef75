#!/usr/bin/env bash
# pip-audit over the installed (pinned and resolved) dependencies of .venv.
#
# Fails on any known vulnerability. pip-audit asks PyPI's JSON API for advisories: where that
# API is unreachable (an air-gapped CI with only a package mirror), every package comes back
# "could not be audited"; that is reported loudly, and fails only with PIP_AUDIT_STRICT=1,
# because a mirror-only machine cannot prove anything either way.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp)
trap 'rm -f "$out"' EXIT
set +e
.venv/bin/pip-audit --skip-editable --progress-spinner off --format json --output "$out" \
  2>/dev/null
rc=$?
set -e
.venv/bin/python - "$out" "$rc" <<'PY'
import json
import os
import sys

path, rc = sys.argv[1], int(sys.argv[2])
try:
    report = json.load(open(path))
except (OSError, ValueError):
    print(f"pip-audit: no report (exit {rc})", file=sys.stderr)
    sys.exit(1)
deps = report.get("dependencies", [])
vulnerable = [d for d in deps if d.get("vulns")]
skipped = [d for d in deps if d.get("skip_reason")]
audited = len(deps) - len(skipped)
for d in vulnerable:
    ids = ", ".join(v["id"] for v in d["vulns"])
    print(f"pip-audit: {d['name']} {d.get('version')}: {ids}", file=sys.stderr)
if vulnerable:
    sys.exit(1)
if audited == 0 and deps:
    print(
        f"pip-audit: WARNING: the advisory service was unreachable; {len(skipped)} packages "
        "could not be audited (nothing known vulnerable, nothing proven either)",
        file=sys.stderr,
    )
    sys.exit(1 if os.environ.get("PIP_AUDIT_STRICT") == "1" else 0)
print(f"pip-audit: {audited} packages audited, no known vulnerabilities")
PY
