"""Portal-wide tasks."""

import json
import socket
import time

from celery import shared_task
from django.conf import settings

HEARTBEAT_KEY = "prr:worker-heartbeat"


@shared_task(name="portal.heartbeat", ignore_result=True)
def heartbeat() -> None:
    """Record that a worker is alive and consuming (shown by /readyz).

    On a Redis broker the heartbeat is a key with a short expiry; other brokers skip it.
    """
    if not settings.CELERY_BROKER_URL.startswith("redis"):
        return
    import redis

    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    client.set(
        HEARTBEAT_KEY,
        json.dumps({"hostname": socket.gethostname(), "at": time.time()}),
        ex=300,
    )


def last_heartbeat() -> dict | None:
    if not settings.CELERY_BROKER_URL.startswith("redis"):
        return None
    import redis

    raw = redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_timeout=2).get(HEARTBEAT_KEY)
    return json.loads(raw) if raw else None
