"""Fixtures for collection tests: the AWS emulator (moto server + the portal's additions) as a
subprocess, seeded once per session, and targets pointing at the demo functions."""

import contextlib
import datetime
import functools
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from collection.aws import clients
from tests.factories import AwsTargetFactory

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, timeout: float = 30) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1).read()  # noqa: S310
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


def start_emulator(lambda_rps: float | None = None):
    port = free_port()
    args = [sys.executable, "-m", "collection.emulator_server", "-p", str(port)]
    if lambda_rps:
        args += ["--lambda-rps", str(lambda_rps)]
    proc = subprocess.Popen(  # noqa: S603
        args, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    wait_for(f"{url}/_prr/stats")
    return proc, url


@contextlib.contextmanager
def seeded_emulator(*, functions: int, prefix: str, demo: bool = True):
    """An emulator of its own with dummy credentials, seeded with ``functions`` compliant
    functions named ``prefix``… (and the demo's functions with ``demo``); stopped on exit."""
    from collection.emulator import seed

    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        os.environ.setdefault(key, "testing")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    proc, url = start_emulator()
    try:
        seed(url, functions=functions, prefix=prefix, demo=demo)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture(scope="session")
def emulator_url():
    """A seeded emulator shared by the session (tests only read from it)."""
    with seeded_emulator(functions=2, prefix="payments-bulk-") as url:
        yield url


@pytest.fixture
def emulator(emulator_url, settings):
    settings.AWS_ENDPOINT_URL = emulator_url
    clients.clear_cache()
    yield emulator_url
    clients.clear_cache()


@pytest.fixture
def payments_target(service):
    return AwsTargetFactory(
        service=service,
        account_id="123456789012",
        regions=["us-east-1"],
        role_arn="arn:aws:iam::123456789012:role/prr-collector",
        function_name_prefix="payments-",
    )


# The day tests/collection/golden_results.json was recorded.
GOLDEN_DAY = datetime.date(2026, 11, 28)


@pytest.fixture
def golden_day(monkeypatch):
    """Checks are evaluated as of the day the golden outcomes were recorded: a check that
    counts days (how long until a runtime is deprecated) would otherwise change every day."""
    from collection import pipeline

    monkeypatch.setattr(
        pipeline, "CheckContext", functools.partial(pipeline.CheckContext, today=GOLDEN_DAY)
    )
    return GOLDEN_DAY
