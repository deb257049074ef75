"""Settings of the worker subprocesses the resilience suite kills: the test settings, with an
unacknowledged message handed back after seconds instead of an hour, so recovery from a killed
worker main process is measurable within a test (production: CELERY_VISIBILITY_TIMEOUT)."""

import os

from portal.settings_test import *  # noqa: F403
from portal.settings_test import CELERY_BROKER_TRANSPORT_OPTIONS

VISIBILITY_TIMEOUT = int(os.environ.get("PRR_TEST_VISIBILITY_TIMEOUT", "8"))
CELERY_BROKER_TRANSPORT_OPTIONS = {
    **CELERY_BROKER_TRANSPORT_OPTIONS,
    "visibility_timeout": VISIBILITY_TIMEOUT,
    "unacked_restore_interval": 1,
    "unacked_restore_throttle": 1,
    # A worker killed while holding the restore lock blocks restores until the lock expires
    # (kombu default 300 s); seconds here, so the next worker takes over quickly.
    "unacked_mutex_expire": 5,
}
