#!/usr/bin/env bash
# Creates .venv and installs the pinned dependencies; a no-op when pyproject.toml is unchanged.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-$(command -v python3.11 || command -v python3)}"
stamp=".venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
if [ ! -f "$stamp" ]; then
  echo "Installing Python dependencies into .venv ..."
  .venv/bin/python -m pip install --quiet --upgrade pip
  # The setuptools that `python -m venv` seeds can be old and carry known advisories
  # (pip-audit flags them); nothing here needs the old one.
  .venv/bin/python -m pip install --quiet --upgrade 'setuptools>=78.1.1'
  .venv/bin/python -m pip install --quiet -e '.[dev]'
  rm -f .venv/.installed-*
  touch "$stamp"
fi
