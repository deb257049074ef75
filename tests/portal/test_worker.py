"""A real Celery worker process consumes from Redis."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis

from portal.celery import app
from portal.tasks import HEARTBEAT_KEY

ROOT = Path(__file__).resolve().parents[2]
BROKER = os.environ.get("CELERY_BROKER_URL", "")

pytestmark = pytest.mark.skipif(
    not BROKER.startswith("redis"), reason="needs CELERY_BROKER_URL=redis://... (make test sets it)"
)


@pytest.fixture
def worker():
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings_test",
        "CELERY_TASK_ALWAYS_EAGER": "false",
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "portal",
            "worker",
            "--concurrency",
            "1",
            "--loglevel",
            "WARNING",
            "--without-mingle",
            "--without-gossip",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    yield proc
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


def test_worker_process_runs_a_task_sent_through_redis(worker):
    client = redis.Redis.from_url(BROKER)
    client.delete(HEARTBEAT_KEY)
    app.send_task("portal.heartbeat", queue="portal")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and client.get(HEARTBEAT_KEY) is None:
        assert worker.poll() is None, worker.stdout.read()
        time.sleep(0.2)
    value = client.get(HEARTBEAT_KEY)
    assert value is not None, "the worker never ran the task"
    assert b'"hostname"' in value
