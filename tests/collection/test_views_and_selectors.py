"""Who may start runs and see them; the selector the gate calls."""

import pytest
from django.utils import timezone

from audit.context import Actor
from audit.models import AuditEvent
from collection.choices import CheckStatus, RunStatus
from collection.models import CheckResult, CollectionRun, ResourceSnapshot
from collection.selectors import latest_check_status
from collection.services import collection_run_start
from portal.errors import DomainError
from tests.factories import AwsTargetFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def target(service):
    return AwsTargetFactory(service=service, regions=["us-east-1"])


def finished_run(target, results, *, status=RunStatus.SUCCEEDED):
    run = CollectionRun.objects.create(
        service=target.service,
        aws_target=target,
        status=status,
        account_id=target.account_id,
        role_arn=target.role_arn,
        regions=target.regions,
        finished_at=timezone.now(),
    )
    for resource, check_id, outcome in results:
        snap, _ = ResourceSnapshot.objects.get_or_create(
            run=run,
            resource_arn=resource,
            defaults={
                "account_id": "1",
                "region": "us-east-1",
                "collector_role_arn": "r",
                "resource_id": resource,
                "facts": {},
                "collected_at": timezone.now(),
                "sha256": "0" * 64,
            },
        )
        CheckResult.objects.create(
            run=run,
            snapshot=snap,
            check_id=check_id,
            resource=resource,
            status=outcome,
            message="m",
            evaluated_at=timezone.now(),
        )
    return run


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        ("owner", True),
        ("teammate", True),
        ("admin", True),
        ("sre", False),
        ("auditor", False),
        ("outsider", False),
    ],
)
def test_only_team_members_and_admins_start_runs(
    cast, role, allowed, target, client_for, django_capture_on_commit_callbacks, monkeypatch
):
    from collection import tasks

    monkeypatch.setattr(tasks.collect_region, "delay", lambda *a, **k: None)
    client = client_for(cast[role])
    response = client.post(f"/collection/targets/{target.pk}/collect/", {"mode": "full"})
    runs = CollectionRun.objects.filter(aws_target=target)
    if role == "outsider":
        assert response.status_code == 404
    assert runs.exists() is allowed
    if allowed:
        assert response["Location"] == f"/collection/runs/{runs.get().pk}/"
        assert AuditEvent.objects.filter(action="collection.run_start").exists()


def test_second_run_while_one_is_active_is_refused(owner, target, monkeypatch):
    from collection import tasks

    monkeypatch.setattr(tasks.collect_region, "delay", lambda *a, **k: None)
    collection_run_start(actor=Actor.for_user(owner), aws_target=target)
    with pytest.raises(DomainError) as exc:
        collection_run_start(actor=Actor.for_user(owner), aws_target=target)
    assert exc.value.code == "conflict"


@pytest.mark.parametrize(
    ("role", "visible"), [("owner", True), ("auditor", True), ("outsider", False)]
)
def test_run_page_and_progress_visible_to_who_sees_the_service(
    cast, role, visible, target, client_for
):
    run = finished_run(target, [("arn:f1", "lambda.tracing_active", CheckStatus.FAIL)])
    client = client_for(cast[role])
    page = client.get(f"/collection/runs/{run.pk}/?status=fail")
    progress = client.get(f"/collection/runs/{run.pk}/progress")
    if visible:
        assert b"lambda.tracing_active" in page.content
        assert b"<progress" in page.content
        assert progress.json()["status"] == "succeeded"
    else:
        assert (page.status_code, progress.status_code) == (404, 404)


def test_latest_check_status_aggregates_latest_run_per_target(
    service, target, django_assert_max_num_queries
):
    other = AwsTargetFactory(
        service=service,
        account_id="210987654321",
        role_arn="arn:aws:iam::210987654321:role/prr-collector",
    )
    finished_run(target, [("arn:f1", "lambda.tracing_active", CheckStatus.FAIL)])
    finished_run(
        target,
        [
            ("arn:f1", "lambda.tracing_active", CheckStatus.PASS),
            ("arn:f1", "logs.retention_set", CheckStatus.PASS),
            ("arn:f1", "esm.failure_destination", CheckStatus.NOT_APPLICABLE),
        ],
    )
    finished_run(
        other,
        [
            ("arn:g1", "logs.retention_set", CheckStatus.ERROR),
            ("arn:g1", "lambda.tracing_active", CheckStatus.PASS),
            ("arn:g2", "lambda.tracing_active", CheckStatus.FAIL),
        ],
    )
    with django_assert_max_num_queries(3):
        latest = latest_check_status(service)
    assert latest["lambda.tracing_active"].status == CheckStatus.FAIL
    assert latest["lambda.tracing_active"].failing_resources == ["arn:g2"]
    assert latest["logs.retention_set"].status == CheckStatus.ERROR
    assert latest["esm.failure_destination"].status == CheckStatus.NOT_APPLICABLE
    assert "lambda.arm64_architecture" not in latest


def test_service_panel_offers_collect_now_to_the_team(owner, sre, target, client_for, rf):
    from django.template.loader import render_to_string

    request = rf.get("/")
    request.user = owner
    html = render_to_string(
        "collection/_service_panel.html",
        {"service": target.service, "request": request},
        request=request,
    )
    assert "Collect now" in html
    request.user = sre
    html = render_to_string(
        "collection/_service_panel.html",
        {"service": target.service, "request": request},
        request=request,
    )
    assert "Collect now" not in html
    assert "Recent runs" in html
