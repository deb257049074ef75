"""The review lifecycle through the HTML pages, as every member of the cast."""

from datetime import date, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.choices import Role
from audit.choices import Outcome
from audit.models import AuditEvent
from evidence.models import Evidence
from reviews.choices import ReviewStatus
from reviews.models import Review, SignOff
from tests.factories import RoleGrantFactory
from tests.reviews.conftest import item_for, make_ready

pytestmark = pytest.mark.usefixtures("media")


def page_text(response):
    return response.content.decode()


def test_owner_opens_a_review_from_the_service_reviews_page(client_for, owner, service, catalog):
    client = client_for(owner)
    page = client.get(reverse("reviews:service_reviews", args=[service.slug]))
    assert "Open a review" in page_text(page)
    response = client.post(reverse("reviews:open", args=[service.slug]), {"environment": "prod"})
    review = Review.objects.get()
    assert response.url == review.get_absolute_url()
    body = page_text(client.get(response.url))
    assert "PRR-SEC-001" in body and "Security baseline" in body
    assert 'max="3"' in body  # overall progress bar over three items


def test_outsider_cannot_see_or_open_reviews_of_another_team(client_for, outsider, draft):
    client = client_for(outsider)
    assert client.get(draft.get_absolute_url()).status_code == 404
    slug = draft.service.slug
    assert (
        client.post(reverse("reviews:open", args=[slug]), {"environment": "dev"}).status_code == 404
    )
    assert Review.objects.count() == 1


def test_auditor_reads_but_gets_no_forms(client_for, auditor, submitted):
    body = page_text(client_for(auditor).get(submitted.get_absolute_url()))
    assert "Review #" in body
    assert "Sign off</button>" not in body and "Submit for review" not in body
    response = client_for(auditor).post(
        reverse("reviews:signoff", args=[submitted.pk]), {"role": "sre"}, follow=True
    )
    assert "Only SRE, security or risk reviewers" in page_text(response)
    assert not SignOff.objects.exists()
    assert AuditEvent.objects.filter(action="review.signoff", outcome=Outcome.DENIED).exists()


def test_owner_works_an_item_with_upload_and_outcome(client_for, owner, draft):
    client = client_for(owner)
    item = item_for(draft, "PRR-SEC-001")
    url = reverse("reviews:item", args=[draft.pk, item.pk])
    upload = SimpleUploadedFile("policy.json", b'{"Statement": []}', "application/json")
    response = client.post(
        reverse("reviews:item_upload", args=[draft.pk, item.pk]),
        {"file": upload, "title": "IAM policy", "version": draft.version},
        follow=True,
    )
    assert "Attached IAM policy" in page_text(response)
    draft.refresh_from_db()
    client.post(
        reverse("reviews:item_update", args=[draft.pk, item.pk]),
        {"outcome": "pass", "version": draft.version},
    )
    item.refresh_from_db()
    assert item.outcome == "pass"
    assert item.evidence.get().original_filename == "policy.json"
    assert "ready" in page_text(client.get(url))


def test_upload_with_mismatched_type_is_refused_with_a_message(client_for, owner, draft):
    item = item_for(draft, "PRR-SEC-001")
    upload = SimpleUploadedFile("report.pdf", b"\x89PNG\r\n\x1a\n....", "application/pdf")
    response = client_for(owner).post(
        reverse("reviews:item_upload", args=[draft.pk, item.pk]), {"file": upload}, follow=True
    )
    assert "named .pdf but its content is a PNG image" in page_text(response)
    assert not item.evidence.exists()


def test_submit_with_missing_evidence_shows_what_is_missing(client_for, teammate, draft):
    response = client_for(teammate).post(
        reverse("reviews:submit", args=[draft.pk]), {"version": draft.version}, follow=True
    )
    body = page_text(response)
    assert "Cannot submit: 2 mandatory item(s) are not ready" in body
    assert "PRR-RUN-001" in body
    draft.refresh_from_db()
    assert draft.status == ReviewStatus.DRAFT


def test_whole_lifecycle_through_the_pages(client_for, owner, sre, security, draft):
    make_ready(draft, owner)
    client = client_for(owner)
    client.post(reverse("reviews:submit", args=[draft.pk]), {"version": draft.version})
    draft.refresh_from_db()
    assert draft.status == ReviewStatus.SUBMITTED

    client = client_for(sre)
    queue = page_text(client.get(reverse("reviews:queue")))
    assert f"#{draft.pk}" in queue
    page = page_text(client.get(draft.get_absolute_url()))
    assert "still needed" in page and "Sign off</button>" in page
    item = item_for(draft, "PRR-SEC-001")
    client.post(
        reverse("reviews:item_verdict", args=[draft.pk, item.pk]),
        {"verdict": "accepted", "version": draft.version},
    )
    draft.refresh_from_db()
    client.post(
        reverse("reviews:signoff", args=[draft.pk]), {"role": "sre", "version": draft.version}
    )
    # The SRE has signed: the queue no longer shows the review to them.
    assert f"#{draft.pk}</a>" not in page_text(client.get(reverse("reviews:queue")))

    client = client_for(security)
    draft.refresh_from_db()
    client.post(
        reverse("reviews:signoff", args=[draft.pk]), {"role": "security", "version": draft.version}
    )
    draft.refresh_from_db()
    assert draft.status == ReviewStatus.APPROVED
    body = page_text(client.get(draft.get_absolute_url()))
    assert "Approved until" in body and draft.approval_hash in body


def test_stale_page_cannot_sign_off(client_for, sre, security, submitted):
    seen = submitted.version
    client_for(security).post(
        reverse("reviews:request_changes", args=[submitted.pk]),
        {"comment": "Missing runbook", "version": seen},
    )
    response = client_for(sre).post(
        reverse("reviews:signoff", args=[submitted.pk]),
        {"role": "sre", "version": seen},
        follow=True,
    )
    assert "changed since you loaded it" in page_text(response)
    submitted.refresh_from_db()
    assert submitted.status == ReviewStatus.CHANGES_REQUESTED
    assert not SignOff.objects.exists()


@pytest.mark.parametrize("who", ["owner", "teammate"])
def test_owning_team_cannot_sign_off_through_the_page(who, cast, client_for, submitted):
    RoleGrantFactory(user=cast[who], role=Role.SRE)
    response = client_for(cast[who]).post(
        reverse("reviews:signoff", args=[submitted.pk]), {"role": "sre"}, follow=True
    )
    assert "outside the team" in page_text(response)
    assert not SignOff.objects.exists()


def test_queue_hides_own_team_reviews(client_for, teammate, submitted):
    RoleGrantFactory(user=teammate, role=Role.SRE)
    assert f"#{submitted.pk}" not in page_text(client_for(teammate).get(reverse("reviews:queue")))


def test_queue_filters_by_tier(client_for, sre, submitted):
    client = client_for(sre)
    assert f"#{submitted.pk}" in page_text(client.get(reverse("reviews:queue"), {"tier": "1"}))
    assert f"#{submitted.pk}" not in page_text(client.get(reverse("reviews:queue"), {"tier": "2"}))


def test_expired_and_revoked_reviews_show_as_such(client_for, admin_user, owner, approved):
    client = client_for(admin_user)
    client.post(reverse("reviews:revoke", args=[approved.pk]), {"reason": "Incident 7"})
    approved.refresh_from_db()
    assert approved.status == ReviewStatus.REVOKED
    body = page_text(
        client_for(owner).get(reverse("reviews:service_reviews", args=["payments-api"]))
    )
    assert "Revoked" in body and "Incident 7" in body


def test_waiver_request_and_decision_pages(client_for, owner, risk, service, catalog):
    client = client_for(owner)
    response = client.post(
        reverse("reviews:waiver_request", args=[service.slug]),
        {
            "control_code": "PRR-SEC-001",
            "justification": "Rework next quarter",
            "compensating_controls": "SCP",
            "risk_owner": "CRO",
            "expires_on": "2099-01-01",
        },
        follow=True,
    )
    assert "at most 90 days" in page_text(response)
    response = client.post(
        reverse("reviews:waiver_request", args=[service.slug]),
        {
            "control_code": "PRR-SEC-001",
            "justification": "Rework next quarter",
            "compensating_controls": "SCP",
            "risk_owner": "CRO",
            "expires_on": (date.today() + timedelta(days=30)).isoformat(),
        },
    )
    waiver = service.waivers.get()
    assert response.url == waiver.get_absolute_url()
    assert "Record decision" not in page_text(client.get(response.url))
    risk_client = client_for(risk)
    assert "Record decision" in page_text(risk_client.get(waiver.get_absolute_url()))
    risk_client.post(
        reverse("reviews:waiver_decide", args=[waiver.pk]), {"decision": "approve", "comment": ""}
    )
    waiver.refresh_from_db()
    assert waiver.status == "approved" and waiver.decided_by == risk


def test_upload_to_a_review_no_longer_editable_stores_no_evidence(client_for, owner, draft):
    item = item_for(draft, "PRR-SEC-001")
    stale = draft.version
    Review.objects.filter(pk=draft.pk).update(status="submitted", version=stale + 1)
    upload = SimpleUploadedFile("policy.json", b'{"Statement": []}', "application/json")
    response = client_for(owner).post(
        reverse("reviews:item_upload", args=[draft.pk, item.pk]),
        {"file": upload, "title": "IAM policy", "version": stale},
        follow=True,
    )
    assert "The review changed since you loaded it" in page_text(response)
    assert not Evidence.objects.exists()
    assert not AuditEvent.objects.filter(action="evidence.create").exists()
    assert AuditEvent.objects.filter(
        action="review.evidence_attach", outcome=Outcome.DENIED
    ).exists()
