"""A real Celery worker (subprocess) collects against the emulator through Redis.

The worker must see the test's database, so this runs on PostgreSQL only (the test database
is a real database the worker can connect to; SQLite's test database is in memory). The
broker is CELERY_BROKER_URL when it is Redis, else a throwaway redis-server on a free port.
"""

import os
import shutil
import subprocess
import sys
import time

import pytest
from django.db import connection

from audit.context import Actor
from collection.choices import RunStatus
from collection.models import CheckResult, CollectionRun
from collection.services import collection_run_start
from portal.celery import app
from tests.collection.conftest import ROOT, free_port

pytestmark = [pytest.mark.redis, pytest.mark.slow, pytest.mark.postgres]


@pytest.fixture
def redis_url(settings):
    if settings.CELERY_BROKER_URL.startswith("redis"):
        yield settings.CELERY_BROKER_URL
        return
    if not shutil.which("redis-server"):
        pytest.skip("needs redis-server")
    port = free_port()
    proc = subprocess.Popen(  # noqa: S603
        ["redis-server", "--port", str(port), "--save", "", "--appendonly", "no"],  # noqa: S607
        stdout=subprocess.DEVNULL,
    )
    time.sleep(0.5)
    yield f"redis://127.0.0.1:{port}/0"
    proc.terminate()
    proc.wait(10)


def _database_url() -> str:
    s = connection.settings_dict
    return (
        f"postgresql://{s['USER']}:{s['PASSWORD']}@{s['HOST'] or 'localhost'}:"
        f"{s['PORT'] or 5432}/{s['NAME']}"
    )


@pytest.fixture
def worker(transactional_db, redis_url, emulator):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: the worker must share the test database")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings_test",
        "DATABASE_URL": _database_url(),
        "CELERY_BROKER_URL": redis_url,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "AWS_ENDPOINT_URL": emulator,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }
    proc = subprocess.Popen(  # noqa: S603
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "portal",
            "worker",
            "-l",
            "WARNING",
            "-c",
            "2",
            "-Q",
            "portal",
            "--without-gossip",
            "--without-mingle",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    old = (app.conf.broker_url, app.conf.task_always_eager)

    def reset_pools():
        # Producers made for the embedded broker earlier in the session must not be reused.
        app.close()
        app._pool = None
        app.amqp._producer_pool = None

    app.conf.broker_url, app.conf.task_always_eager = redis_url, False
    reset_pools()
    try:
        yield proc
    finally:
        app.conf.broker_url, app.conf.task_always_eager = old
        reset_pools()
        proc.terminate()
        proc.wait(20)


def test_real_worker_collects_and_evaluates_every_function(worker, owner, payments_target):
    run = collection_run_start(actor=Actor.for_user(owner), aws_target=payments_target)
    deadline = time.time() + 120
    while time.time() < deadline:
        run.refresh_from_db()
        if not run.is_active:
            break
        time.sleep(0.5)
    assert run.status == RunStatus.SUCCEEDED, run.error_summary
    assert run.functions_evaluated == 5
    assert CheckResult.objects.filter(run=run).count() == 5 * 53
    assert CollectionRun.objects.get(pk=run.pk).finished_at is not None
