"""Shared fixtures for the guardrails tests: the validators' venv and a way to run its tools.

The validators live in .venv-guardrails (scripts/guardrails-venv.sh), never in the portal's
venv. The session fixture creates or updates it (a no-op when its stamp matches) so that
``make test`` needs no manual step; it skips only when the packages cannot be downloaded.
"""

import json
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GUARDRAILS = ROOT / "guardrails"
FIXTURES = Path(__file__).parent / "fixtures"
NETWORK_ERRORS = (
    "Name or service not known",
    "Temporary failure in name resolution",
    "NewConnectionError",
    "Network is unreachable",
    "No matching distribution found",
    "Could not find a version that satisfies",
    "ConnectTimeoutError",
)


@pytest.fixture(scope="session")
def guardrails_venv():
    venv = Path(os.environ.get("GUARDRAILS_VENV", ROOT / ".venv-guardrails"))
    result = subprocess.run(
        ["bash", str(ROOT / "scripts" / "guardrails-venv.sh")],
        capture_output=True,
        text=True,
        env={**os.environ, "GUARDRAILS_VENV": str(venv)},
        timeout=1800,
    )
    if result.returncode != 0:
        if any(marker in result.stderr for marker in NETWORK_ERRORS):
            pytest.skip(
                "guardrails validators venv could not be created (no access to PyPI): "
                + result.stderr.strip().splitlines()[-1]
            )
        pytest.fail(f"scripts/guardrails-venv.sh failed:\n{result.stderr}")
    return venv


@pytest.fixture(scope="session")
def run_tool(guardrails_venv):
    """Run a validator from the guardrails venv (its bin/ first on PATH, for shellcheck)."""

    def run(tool, *args, cwd=ROOT, timeout=600):
        env = {**os.environ, "PATH": f"{guardrails_venv / 'bin'}:{os.environ['PATH']}"}
        env.pop("VIRTUAL_ENV", None)
        env.pop("PYTHONPATH", None)
        env.pop("DJANGO_SETTINGS_MODULE", None)
        return subprocess.run(
            [str(guardrails_venv / "bin" / tool), *map(str, args)],
            capture_output=True,
            text=True,
            cwd=cwd,
            env=env,
            timeout=timeout,
        )

    return run


@pytest.fixture(scope="session")
def iam_lint(run_tool):
    """The IAM checker's JSON report (and exit code) for some paths."""

    def lint(*paths):
        result = run_tool("python", GUARDRAILS / "tools" / "iam_lint.py", *paths)
        assert result.stdout, result.stderr
        return result.returncode, json.loads(result.stdout)

    return lint
