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

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")


class TransientError(Exception):
    """A fault worth retrying: a timeout, a throttle, a dropped connection."""


class PortalTask(DjangoTask):
    autoretry_for = (TransientError, ConnectionError, TimeoutError)
    retry_backoff = 2
    retry_backoff_max = 300
    retry_jitter = True
    max_retries = 5
    acks_late = True
    reject_on_worker_lost = True


app = Celery("portal", task_cls=PortalTask)
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
