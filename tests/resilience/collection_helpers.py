"""A collection run of a few hundred functions against the emulator, and the invariants every
fault test checks afterwards: each function exactly one snapshot and one set of results, no
snapshot without its results, one audited finish."""

from __future__ import annotations

import time

from django.db import connection
from django.db.models import Count

from audit.models import AuditEvent
from collection.checks.ids import CHECK_IDS
from collection.models import CheckResult, CollectionRun, RegionRun, ResourceSnapshot

FUNCTIONS = 200
PREFIX = "chaos-"
BATCH_SIZE = "20"  # 10 batch tasks per run: several in flight when a fault strikes


def wait_finished(run: CollectionRun, timeout: float) -> CollectionRun:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run.refresh_from_db()
        if not run.is_active:
            return run
        time.sleep(0.25)
    region = RegionRun.objects.filter(run=run).values().first()
    raise AssertionError(f"run still {run.status} after {timeout:.0f}s: {region}")


def wait_progress(run: CollectionRun, *, batches_done: int, timeout: float = 60) -> float:
    """Wait until this many batches are stored; returns when (monotonic)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = RegionRun.objects.filter(run=run).values_list("batches_done", flat=True).first()
        if done is not None and done >= batches_done:
            return time.monotonic()
        time.sleep(0.05)
    raise AssertionError(f"run never reached {batches_done} batches")


def assert_exactly_once(run: CollectionRun, functions: int = FUNCTIONS) -> None:
    """Nothing lost, nothing duplicated, nothing half-written."""
    connection.close()  # a fault may have broken this process's connection too
    snapshots = ResourceSnapshot.objects.filter(run=run)
    per_function = snapshots.values("resource_arn").annotate(n=Count("id"))
    duplicated = [row for row in per_function if row["n"] != 1]
    assert not duplicated, f"functions with several snapshots: {duplicated[:5]}"
    assert snapshots.count() == functions
    per_snapshot = CheckResult.objects.filter(run=run).values("snapshot_id").annotate(n=Count("id"))
    counts = {row["snapshot_id"]: row["n"] for row in per_snapshot}
    half_written = [
        pk for pk in snapshots.values_list("pk", flat=True) if counts.get(pk) != len(CHECK_IDS)
    ]
    assert not half_written, f"snapshots without their {len(CHECK_IDS)} results: {half_written}"
    pairs = CheckResult.objects.filter(run=run).values("snapshot__resource_arn", "check_id")
    assert pairs.distinct().count() == functions * len(CHECK_IDS)
    assert CheckResult.objects.filter(run=run).count() == functions * len(CHECK_IDS)
    assert run.results_count == functions * len(CHECK_IDS)
    finished = AuditEvent.objects.filter(action="collection.run_finish", object_id=str(run.pk))
    assert finished.count() == 1
