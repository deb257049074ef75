"""Tasks only the resilience suite's workers load (``celery worker -I`` this module)."""

import os
import signal

from portal.celery import app


def _redis():
    import redis
    from django.conf import settings

    return redis.Redis.from_url(settings.CELERY_BROKER_URL)


def _mark_dead(task, args, kwargs, deliveries):
    _redis().set(f"prr:test:dead:{args[0]}", deliveries)


@app.task(name="resilience.kill_own_worker", on_dead_letter=_mark_dead)
def kill_own_worker(key: str) -> None:
    """A poison message: every delivery kills the process running it."""
    _redis().rpush(f"prr:test:runs:{key}", os.getpid())
    os.kill(os.getpid(), signal.SIGKILL)


@app.task(name="resilience.record")
def record(key: str) -> None:
    _redis().rpush(f"prr:test:runs:{key}", os.getpid())
