"""A run's bookkeeping stays true when parts of it fail: an error is never carried into a later
run as a pass, and a region is counted done once however many of its batches fail."""

import pytest

from audit.context import Actor
from collection import pipeline
from collection.aws import collect
from collection.choices import CheckStatus, RegionStatus, RunMode, RunStatus
from collection.models import CheckResult, CollectionBatch, RegionRun
from collection.services import collection_run_start
from tests.factories import AwsTargetFactory

pytestmark = pytest.mark.django_db


def start(user, target, capture, **kw):
    with capture(execute=True):
        run = collection_run_start(actor=Actor.for_user(user), aws_target=target, **kw)
    run.refresh_from_db()
    return run


def policy_result(run, function):
    return CheckResult.objects.get(
        run=run, snapshot__resource_id=function, check_id="lambda.policy_not_public"
    )


def test_incremental_run_reads_the_policy_again_when_the_baseline_never_got_it(
    emulator, owner, payments_target, django_capture_on_commit_callbacks, monkeypatch
):
    """The baseline's per-function calls crashed: its snapshots hold ``policy: None`` for want
    of an answer. The next (incremental) run must ask AWS, not lend that None as 'no policy'."""
    real = collect.function_details

    def crash(ctx, name, **kw):
        raise RuntimeError("collector bug")

    monkeypatch.setattr(collect, "function_details", crash)
    broken = start(owner, payments_target, django_capture_on_commit_callbacks)
    assert policy_result(broken, "payments-public").status == CheckStatus.ERROR

    monkeypatch.setattr(collect, "function_details", real)
    inc = start(
        owner, payments_target, django_capture_on_commit_callbacks, mode=RunMode.INCREMENTAL
    )

    assert inc.baseline_run_id == broken.pk
    snap = inc.snapshots.get(resource_id="payments-public")
    assert snap.reused_from_id is None
    assert "lambda:GetPolicy" in [c["operation"] for c in snap.api_operations]
    result = policy_result(inc, "payments-public")
    assert result.status == CheckStatus.FAIL, result.message
    assert "allows anyone" in result.message


def test_baseline_without_a_recorded_getpolicy_is_not_reused(
    emulator, owner, payments_target, django_capture_on_commit_callbacks
):
    full = start(owner, payments_target, django_capture_on_commit_callbacks)
    snap = full.snapshots.get(resource_id="payments-api")
    snap.api_operations = [c for c in snap.api_operations if c["operation"] != "lambda:GetPolicy"]
    snap.save(update_fields=["api_operations"])

    inc = start(
        owner, payments_target, django_capture_on_commit_callbacks, mode=RunMode.INCREMENTAL
    )

    assert inc.snapshots.get(resource_id="payments-api").reused_from_id is None
    assert inc.snapshots.get(resource_id="payments-legacy").reused_from is not None


def test_two_failed_batches_count_their_region_once(db, service, owner, monkeypatch):
    """Two batches of one region are dead-lettered: the run must wait for the other region
    (it used to count the failed region twice and finish while eu-west-1 was running)."""
    from collection import tasks

    monkeypatch.setattr(tasks.collect_region, "delay_on_commit", lambda *a, **kw: None)
    target = AwsTargetFactory(service=service, regions=["us-east-1", "eu-west-1"])
    run = collection_run_start(actor=Actor.for_user(owner), aws_target=target)
    east = RegionRun.objects.get(run=run, region="us-east-1")
    RegionRun.objects.filter(run=run).update(status=RegionStatus.RUNNING, batches_total=2)
    type(run).objects.filter(pk=run.pk).update(status=RunStatus.RUNNING)
    batches = [
        CollectionBatch.objects.create(region_run=east, index=i, payload={"items": [{}] * 5})
        for i in range(2)
    ]

    for batch in batches:
        pipeline.batch_dead_lettered(batch.pk, 5)

    run.refresh_from_db()
    assert run.regions_done == 1
    assert (run.status, run.finished_at) == (RunStatus.RUNNING, None)
    assert RegionRun.objects.get(pk=east.pk).status == RegionStatus.FAILED
    assert RegionRun.objects.get(run=run, region="eu-west-1").status == RegionStatus.RUNNING
