#!/usr/bin/env bash
# Create or update the guardrails validators' virtual environments.
#
# The validators (cfn-lint, parliament, policy_sentry, actionlint, shellcheck) and the test
# tools for guardrails/ live in .venv-guardrails, apart from the portal's pins. Checkov pins
# an exact boto3 and an old policy_sentry, so it gets a venv of its own inside it
# (.venv-guardrails/checkov); .venv-guardrails/bin/checkov links to it.
#
# Idempotent and fast when up to date: a stamp file records the SHA-256 of the
# requirements files and the Python version; nothing is installed when it matches.
#
# Usage: scripts/guardrails-venv.sh        # create/update; prints the venv path on stdout
# Env:   GUARDRAILS_VENV (default .venv-guardrails), GUARDRAILS_PYTHON (default python3)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${GUARDRAILS_VENV:-$root/.venv-guardrails}"
requirements="$root/guardrails/requirements.txt"
requirements_checkov="$root/guardrails/requirements-checkov.txt"
python="${GUARDRAILS_PYTHON:-python3}"

mkdir -p "$(dirname "$venv")"
# One installer at a time (parallel test workers may all ask for the venv).
exec 9>"$venv.lock"
flock 9

want="$( { "$python" -c 'import sys; print(sys.version_info[:2])'
           cat "$requirements" "$requirements_checkov"; } | sha256sum | cut -d' ' -f1)"
stamp="$venv/.requirements.sha256"

if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    echo "$venv"
    exit 0
fi

pip_install() {
    # $1: the venv. The machine's pip config may name local mirrors that do not exist:
    # hide that noise, keep pip's exit status.
    local target="$1"
    shift
    "$target/bin/python" -m pip install --quiet --disable-pip-version-check "$@" 2>&1 \
        | { grep -v '^WARNING: Location' || true; } >&2
    return "${PIPESTATUS[0]}"
}

echo "guardrails-venv: installing validators into $venv" >&2
rm -f "$stamp"
for target in "$venv" "$venv/checkov"; do
    [[ -x "$target/bin/python" ]] || "$python" -m venv "$target"
    pip_install "$target" --upgrade pip
done
pip_install "$venv" -r "$requirements"
pip_install "$venv/checkov" -r "$requirements_checkov"
"$venv/bin/python" -m pip check >&2
"$venv/checkov/bin/python" -m pip check >&2
ln -sf "$venv/checkov/bin/checkov" "$venv/bin/checkov"

# Fail here, not in the tests, if a tool did not install an executable.
for tool in checkov cfn-lint parliament policy_sentry actionlint shellcheck pytest; do
    [[ -x "$venv/bin/$tool" ]] || { echo "guardrails-venv: $tool missing" >&2; exit 1; }
done
echo "$want" >"$stamp"
echo "$venv"
