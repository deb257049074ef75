"""A worker process is prepared once: the collector's botocore models parsed, then frozen out
of the garbage collector's full collections (portal/celery.py)."""

import gc
import subprocess
import sys
import textwrap
import weakref

from collection.aws import clients


def test_a_prepared_process_has_its_startup_heap_frozen_and_models_loaded():
    # In a fresh process, as a worker starts: the test process's own heap does not matter.
    script = textwrap.dedent(
        """
        import gc, os
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings_test")
        import django
        django.setup()
        from botocore import loaders
        from portal.celery import prepare_worker_process
        from collection.aws import clients
        assert gc.get_freeze_count() == 0
        prepare_worker_process()
        loaded = clients._session.get_component("data_loader")
        from portal.celery import GC_YOUNG_THRESHOLD
        assert gc.get_threshold()[0] == GC_YOUNG_THRESHOLD
        print(gc.get_freeze_count(), len(loaded._cache))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    ).stdout.split()
    frozen, cached = int(out[-2]), int(out[-1])
    assert frozen > 100_000  # Django, botocore's models and endpoint rules
    assert cached >= len(clients.COLLECTOR_SERVICES)  # one model (at least) per service


def test_the_signals_a_worker_sends_prepare_it():
    from celery import signals

    from portal.celery import prepare_worker_process

    for signal in (signals.worker_init, signals.worker_process_init):
        receivers = [r() if isinstance(r, weakref.ref) else r for _, r in signal.receivers]
        assert prepare_worker_process in receivers, signal.name
    assert gc.get_freeze_count() == 0  # connecting them froze nothing here
