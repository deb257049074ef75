"""Batches that start once the bulk answers are ready stream (claim, then evaluate and insert
each function as its answers arrive) next to batches fetched before the bulk phase; every
result stays the golden one and every counter adds up."""

import json

import pytest

from audit.context import Actor
from collection import pipeline, tasks
from collection.aws.clients import recording
from collection.choices import BatchStatus, RunStatus
from collection.models import CheckResult, CollectionBatch, ResourceSnapshot
from collection.services import collection_run_start
from tests.collection.test_golden_results import GOLDEN, outcomes

pytestmark = pytest.mark.django_db


def test_batches_started_after_the_bulk_phase_stream_with_golden_results(
    emulator,
    owner,
    payments_target,
    django_capture_on_commit_callbacks,
    monkeypatch,
    settings,
    golden_day,
):
    settings.COLLECTION_BATCH_SIZE = 1
    seen: list[int] = []

    def half_of_the_batches(batch_id):
        # Every other batch is fetched at once, before the bulk phase (it waits as
        # "fetched"); the others' messages arrive after the bulk phase: they stream.
        seen.append(batch_id)
        if len(seen) % 2:
            pipeline.batch_collect(batch_id)

    def bulk_only(ctx, rr, functions, all_configs, *_claimant):
        with recording() as log:
            inv, unavailable = pipeline._gather(ctx, rr.run.aws_target, functions, all_configs)
        return inv, unavailable, log.calls

    streamed: list[int] = []
    stream = pipeline._stream_batch

    def spy(batch, *args):
        streamed.append(batch.pk)
        return stream(batch, *args)

    monkeypatch.setattr(tasks.collect_batch, "delay_on_commit", half_of_the_batches)
    monkeypatch.setattr(pipeline, "_gather_while_fetching", bulk_only)
    monkeypatch.setattr(pipeline, "_stream_batch", spy)
    with django_capture_on_commit_callbacks(execute=True):
        run = collection_run_start(actor=Actor.for_user(owner), aws_target=payments_target)
    for batch_id in seen[1::2]:
        pipeline.batch_collect(batch_id)
        pipeline.batch_collect(batch_id)  # a redelivered copy writes nothing
    run.refresh_from_db()

    assert len(seen) >= 4
    # The region task streams the last pending batch itself while it evaluates the batches
    # fetched before the bulk phase; the test's late messages stream the others.
    assert streamed[0] == max(seen[1::2])
    assert sorted(streamed) == sorted(set(streamed)) == seen[1::2]
    assert set(
        CollectionBatch.objects.filter(region_run__run=run).values_list("status", flat=True)
    ) == {BatchStatus.DONE}
    assert outcomes(run) == json.loads(GOLDEN.read_text())
    snapshots = ResourceSnapshot.objects.filter(run=run).count()
    assert run.status in {RunStatus.SUCCEEDED, RunStatus.PARTIAL}
    assert run.functions_evaluated == snapshots == run.functions_discovered
    assert run.results_count == CheckResult.objects.filter(run=run).count()
    region = run.region_runs.get()
    assert region.batches_done == region.batches_total == len(seen)
