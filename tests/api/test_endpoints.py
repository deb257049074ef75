"""What each endpoint does: writes go through the owning app's services, with their rules;
lists paginate, filter and order; errors have one shape."""

import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from audit.models import AuditEvent
from collection.models import CollectionRun
from evidence.models import Evidence
from reviews.models import Review, Waiver
from services.models import AwsTarget, Service
from tests.factories import AwsTargetFactory, ServiceFactory
from tests.gate.helpers import COMMIT, all_passing, bearer, post_json, service_token


def patch_json(client, url, body):
    import json

    return client.patch(url, data=json.dumps(body), content_type="application/json")


# --- services and AWS targets -------------------------------------------------------------


def test_a_team_member_registers_and_updates_a_service(client_for, owner, team):
    api = client_for(owner)

    created = post_json(
        api,
        "/api/v1/services/",
        {
            "slug": "card-vault",
            "name": "Card Vault",
            "team": "payments",
            "tier": 1,
            "data_classification": "pci",
            "environments": ["staging", "prod"],
            "repository": "acme/card-vault",
            "uses_api_gateway": True,
        },
    )
    updated = patch_json(api, "/api/v1/services/card-vault/", {"tier": 2, "repository_id": "12345"})

    assert created.status_code == 201, created.json()
    assert updated.status_code == 200, updated.json()
    service = Service.objects.get(slug="card-vault")
    assert (service.tier, service.repository_id, service.created_by) == (2, "12345", owner)
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"service.create", "service.update"} <= actions


def test_an_outsider_cannot_register_for_another_team(client_for, outsider, team):
    response = post_json(
        client_for(outsider),
        "/api/v1/services/",
        {"slug": "sneaky", "name": "Sneaky", "team": "payments"},
    )

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "not_allowed"
    assert not Service.objects.filter(slug="sneaky").exists()


def test_invalid_service_fields_are_400_naming_the_field(client_for, owner, team):
    response = post_json(
        client_for(owner),
        "/api/v1/services/",
        {"slug": "Bad Slug!", "name": "x", "team": "payments"},
    )

    assert response.status_code == 400
    assert "slug" in response.json()["error"]["details"]


def test_aws_targets_are_linked_and_updated(client_for, owner, service):
    api = client_for(owner)

    created = post_json(
        api,
        "/api/v1/aws-targets/",
        {
            "service": "payments-api",
            "account_id": "111122223333",
            "regions": ["eu-west-1"],
            "role_arn": "arn:aws:iam::111122223333:role/prr-collector",
            "function_name_prefix": "payments-",
        },
    )
    target_id = created.json()["id"]
    updated = patch_json(api, f"/api/v1/aws-targets/{target_id}/", {"enabled": False})

    assert created.status_code == 201, created.json()
    assert created.json()["external_id"].startswith("prr-")
    assert updated.json()["enabled"] is False
    assert AwsTarget.objects.get().enabled is False


def test_a_role_in_another_account_is_refused(client_for, owner, service):
    response = post_json(
        client_for(owner),
        "/api/v1/aws-targets/",
        {
            "service": "payments-api",
            "account_id": "111122223333",
            "regions": ["eu-west-1"],
            "role_arn": "arn:aws:iam::999988887777:role/prr-collector",
            "function_name_prefix": "payments-",
        },
    )

    assert response.status_code == 400
    assert "role_arn" in response.json()["error"]["details"]


# --- the review workflow, end to end through the API, then the gate ------------------------


def test_a_review_goes_from_open_to_approved_and_the_gate_allows(
    client, owner, sre, security, admin_user, service, catalog
):
    client.force_login(owner)
    review = post_json(
        client, "/api/v1/reviews/", {"service": "payments-api", "environment": "prod"}
    ).json()
    assert review["status"] == "draft"
    link = post_json(
        client,
        "/api/v1/evidence/",
        {"service": "payments-api", "url": "https://wiki.example.com/prr/evidence"},
    ).json()
    for item in review["items"]:
        if not item["mandatory"]:
            continue
        attached = post_json(
            client,
            f"/api/v1/reviews/{review['id']}/items/{item['id']}/evidence/",
            {"evidence": link["id"]},
        )
        assert attached.status_code == 200, attached.json()
        answered = patch_json(
            client, f"/api/v1/reviews/{review['id']}/items/{item['id']}/", {"outcome": "pass"}
        )
        assert answered.json()["outcome"] == "pass"
    submitted = post_json(client, f"/api/v1/reviews/{review['id']}/submit/", {})
    assert submitted.json()["status"] == "submitted"

    for reviewer, role in ((sre, "sre"), (security, "security")):
        client.force_login(reviewer)
        signed = post_json(client, f"/api/v1/reviews/{review['id']}/sign-off/", {"role": role})
        assert signed.status_code == 200, signed.json()
    assert signed.json()["status"] == "approved"
    assert [s["role"] for s in signed.json()["signoffs"]] == ["sre", "security"]

    client.logout()
    all_passing(service)
    raw = service_token(admin_user, [service])[1]
    gate = post_json(
        client,
        "/api/v1/gate",
        {"service": "payments-api", "environment": "prod", "commit_sha": COMMIT},
        **bearer(raw),
    )
    assert gate.json()["decision"] == "allow"
    assert gate.json()["review"] == review["id"]


def test_a_reviewer_rejects_a_submitted_review(client_for, owner, sre, service, catalog):
    from tests.gate.helpers import approve

    version, controls = catalog
    review = approve(
        service,
        version,
        controls,
        status="submitted",
        approved_at=None,
        expires_at=None,
        approval_hash="",
        submitted_by=owner,
    )

    response = post_json(
        client_for(sre),
        f"/api/v1/reviews/{review.pk}/reject/",
        {"comment": "Evidence for PRR-RUN-001 is a screenshot of nothing."},
    )

    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "changes_requested"


def test_maker_checker_holds_over_the_api(client_for, owner, service, catalog):
    from tests.factories import RoleGrantFactory
    from tests.gate.helpers import approve

    RoleGrantFactory(user=owner, role="sre")
    version, controls = catalog
    review = approve(
        service,
        version,
        controls,
        status="submitted",
        approved_at=None,
        expires_at=None,
        approval_hash="",
        submitted_by=owner,
    )

    response = post_json(
        client_for(owner), f"/api/v1/reviews/{review.pk}/sign-off/", {"role": "sre"}
    )

    assert response.status_code == 403
    assert Review.objects.get(pk=review.pk).status == "submitted"


def test_an_item_update_with_a_stale_version_is_409(client_for, owner, service, catalog):
    api = client_for(owner)
    review = post_json(
        api, "/api/v1/reviews/", {"service": "payments-api", "environment": "prod"}
    ).json()
    item = review["items"][0]

    response = patch_json(
        api,
        f"/api/v1/reviews/{review['id']}/items/{item['id']}/",
        {"outcome": "fail", "expected_version": review["version"] + 5},
    )

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "conflict"


# --- waivers ------------------------------------------------------------------------------


def test_waiver_request_decide_and_revoke(client_for, owner, risk, service, catalog):
    expires = (timezone.now() + timezone.timedelta(days=30)).isoformat()
    requested = post_json(
        client_for(owner),
        "/api/v1/waivers/",
        {
            "service": "payments-api",
            "control_code": "PRR-OBS-001",
            "justification": "X-Ray not available in region",
            "compensating_controls": "logs",
            "risk_owner": "Head of Payments",
            "expires_at": expires,
        },
    )
    assert requested.status_code == 201, requested.json()
    waiver_id = requested.json()["id"]

    own = post_json(client_for(owner), f"/api/v1/waivers/{waiver_id}/decide/", {"approve": True})
    decided = post_json(
        client_for(risk),
        f"/api/v1/waivers/{waiver_id}/decide/",
        {"approve": True, "comment": "ok for 30 days"},
    )
    revoked = post_json(
        client_for(risk),
        f"/api/v1/waivers/{waiver_id}/revoke/",
        {"reason": "tracing is available now"},
    )

    assert own.status_code == 403
    assert decided.json()["status"] == "approved"
    assert revoked.json()["status"] == "revoked"
    assert Waiver.objects.get().revoked_by == risk


# --- evidence -----------------------------------------------------------------------------


def test_evidence_upload_and_download(client_for, owner, service):
    api = client_for(owner)
    content = b"%PDF-1.4 a readiness document"

    created = api.post(
        "/api/v1/evidence/",
        {
            "service": "payments-api",
            "title": "Load test report",
            "control_code": "PRR-NFR-001",
            "file": SimpleUploadedFile("load-test.pdf", content, content_type="application/pdf"),
        },
    )
    downloaded = api.get(f"/api/v1/evidence/{created.json()['id']}/download/")

    assert created.status_code == 201, created.json()
    assert created.json()["sha256"] == hashlib.sha256(content).hexdigest()
    assert downloaded.status_code == 200
    assert b"".join(downloaded.streaming_content) == content
    assert downloaded["Content-Disposition"].startswith('attachment; filename="load-test.pdf"')
    assert downloaded["X-Evidence-SHA256"] == created.json()["sha256"]


def test_a_file_whose_content_lies_about_its_type_is_refused(client_for, owner, service):
    response = client_for(owner).post(
        "/api/v1/evidence/",
        {
            "service": "payments-api",
            "file": SimpleUploadedFile("report.pdf", b"MZ\x90\x00binary", content_type="x"),
        },
    )

    assert response.status_code == 400
    assert "file" in response.json()["error"]["details"]
    assert not Evidence.objects.exists()


def test_a_link_has_nothing_to_download(client_for, owner, service):
    api = client_for(owner)
    link = post_json(
        api, "/api/v1/evidence/", {"service": "payments-api", "url": "https://dash.example.com/x"}
    ).json()

    response = api.get(f"/api/v1/evidence/{link['id']}/download/")

    assert response.status_code == 404


# --- collection runs ----------------------------------------------------------------------


def test_a_team_member_starts_a_collection_run(client_for, owner, service):
    target = AwsTargetFactory(service=service)

    response = post_json(client_for(owner), "/api/v1/collection/runs/", {"aws_target": target.pk})

    assert response.status_code == 201, response.json()
    assert response.json()["status"] == "queued"
    assert [r["region"] for r in response.json()["region_runs"]] == ["eu-west-1"]
    assert CollectionRun.objects.get().requested_by == owner


@pytest.mark.parametrize("role", ["sre", "auditor"])
def test_readers_cannot_start_runs(client_for, cast, service, role):
    target = AwsTargetFactory(service=service)

    response = post_json(
        client_for(cast[role]), "/api/v1/collection/runs/", {"aws_target": target.pk}
    )

    assert response.status_code == 403
    assert not CollectionRun.objects.exists()


def test_an_outsider_cannot_even_see_the_target(client_for, outsider, service):
    target = AwsTargetFactory(service=service)

    response = post_json(
        client_for(outsider), "/api/v1/collection/runs/", {"aws_target": target.pk}
    )

    assert response.status_code == 404


# --- lists: pagination, filters, ordering ---------------------------------------------------


def test_lists_paginate_filter_and_order(client_for, admin_user, team):
    for n in range(7):
        ServiceFactory(team=team, slug=f"svc-{n}", name=f"Service {n}", tier=1 + n % 3)
    api = client_for(admin_user)

    page = api.get("/api/v1/services/", {"page_size": 3, "ordering": "-name"}).json()
    tier_two = api.get("/api/v1/services/", {"tier": 2}).json()
    bad_page = api.get("/api/v1/services/", {"page": 99})

    assert page["count"] == 7 and len(page["results"]) == 3 and page["next"]
    assert [s["slug"] for s in page["results"]] == ["svc-6", "svc-5", "svc-4"]
    assert {s["tier"] for s in tier_two["results"]} == {2}
    assert bad_page.status_code == 404
    assert bad_page.json()["error"]["code"] == "not_found"


def test_audit_events_filter_by_service_and_action(client_for, auditor, owner, service):
    post_json(
        client_for(owner),
        "/api/v1/evidence/",
        {"service": "payments-api", "url": "https://dash.example.com/y"},
    )

    events = (
        client_for(auditor)
        .get("/api/v1/audit/events/", {"service": "payments-api", "action": "evidence.create"})
        .json()
    )

    assert events["count"] == 1
    assert events["results"][0]["actor_label"] == "owner"
