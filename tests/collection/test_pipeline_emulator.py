"""Collection end to end, in process (eager Celery), against the seeded emulator."""

import io
import json
import logging

import pytest
from botocore.exceptions import ClientError
from django.core.management import call_command
from django.db import connection

from audit.context import Actor
from audit.models import AuditEvent
from collection import pipeline, tasks
from collection.choices import CheckStatus, RegionStatus, RunMode, RunStatus
from collection.emulator import CANARY_SECRET
from collection.models import CheckResult, CollectionBatch, ResourceSnapshot
from collection.selectors import latest_check_status
from collection.services import collection_run_start
from collection.signals import run_finished

pytestmark = pytest.mark.django_db
DEMO = {
    "payments-api",
    "payments-legacy",
    "payments-public",
    "payments-bulk-0000",
    "payments-bulk-0001",
}


def start(actor_user, target, capture, **kw):
    with capture(execute=True):
        run = collection_run_start(actor=Actor.for_user(actor_user), aws_target=target, **kw)
    run.refresh_from_db()
    return run


def test_full_run_collects_every_function_and_the_compliant_one_passes(
    emulator, owner, payments_target, django_capture_on_commit_callbacks
):
    run = start(owner, payments_target, django_capture_on_commit_callbacks)

    assert run.status == RunStatus.SUCCEEDED, run.error_summary
    assert set(run.snapshots.values_list("resource_id", flat=True)) == DEMO
    assert (run.functions_discovered, run.functions_evaluated) == (5, 5)
    assert run.results_count == 5 * 53 == CheckResult.objects.filter(run=run).count()
    api = CheckResult.objects.filter(run=run, snapshot__resource_id="payments-api")
    not_passing = {r.check_id: r.message for r in api if r.status not in ("pass", "not_applicable")}
    assert not not_passing
    legacy = {
        r.check_id: r
        for r in CheckResult.objects.filter(run=run, snapshot__resource_id="payments-legacy")
    }
    assert legacy["lambda.runtime_supported"].status == CheckStatus.FAIL
    assert "python3.8" in legacy["lambda.runtime_supported"].message
    assert legacy["lambda.env_no_secrets"].status == CheckStatus.FAIL
    assert "DB_PASSWORD" in legacy["lambda.env_no_secrets"].message
    public = CheckResult.objects.get(
        run=run, snapshot__resource_id="payments-public", check_id="lambda.function_url_auth"
    )
    assert public.status == CheckStatus.FAIL
    assert AuditEvent.objects.filter(action="collection.run_finish", object_id=str(run.pk)).exists()


def test_snapshot_records_provenance(
    emulator, owner, payments_target, django_capture_on_commit_callbacks
):
    run = start(owner, payments_target, django_capture_on_commit_callbacks)
    snap = run.snapshots.get(resource_id="payments-api")
    ops = [c["operation"] for c in snap.api_operations]
    assert ops[:5] == [
        "lambda:GetFunction",
        "lambda:ListAliases",
        "lambda:ListProvisionedConcurrencyConfigs",
        "lambda:ListFunctionEventInvokeConfigs",
        "lambda:GetPolicy",
    ]
    assert all(c["request_id"] for c in snap.api_operations)
    assert snap.collector_role_arn == "arn:aws:iam::123456789012:role/prr-collector"
    assert (snap.account_id, snap.region) == ("123456789012", "us-east-1")
    from collection.facts import facts_sha256

    assert snap.sha256 == facts_sha256(snap.facts)
    bulk = [c["operation"] for c in run.region_runs.get().bulk_operations]
    assert bulk[0] == "sts:AssumeRole"
    assert "iam:GetAccountAuthorizationDetails" in bulk
    assert bulk.count("lambda:ListFunctions") == 1


def test_canary_secret_never_reaches_database_logs_or_exports(
    emulator, owner, payments_target, django_capture_on_commit_callbacks, caplog, client_for
):
    caplog.set_level(logging.DEBUG)
    run = start(owner, payments_target, django_capture_on_commit_callbacks)
    legacy = run.snapshots.get(resource_id="payments-legacy")
    assert "DB_PASSWORD" in legacy.facts["function"]["env_var_names"]

    dump = io.StringIO()
    call_command("dumpdata", "collection", "audit", stdout=dump)
    assert CANARY_SECRET not in dump.getvalue()
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            if table.startswith(("collection_", "audit_")):
                cursor.execute(f'SELECT * FROM "{table}"')  # noqa: S608 - introspected names
                assert CANARY_SECRET not in json.dumps(cursor.fetchall(), default=str)
    assert CANARY_SECRET not in caplog.text
    client = client_for(owner)
    pages = [
        client.get(f"/collection/runs/{run.pk}/").content,
        client.get(f"/collection/runs/{run.pk}/progress").content,
        client.get(f"/collection/snapshots/{legacy.pk}/").content,
    ]
    assert all(CANARY_SECRET.encode() not in page for page in pages)
    assert b"DB_PASSWORD" in pages[2]


def test_incremental_run_reuses_policy_of_unchanged_functions(
    emulator, owner, payments_target, django_capture_on_commit_callbacks
):
    full = start(owner, payments_target, django_capture_on_commit_callbacks)
    inc = start(
        owner, payments_target, django_capture_on_commit_callbacks, mode=RunMode.INCREMENTAL
    )

    assert inc.baseline_run_id == full.pk
    assert inc.status == RunStatus.SUCCEEDED
    snap = inc.snapshots.get(resource_id="payments-api")
    assert snap.reused_from.run_id == full.pk
    ops = [c["operation"] for c in snap.api_operations if c.get("request_id")]
    assert "lambda:GetPolicy" not in ops
    assert snap.facts["policy"] == full.snapshots.get(resource_id="payments-api").facts["policy"]
    full_statuses = dict(
        CheckResult.objects.filter(run=full)
        .values_list("resource", "check_id")
        .annotate()
        .values_list("check_id", "status")
    )
    assert (
        dict(CheckResult.objects.filter(run=inc).values_list("check_id", "status")) == full_statuses
    )


@pytest.fixture
def finished_runs():
    """Ids of runs announced by run_finished during the test; disconnected afterwards so no
    receiver leaks into other tests."""
    received = []

    def receiver(sender, run, **kwargs):
        received.append(run.pk)

    run_finished.connect(receiver, weak=False, dispatch_uid="test-finished-runs")
    yield received
    run_finished.disconnect(dispatch_uid="test-finished-runs")


def test_redelivered_tasks_add_nothing_twice(
    emulator, owner, payments_target, django_capture_on_commit_callbacks, finished_runs
):
    run = start(owner, payments_target, django_capture_on_commit_callbacks)
    region = run.region_runs.get()
    before = (ResourceSnapshot.objects.count(), CheckResult.objects.count())
    finished_runs.clear()  # only redeliveries count from here on
    received = finished_runs
    with django_capture_on_commit_callbacks(execute=True):
        tasks.collect_region.delay(region.pk)
        for batch in CollectionBatch.objects.filter(region_run=region):
            tasks.collect_batch.delay(batch.pk)
    run.refresh_from_db()
    assert (ResourceSnapshot.objects.count(), CheckResult.objects.count()) == before
    assert run.results_count == before[1]
    assert received == []


def test_access_denied_on_assume_role_is_explained_and_never_passes(
    owner,
    payments_target,
    django_capture_on_commit_callbacks,
    monkeypatch,
    settings,
    finished_runs,
):
    def deny(**kwargs):
        raise ClientError(
            {"Error": {"Code": "AccessDenied", "Message": "not authorized"}}, "AssumeRole"
        )

    monkeypatch.setattr(pipeline.collect, "connect", deny)
    received = finished_runs
    run = start(owner, payments_target, django_capture_on_commit_callbacks)

    assert run.status == RunStatus.FAILED
    region = run.region_runs.get()
    assert region.status == RegionStatus.FAILED
    assert region.error_code == "AccessDenied"
    assert region.error_message == (
        "The portal cannot assume role arn:aws:iam::123456789012:role/prr-collector: "
        "check its trust policy and external id."
    )
    assert received == [run.pk]
    latest = latest_check_status(payments_target.service, check_ids=["lambda.tracing_active"])
    assert latest["lambda.tracing_active"].status == CheckStatus.ERROR
