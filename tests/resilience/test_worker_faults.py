"""Killed and confused Celery workers, with real worker processes, Redis and PostgreSQL.

Each test runs a collection of a few hundred functions, breaks something in the middle, and
then checks that every function has exactly one snapshot and one set of results, that no
snapshot lacks its results and that the run's end is audited once. Recovery times are printed
(``-s`` shows them; the closing note of issue 10 quotes them).
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
import uuid

import pytest
import redis

from audit.context import Actor
from audit.models import AuditEvent
from collection.choices import RunStatus
from collection.models import CollectionBatch, RegionRun
from collection.services import collection_run_start
from portal.celery import PortalTask
from tests.resilience.collection_helpers import (
    BATCH_SIZE,
    assert_exactly_once,
    wait_finished,
    wait_progress,
)
from tests.resilience.conftest import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.redis, pytest.mark.postgres]


def _start_run(owner, target):
    return collection_run_start(actor=Actor.for_user(owner), aws_target=target)


def test_killing_pool_children_mid_run_loses_and_duplicates_nothing(
    broker, start_worker, chaos_target, owner
):
    worker = start_worker(concurrency=2, COLLECTION_BATCH_SIZE=BATCH_SIZE)
    started = time.monotonic()
    run = _start_run(owner, chaos_target)
    wait_progress(run, batches_done=2)
    victims = worker.children()
    assert victims, worker.output()
    for pid in victims:  # both pool processes: each is in the middle of a batch
        os.kill(pid, signal.SIGKILL)
    killed_at = time.monotonic()
    done_before = RegionRun.objects.get(run=run).batches_done
    resumed = wait_progress(run, batches_done=done_before + 1)

    run = wait_finished(run, timeout=120)

    assert run.status == RunStatus.SUCCEEDED, (run.error_summary, worker.output())
    assert_exactly_once(run)
    print(
        f"\n[pool-child kill] {len(victims)} children killed; next batch stored "
        f"{resumed - killed_at:.1f}s later; run {time.monotonic() - started:.1f}s in all"
    )


def test_killing_the_worker_main_process_mid_run_recovers_after_restart(
    broker, start_worker, chaos_target, owner
):
    from tests.resilience.worker_settings import VISIBILITY_TIMEOUT

    first = start_worker(concurrency=2, COLLECTION_BATCH_SIZE=BATCH_SIZE)
    run = _start_run(owner, chaos_target)
    wait_progress(run, batches_done=2)
    first.kill_main()  # its pool children are orphaned; their messages stay unacknowledged
    killed_at = time.monotonic()
    second = start_worker(concurrency=2, COLLECTION_BATCH_SIZE=BATCH_SIZE)

    run = wait_finished(run, timeout=120)
    recovered = time.monotonic() - killed_at

    assert run.status == RunStatus.SUCCEEDED, (run.error_summary, second.output())
    assert_exactly_once(run)
    print(
        f"\n[main-process kill] run finished {recovered:.1f}s after the kill "
        f"(visibility timeout {VISIBILITY_TIMEOUT}s: unacknowledged messages come back then)"
    )


def test_a_task_that_keeps_killing_its_worker_is_dead_lettered(broker, start_worker, db):
    from tests.resilience import worker_tasks

    start_worker(concurrency=1)
    key = uuid.uuid4().hex
    client = redis.Redis.from_url(broker.url)
    started = time.monotonic()
    worker_tasks.kill_own_worker.delay(key)

    dead = wait_until(lambda: client.get(f"prr:test:dead:{key}"), 60, what="dead letter")
    runs = client.llen(f"prr:test:runs:{key}")

    assert int(dead) == PortalTask.max_deliveries == runs
    event = AuditEvent.objects.get(action="task.dead_lettered")
    assert event.details["task"] == "resilience.kill_own_worker"
    assert "killed its worker 5 times" in event.message
    letter = json.loads(client.lindex("prr:dead-letter", 0))
    assert letter["args"] == [key]
    # The queue is not starved: the worker goes on with the next task.
    after = uuid.uuid4().hex
    worker_tasks.record.delay(after)
    wait_until(lambda: client.llen(f"prr:test:runs:{after}"), 30, what="next task")
    print(
        f"\n[poison message] dead-lettered after {runs} deliveries, "
        f"{time.monotonic() - started:.1f}s"
    )


def test_dead_lettered_batch_fails_its_run_visibly(db, service, owner):
    """The collection tasks' dead-letter hook: the region fails with a message saying so."""
    from collection import tasks
    from tests.factories import AwsTargetFactory

    run = _start_run(owner, AwsTargetFactory(service=service, regions=["us-east-1"]))
    region = RegionRun.objects.get(run=run)
    RegionRun.objects.filter(pk=region.pk).update(status="running", batches_total=2)
    batch = CollectionBatch.objects.create(region_run=region, index=0, payload={"items": [{}] * 20})

    tasks.collect_batch.on_dead_letter((batch.pk,), {}, 5)

    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert "A batch of 20 functions in us-east-1 crashed the collector 5 times" in (
        run.error_summary
    )
    finished = AuditEvent.objects.get(action="collection.run_finish", object_id=str(run.pk))
    assert finished.after["status"] == RunStatus.FAILED


def test_the_same_message_delivered_twice_concurrently_gives_one_result(
    broker, start_worker, chaos_target, owner
):
    """Every message on the queue is pushed a second time right behind the first, so two
    worker processes run the two copies at the same moment."""
    client = redis.Redis.from_url(broker.url)
    run = _start_run(owner, chaos_target)  # no worker yet: the region task waits in Redis
    copied: set[str] = set()
    stop = threading.Event()

    def duplicate_everything():
        while not stop.is_set():
            for raw in client.lrange("portal", 0, -1):
                message = json.loads(raw)
                task_id = message["headers"]["id"]
                if task_id in copied:
                    continue
                copied.add(task_id)
                message["properties"]["delivery_tag"] = str(uuid.uuid4())
                client.rpush("portal", json.dumps(message))
            time.sleep(0.02)

    duplicator = threading.Thread(target=duplicate_everything, daemon=True)
    duplicator.start()
    try:
        wait_until(lambda: copied, 10, what="the region task copied")
        start_worker(concurrency=2, COLLECTION_BATCH_SIZE=BATCH_SIZE)
        run = wait_finished(run, timeout=120)
    finally:
        stop.set()
        duplicator.join(5)

    assert run.status == RunStatus.SUCCEEDED, run.error_summary
    assert len(copied) >= 5  # the region task and most of its ten batches, each twice
    assert_exactly_once(run)
    assert AuditEvent.objects.filter(action="collection.run_start").count() == 1
    print(f"\n[duplicate delivery] {len(copied)} messages delivered twice: one result each")
