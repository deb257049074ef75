"""Dead-lettering of poison messages: a task whose worker dies every time it runs it.

With ``acks_late`` and ``reject_on_worker_lost`` a killed worker's message goes back to the
queue, which is right for a one-off crash and wrong for a task that kills its worker every
time (out of memory on one input, a segfault in a library): it would loop forever and starve
the queue. ``PortalTask.before_start`` counts deliveries of each message in Redis; past
``max_deliveries`` the message is rejected without requeueing, the task's ``on_dead_letter``
hook marks its work failed, an audit event records it, and a copy of the message is kept in
the ``prr:dead-letter`` Redis list for an operator to inspect.

Without a Redis broker (the embedded filesystem broker of the demo) nothing is counted.
"""

from __future__ import annotations

import json
import logging
import time
from functools import lru_cache

from celery.exceptions import Reject
from django.conf import settings

logger = logging.getLogger(__name__)

DEAD_LETTER_LIST = "prr:dead-letter"
_TTL = 7 * 86400


@lru_cache(maxsize=4)
def _client(url: str):
    import redis

    return redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)


def _redis():
    url = settings.CELERY_BROKER_URL
    if not url.startswith(("redis://", "rediss://")):
        return None
    return _client(url)


def _key(task_id: str, retries: int) -> str:
    return f"prr:deliveries:{task_id}:{retries}"


def count_delivery(task_id: str, retries: int) -> int:
    """This delivery's number (1 for the first). 0 when it cannot be counted: counting is a
    safety net and must never stop a task from running."""
    client = _redis()
    if client is None:
        return 0
    try:
        pipe = client.pipeline()
        pipe.incr(_key(task_id, retries))
        pipe.expire(_key(task_id, retries), _TTL)
        return int(pipe.execute()[0])
    except Exception:  # noqa: BLE001 - Redis hiccup: run the task, do not count
        logger.warning("could not count delivery of task %s", task_id)
        return 0


def forget(task_id: str, retries: int) -> None:
    client = _redis()
    if client is None:
        return
    try:
        client.delete(_key(task_id, retries))
    except Exception:  # noqa: BLE001 - the key expires anyway
        logger.debug("could not forget deliveries of task %s", task_id)


def give_up(task, task_id: str, args, kwargs, deliveries: int) -> None:
    """Record the dead letter, let the task mark its work failed, and reject the message."""
    logger.error(
        "task %s[%s] killed its worker %d times: dead-lettered", task.name, task_id, deliveries
    )
    client = _redis()
    if client is not None:
        entry = {
            "task": task.name,
            "id": task_id,
            "args": args,
            "kwargs": kwargs,
            "deliveries": deliveries,
            "at": time.time(),
        }
        try:
            client.lpush(DEAD_LETTER_LIST, json.dumps(entry, default=str))
            client.ltrim(DEAD_LETTER_LIST, 0, 999)
        except Exception:  # noqa: BLE001 - the audit event below still records it
            logger.warning("could not keep dead letter %s in Redis", task_id)
    try:
        task.on_dead_letter(args, kwargs, deliveries)
    finally:
        _audit(task, task_id, args, deliveries)
    raise Reject(f"dead-lettered after {deliveries} deliveries", requeue=False)


def _audit(task, task_id: str, args, deliveries: int) -> None:
    from audit.choices import Outcome
    from audit.context import Actor
    from audit.services import audit_record

    audit_record(
        actor=Actor.system("celery"),
        action="task.dead_lettered",
        outcome=Outcome.FAILURE,
        message=f"{task.name} killed its worker {deliveries} times and was set aside.",
        details={"task": task.name, "task_id": task_id, "args": list(args or [])[:5]},
    )
