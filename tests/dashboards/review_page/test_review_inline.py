"""Inline (HTMX) editing on the review page, evidence preview, and the service page."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from audit.models import AuditEvent
from tests.reviews.conftest import item_for

HX = {"HTTP_HX_REQUEST": "true"}


def inline_url(review, item):
    return reverse("reviews:item_inline", args=[review.pk, item.pk])


def test_owner_sets_an_outcome_inline_and_gets_rows_and_progress_back(draft, owner, client_for):
    item = item_for(draft, "PRR-OBS-001")
    response = client_for(owner).post(
        inline_url(draft, item),
        {
            "action": "outcome",
            "outcome": "not_applicable",
            "reason": "No UI",
            "version": draft.version,
        },
        **HX,
    )
    body = response.content.decode()
    item.refresh_from_db()
    assert (item.outcome, item.reason) == ("not_applicable", "No UI")
    assert f'<tbody id="item-{item.pk}"' in body and "Outcome saved." in body
    assert 'id="progress-section" hx-swap-oob="true"' in body
    draft.refresh_from_db()
    assert f'id="review-version" name="version" value="{draft.version}" hx-swap-oob="true"' in body


def test_stale_version_is_refused_inline_with_a_readable_message(draft, owner, client_for):
    item = item_for(draft, "PRR-OBS-001")
    response = client_for(owner).post(
        inline_url(draft, item),
        {"action": "outcome", "outcome": "pass", "version": draft.version - 1 + 100},
        **HX,
    )
    assert "The review changed since you loaded it" in response.content.decode()
    item.refresh_from_db()
    assert item.outcome == "pending"


def test_owner_attaches_a_link_and_uploads_a_file_inline_and_previews_it(draft, owner, client_for):
    client = client_for(owner)
    item = item_for(draft, "PRR-SEC-001")
    client.post(
        inline_url(draft, item),
        {"action": "link", "url": "https://wiki.example.com/iam", "title": "IAM review"},
        **HX,
    )
    upload = SimpleUploadedFile("policy.json", b'{"Version": "2012-10-17"}', "application/json")
    response = client.post(
        inline_url(draft, item), {"action": "upload", "file": upload, "title": "Policy"}, **HX
    )
    assert "Attached Policy." in response.content.decode()
    evidence = {e.title: e for e in item.evidence.all()}
    assert set(evidence) == {"IAM review", "Policy"}
    preview = client.get(
        reverse("reviews:evidence_preview", args=[draft.pk, item.pk, evidence["Policy"].pk])
    ).content.decode()
    assert "2012-10-17" in preview and "<script" not in preview
    assert AuditEvent.objects.filter(action="review.evidence_attach").count() == 2


def test_outsider_cannot_edit_inline(draft, outsider, client_for):
    item = item_for(draft, "PRR-OBS-001")
    response = client_for(outsider).post(
        inline_url(draft, item), {"action": "outcome", "outcome": "pass"}, **HX
    )
    assert response.status_code == 404


def test_teammate_edit_is_refused_when_the_review_is_submitted(submitted, teammate, client_for):
    item = item_for(submitted, "PRR-OBS-001")
    body = (
        client_for(teammate)
        .post(inline_url(submitted, item), {"action": "outcome", "outcome": "fail"}, **HX)
        .content.decode()
    )
    assert "Cannot change the checklist: the review is submitted" in body


def test_reviewer_comments_inline(submitted, sre, client_for):
    item = item_for(submitted, "PRR-SEC-001")
    body = (
        client_for(sre)
        .post(inline_url(submitted, item), {"action": "comment", "body": "Show the policy"}, **HX)
        .content.decode()
    )
    assert "Comment added." in body and "Show the policy" in body


def test_without_htmx_the_browser_is_sent_back_to_the_review(draft, owner, client_for):
    item = item_for(draft, "PRR-OBS-001")
    response = client_for(owner).post(
        inline_url(draft, item), {"action": "outcome", "outcome": "fail"}
    )
    assert response.status_code == 302 and response.url == draft.get_absolute_url()


def test_review_page_shows_audit_trail_export_and_who_is_still_needed(
    submitted, auditor, client_for
):
    body = client_for(auditor).get(submitted.get_absolute_url()).content.decode()
    assert "Audit trail" in body and "review.submit" in body
    assert reverse("exports:review_export", args=[submitted.pk]) in body
    assert "an independent Security reviewer from outside Payments" in body


@pytest.mark.parametrize("who,sees_audit", [("owner", False), ("auditor", True)])
def test_service_page_sections(approved, cast, client_for, who, sees_audit):
    response = client_for(cast[who]).get(approved.service.get_absolute_url())
    body = response.content.decode()
    for heading in ("Readiness by environment", "Drift since approval", "Gate decisions"):
        assert heading in body
    assert ('id="audit-h"' in body) is sees_audit
    assert reverse("exports:service_export", args=[approved.service.slug]) in body
    prod = next(e for e in response.context["envs"].environments if e.environment == "prod")
    assert prod.status == "approved" and prod.review_id == approved.pk
