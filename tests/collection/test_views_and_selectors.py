"""Who may start runs and see them; the selector the gate calls."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audit.context import Actor
from audit.models import AuditEvent
from collection.choices import CheckStatus, RegionStatus, RunStatus
from collection.models import CheckResult, CollectionRun, RegionRun, ResourceSnapshot
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


def bulk_calls(region: str, pages: int) -> list[dict]:
    """What the pipeline records for a region: one entry per call, attempts only if retried."""
    calls = [{"operation": "sts:AssumeRole", "request_id": f"sts-{region}"}]
    calls += [
        {"operation": "lambda:ListFunctions", "request_id": f"lf-{region}-{n}"}
        for n in range(pages)
    ]
    calls += [
        {"operation": "cloudwatch:DescribeAlarms", "request_id": f"cw-{region}", "attempts": 3},
        {"operation": "iam:GetAccountAuthorizationDetails", "request_id": f"iam-{region}"},
    ]
    return calls


def run_with_regions(target, regions: dict[str, int]):
    run = finished_run(target, [("arn:f1", "lambda.tracing_active", CheckStatus.PASS)])
    for region, pages in regions.items():
        RegionRun.objects.create(
            run=run,
            region=region,
            status=RegionStatus.SUCCEEDED,
            bulk_operations=bulk_calls(region, pages),
        )
    return run


def test_run_page_shows_each_regions_account_wide_calls_and_request_ids(
    auditor, target, client_for
):
    run = run_with_regions(target, {"eu-west-1": 2, "us-east-1": 1})
    RegionRun.objects.create(run=run, region="ap-south-1", status=RegionStatus.FAILED)

    html = client_for(auditor).get(f"/collection/runs/{run.pk}/").content.decode()

    assert '<details id="aws-calls-eu-west-1"' in html
    assert "<caption>Account-wide AWS calls in eu-west-1</caption>" in html
    assert "<caption>Account-wide AWS calls in us-east-1</caption>" in html
    assert "eu-west-1 (succeeded): 5 calls to 4 operations, 7 attempts" in html
    row = html.split("<code>lambda:ListFunctions</code>")[1].split("</tr>")[0]
    assert "<td>2</td>" in row and "lf-eu-west-1-0" in row and "lf-eu-west-1-1" in row
    alarms = html.split("<code>cloudwatch:DescribeAlarms</code>")[1].split("</tr>")[0]
    assert "3 (2 retries)" in alarms and "cw-eu-west-1" in alarms
    assert 'th scope="row"><code>iam:GetAccountAuthorizationDetails</code>' in html
    failed = html.split('id="aws-calls-ap-south-1"')[1].split("</details>")[0]
    assert "0 calls to 0 operations" in failed and "No account-wide calls recorded." in failed


def test_snapshot_page_links_to_its_regions_account_wide_calls(owner, target, client_for):
    run = run_with_regions(target, {"us-east-1": 1})
    snapshot = run.snapshots.get()

    html = client_for(owner).get(f"/collection/snapshots/{snapshot.pk}/").content.decode()

    assert f'href="/collection/runs/{run.pk}/#aws-calls-us-east-1"' in html


def test_progress_json_does_not_carry_the_recorded_calls(owner, target, client_for):
    run = run_with_regions(target, {"us-east-1": 3})

    body = client_for(owner).get(f"/collection/runs/{run.pk}/progress").json()

    assert [r["region"] for r in body["regions"]] == ["us-east-1"]
    assert "lf-us-east-1-0" not in json.dumps(body)


def test_run_page_and_api_query_count_does_not_grow_with_regions_or_calls(
    owner, target, client_for, django_assert_max_num_queries
):
    small = run_with_regions(target, {"us-east-1": 1})
    big = run_with_regions(
        target, {f"eu-west-{n}": 40 for n in range(1, 4)} | {"us-east-1": 10, "us-west-2": 5}
    )
    client = client_for(owner)
    counts = {}
    for run in (small, big):
        for url in (f"/collection/runs/{run.pk}/", f"/api/v1/collection/runs/{run.pk}/"):
            with CaptureQueriesContext(connection) as queries:
                assert client.get(url).status_code == 200
            counts.setdefault(url.split("/")[1], []).append(len(queries))
    assert counts["collection"][0] == counts["collection"][1]
    assert counts["api"][0] == counts["api"][1]
    with django_assert_max_num_queries(counts["collection"][0]):
        client.get(f"/collection/runs/{big.pk}/")
    with django_assert_max_num_queries(counts["api"][0]):
        client.get(f"/api/v1/collection/runs/{big.pk}/")


def test_api_run_detail_lists_each_regions_calls_with_attempts(auditor, target, client_for):
    run = run_with_regions(target, {"us-east-1": 2})

    body = client_for(auditor).get(f"/api/v1/collection/runs/{run.pk}/").json()
    listing = client_for(auditor).get("/api/v1/collection/runs/", {"aws_target": target.pk}).json()

    [region] = body["region_runs"]
    assert region["bulk_operations"] == [
        {"operation": "sts:AssumeRole", "request_id": "sts-us-east-1", "attempts": 1},
        {"operation": "lambda:ListFunctions", "request_id": "lf-us-east-1-0", "attempts": 1},
        {"operation": "lambda:ListFunctions", "request_id": "lf-us-east-1-1", "attempts": 1},
        {"operation": "cloudwatch:DescribeAlarms", "request_id": "cw-us-east-1", "attempts": 3},
        {
            "operation": "iam:GetAccountAuthorizationDetails",
            "request_id": "iam-us-east-1",
            "attempts": 1,
        },
    ]
    assert "region_runs" not in listing["results"][0]  # the list stays light
