"""Picking an automated check result the collector already recorded as evidence."""

import pytest
from django.urls import reverse
from django.utils import timezone

from audit.context import Actor
from evidence import services
from reviews.tasks import expire_due
from tests.factories import AwsTargetFactory
from tests.reviews.conftest import item_for

collection_models = pytest.importorskip("collection.models")


@pytest.fixture
def check_result(service):
    target = AwsTargetFactory(service=service)
    run = collection_models.CollectionRun.objects.create(
        service=service,
        aws_target=target,
        account_id=target.account_id,
        role_arn=target.role_arn,
        status="succeeded",
    )
    return collection_models.CheckResult.objects.create(
        run=run,
        check_id="lambda_timeout_set",
        resource="arn:aws:lambda:eu-west-1:1:function:f",
        status="pass",
        message="Timeout 10s",
        evaluated_at=timezone.now(),
    )


def test_owner_attaches_a_collected_result_from_the_item_page(
    client_for, owner, draft, check_result
):
    item = item_for(draft, "PRR-RUN-001")
    client = client_for(owner)
    page = client.get(reverse("reviews:item", args=[draft.pk, item.pk])).content.decode()
    assert "Use an automated result" in page
    client.post(
        reverse("reviews:item_pick_check", args=[draft.pk, item.pk]),
        {"check_result": check_result.pk, "version": draft.version},
    )
    evidence = item.evidence.get()
    assert (evidence.kind, evidence.check_id, evidence.metadata["status"]) == (
        "automated",
        "lambda_timeout_set",
        "pass",
    )
    assert evidence.source_label == f"collector run {check_result.run_id}"
    assert evidence.collected_at == check_result.evaluated_at


def test_same_result_gives_the_same_evidence(service, check_result):
    actor = Actor.system("collector")
    first = services.evidence_from_check_result(
        actor=actor, service=service, check_result=check_result
    )
    again = services.evidence_from_check_result(
        actor=actor, service=service, check_result=check_result
    )
    assert first.pk == again.pk


def test_expiry_task_runs(approved):
    assert expire_due.delay().get() == {"reviews": 0, "waivers": 0}
