"""The Celery application.

Reliability defaults live in settings (CELERY_*): late acknowledgement with
reject-on-worker-lost so a killed worker's task is redelivered, prefetch of one, hard and soft
time limits. ``PortalTask`` adds bounded retries with exponential backoff and jitter for
transient faults only. Enqueue from request code with ``task.delay_on_commit(...)`` so a task
never runs for a transaction that rolled back.
"""

import gc
import os

from celery import Celery, signals
from celery.contrib.django.task import DjangoTask
from django.db import InterfaceError, OperationalError

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")


class TransientError(Exception):
    """A fault worth retrying: a timeout, a throttle, a dropped connection."""


class PortalTask(DjangoTask):
    # A lost database connection (PostgreSQL restarting, a failover) is transient too: the
    # task is retried on a fresh connection instead of being acknowledged as failed and lost.
    autoretry_for = (
        TransientError,
        ConnectionError,
        TimeoutError,
        OperationalError,
        InterfaceError,
    )
    retry_backoff = 2
    retry_backoff_max = 300
    retry_jitter = True
    max_retries = 5
    acks_late = True
    reject_on_worker_lost = True
    # A message redelivered this many times without finishing (its worker died each time) is
    # dead-lettered instead of looping: see before_start.
    max_deliveries = 5

    def before_start(self, task_id, args, kwargs):
        """Count deliveries of this message (in Redis, keyed by task id and retry number, so
        retries are not deliveries); past ``max_deliveries`` reject it without requeueing and
        call ``on_dead_letter`` so the work it belonged to fails visibly."""
        if self.request.is_eager:
            return
        from portal import deadletter

        deliveries = deadletter.count_delivery(task_id, self.request.retries)
        if deliveries > self.max_deliveries:
            deadletter.give_up(self, task_id, args, kwargs, deliveries - 1)

    def after_return(self, status, retval, task_id, args, kwargs, einfo):
        if not self.request.is_eager:
            from portal import deadletter

            deadletter.forget(task_id, self.request.retries)

    def on_dead_letter(self, args, kwargs, deliveries: int) -> None:
        """Override (or pass ``on_dead_letter=`` to ``@app.task``) to mark the work failed."""


app = Celery("portal", task_cls=PortalTask)
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


GC_YOUNG_THRESHOLD = 10_000


@signals.worker_init.connect  # the main process: solo and threads pools run tasks in it
@signals.worker_process_init.connect  # each prefork pool process, after the fork
def prepare_worker_process(**_kwargs) -> None:
    """Load what tasks need once (Django is loaded already; the collector's botocore service
    models and endpoint rules are parsed here), then ``gc.freeze()`` it all: frozen objects
    are left out of the garbage collector's full collections. A collection run allocates a
    lot, and each full collection walked these hundreds of thousands of long-lived objects
    again: 0.9 ms of CPU per function collected (bench/collection/cpu_per_function.py).
    Young collections are also made rarer (``GC_YOUNG_THRESHOLD``).
    Frozen objects are never freed, which is right for what a process loads once. Freezing in
    the main process before the fork also keeps the pool's pages shared."""
    from collection.aws.clients import preload

    preload()
    gc.freeze()
    # A young-generation collection every 10,000 allocations instead of 700: a run allocates
    # millions of short-lived objects (answers, facts, results) and the collector still cost
    # about 0.2 ms of CPU per function after the freeze. Cycles are found as before, later.
    gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])
