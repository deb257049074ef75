"""A pending batch is claimed before its per-function calls: the region task (which fetches
the last batches itself while the bulk calls run) and the batch's own task never both call
AWS for the same functions; a redelivered copy of the holder takes over at once, and a claim
whose holder never returns lapses after its lease."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from audit.context import Actor
from collection import pipeline, tasks
from collection.aws.clients import recording
from collection.choices import BatchStatus, RunStatus
from collection.models import CollectionBatch, ResourceSnapshot
from collection.services import collection_run_start
from tests.collection.test_golden_results import GOLDEN, outcomes

pytestmark = pytest.mark.django_db


@pytest.fixture
def parked_run(
    emulator, owner, payments_target, django_capture_on_commit_callbacks, monkeypatch, settings
):
    """A run whose bulk phase is done and whose batch messages have not run yet."""
    settings.COLLECTION_BATCH_SIZE = 2
    queued: list[int] = []

    def bulk_only(ctx, rr, functions, all_configs, claimant):
        with recording() as log:
            inv, unavailable = pipeline._gather(ctx, rr.run.aws_target, functions, all_configs)
        return inv, unavailable, log.calls

    monkeypatch.setattr(tasks.collect_batch, "delay_on_commit", queued.append)
    monkeypatch.setattr(pipeline, "_gather_while_fetching", bulk_only)
    with django_capture_on_commit_callbacks(execute=True):
        run = collection_run_start(actor=Actor.for_user(owner), aws_target=payments_target)
    monkeypatch.undo()
    assert len(queued) >= 2
    return run, queued


def _fetches(monkeypatch) -> list[str]:
    called: list[str] = []
    fetch_one = pipeline._fetch_one

    def spy(ctx, run, fn, baseline):
        called.append(fn["name"])
        return fetch_one(ctx, run, fn, baseline)

    monkeypatch.setattr(pipeline, "_fetch_one", spy)
    return called


def test_a_batch_claimed_by_another_task_is_left_to_it(parked_run, monkeypatch):
    run, queued = parked_run
    batch_id = queued[0]
    assert pipeline._claim(batch_id, "region:r1")
    called = _fetches(monkeypatch)

    pipeline.batch_collect(batch_id, claimant="batch:b1")

    batch = CollectionBatch.objects.get(pk=batch_id)
    assert called == []
    assert batch.status == BatchStatus.PENDING and batch.claimed_by == "region:r1"
    assert not ResourceSnapshot.objects.filter(run=run).exists()
    assert not pipeline._claim(batch_id, "batch:b1")
    assert pipeline._claim(batch_id, "region:r1")  # a redelivered copy of the holder


def test_the_holder_and_a_lapsed_claim_get_the_batch_done(parked_run, monkeypatch):
    run, queued = parked_run
    first, second = queued[0], queued[-1]
    pipeline._claim(first, "batch:b1")
    pipeline._claim(second, "region:gone")
    CollectionBatch.objects.filter(pk=second).update(
        claimed_until=timezone.now() - timedelta(seconds=1)
    )
    called = _fetches(monkeypatch)

    pipeline.batch_collect(first, claimant="batch:b1")
    pipeline.batch_collect(second, claimant="batch:b2")

    assert set(
        CollectionBatch.objects.filter(pk__in=[first, second]).values_list("status", flat=True)
    ) == {BatchStatus.DONE}
    assert len(called) == len(set(called)) == ResourceSnapshot.objects.filter(run=run).count()


def test_a_redelivered_region_task_gives_back_its_claims_and_the_run_completes(
    parked_run, monkeypatch, golden_day
):
    run, queued = parked_run
    for batch_id in queued:
        pipeline._claim(batch_id, "region:r1")  # it died while fetching all of them
    called = _fetches(monkeypatch)

    pipeline.region_collect(run.region_runs.get().pk, claimant="region:r1")

    run.refresh_from_db()
    assert run.status in {RunStatus.SUCCEEDED, RunStatus.PARTIAL}
    assert set(
        CollectionBatch.objects.filter(region_run__run=run).values_list("status", flat=True)
    ) == {BatchStatus.DONE}
    assert len(called) == len(set(called)) == run.functions_discovered
    assert outcomes(run) == json.loads(GOLDEN.read_text())


def test_the_region_task_evaluates_fetched_batches_while_a_pending_batch_streams(
    emulator, owner, payments_target, django_capture_on_commit_callbacks, monkeypatch, settings
):
    settings.COLLECTION_BATCH_SIZE = 2
    events: list[tuple[str, int]] = []
    gather = pipeline._gather_while_fetching
    stream, write = pipeline._stream_batch, pipeline._write_batch

    def fetch_first_batches_then_bulk(ctx, rr, functions, all_configs, claimant):
        # As if the region task had fetched the first two batches during the bulk phase.
        for batch_id in rr.batches.order_by("index").values_list("pk", flat=True)[:2]:
            pipeline.batch_collect(batch_id, ctx=ctx, claimant=claimant)
        monkeypatch.setattr(pipeline.threading.Thread, "is_alive", lambda self: False)
        return gather(ctx, rr, functions, all_configs, claimant)

    def stream_spy(batch, *args):
        events.append(("stream", batch.index))
        stream(batch, *args)
        events.append(("streamed", batch.index))

    def write_spy(batch, *args):
        events.append(("write", batch.index))
        return write(batch, *args)

    monkeypatch.setattr(tasks.collect_batch, "delay_on_commit", lambda batch_id: None)
    monkeypatch.setattr(pipeline, "_gather_while_fetching", fetch_first_batches_then_bulk)
    monkeypatch.setattr(pipeline, "_stream_batch", stream_spy)
    monkeypatch.setattr(pipeline, "_write_batch", write_spy)
    with django_capture_on_commit_callbacks(execute=True):
        run = collection_run_start(actor=Actor.for_user(owner), aws_target=payments_target)

    last = run.region_runs.get().batches.order_by("-index").first().index
    assert events[:4] == [("stream", last), ("write", 0), ("write", 1), ("streamed", last)]
    statuses = dict(
        CollectionBatch.objects.filter(region_run__run=run).values_list("index", "status")
    )
    assert statuses[0] == statuses[1] == statuses[last] == BatchStatus.DONE
