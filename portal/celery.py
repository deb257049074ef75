"""The Celery application.

Reliability defaults live in settings (CELERY_*): late acknowledgement with
reject-on-worker-lost so a killed worker's task is redelivered, prefetch of one, hard and soft
time limits. ``PortalTask`` adds bounded retries with exponential backoff and jitter for
transient faults only. Enqueue from request code with ``task.delay_on_commit(...)`` so a task
never runs for a transaction that rolled back.
"""

import os

from celery import Celery
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
