"""Batches that start once the bulk answers are ready stream (evaluate and insert each
function as its answers arrive) and take over batches left waiting as ``fetched``; every
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


def test_pending_batches_stream_and_take_over_fetched_ones_with_golden_results(
    emulator, owner, payments_target, django_capture_on_commit_callbacks, monkeypatch, settings
):
    settings.COLLECTION_BATCH_SIZE = 1
    seen: list[int] = []

    def half_of_the_batches(batch_id):
        # Every other batch is fetched at once, before the bulk phase (it waits as
        # "fetched"); the others stay pending (their messages never come) until the region
        # task streams them after the bulk phase.
        seen.append(batch_id)
        if len(seen) % 2:
            pipeline.batch_collect(batch_id)

    def bulk_only(ctx, rr, functions, all_configs):
        with recording() as log:
            inv, unavailable = pipeline._gather(ctx, rr.run.aws_target, functions, all_configs)
        return inv, unavailable, log.calls

    adopted: list[tuple] = []
    adopt = pipeline._adopt_fetched

    def spy(*args):
        adopted.append(adopt(*args))
        return adopted[-1]

    monkeypatch.setattr(tasks.collect_batch, "delay_on_commit", half_of_the_batches)
    monkeypatch.setattr(pipeline, "_gather_while_fetching", bulk_only)
    monkeypatch.setattr(pipeline, "_adopt_fetched", spy)
    with django_capture_on_commit_callbacks(execute=True):
        run = collection_run_start(actor=Actor.for_user(owner), aws_target=payments_target)
    run.refresh_from_db()

    assert len(seen) >= 4
    assert any(batches == 1 for batches, _, _ in adopted), adopted
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
