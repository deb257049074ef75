"""Reads the gate and the pages rely on, and drift detection."""

from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.utils import timezone

from reviews import drift, selectors, workflow
from reviews.choices import ReviewStatus, WaiverStatus
from reviews.models import Waiver
from tests.factories import WaiverFactory
from tests.reviews.conftest import act


def test_gate_review_prefers_the_approval_over_a_newer_draft(approved, owner, admin_user):
    newer = workflow.review_open(actor=act(owner), service=approved.service, environment="prod")
    assert selectors.gate_review(approved.service, "prod") == approved
    assert selectors.gate_review(approved.service, "staging") is None
    workflow.review_revoke(actor=act(admin_user), review=approved, reason="test")
    assert selectors.gate_review(approved.service, "prod") == newer


def test_gate_review_shows_expiry_before_the_task_runs(approved, django_assert_num_queries):
    service = approved.service
    with django_assert_num_queries(1):
        review = selectors.gate_review(service, "prod")
    assert review.is_valid_at(timezone.now())
    assert not review.is_valid_at(review.expires_at)


def test_active_waivers_ignore_expired_and_unapproved(
    service, risk, owner, django_assert_num_queries
):
    now = timezone.now()
    WaiverFactory(
        service=service, control_code="A", requested_by=owner, status="approved", decided_by=risk
    )
    WaiverFactory(service=service, control_code="B", requested_by=owner)  # requested only
    expired = WaiverFactory(
        service=service, control_code="C", requested_by=owner, status="approved", decided_by=risk
    )
    Waiver.objects.filter(pk=expired.pk).update(
        created_at=now - timedelta(days=2), expires_at=now - timedelta(seconds=1)
    )
    with django_assert_num_queries(1):
        active = selectors.active_waivers(service, now)
    assert set(active) == {"A"}
    assert expired.status == WaiverStatus.APPROVED  # the table still says approved


def test_reviewer_queue_oldest_first_and_only_what_they_can_act_on(submitted, sre, security):
    assert list(selectors.reviewer_queue(sre)) == [submitted]
    workflow.signoff_record(actor=act(sre), review=submitted, role="sre")
    assert list(selectors.reviewer_queue(sre)) == []
    assert list(selectors.reviewer_queue(security)) == [submitted]


def test_drift_revokes_an_approval_whose_mandatory_check_now_fails(
    approved, monkeypatch, django_capture_on_commit_callbacks
):
    from django.core import mail

    failing = SimpleNamespace(
        status="fail", evaluated_at=timezone.now(), run_id=1, failing_resources=["fn-a"]
    )
    monkeypatch.setattr(
        drift, "_latest_check_status", lambda service, ids: {"lambda_timeout_set": failing}
    )
    with django_capture_on_commit_callbacks(execute=True):
        revoked = drift.review_check_drift(service=approved.service)
    assert revoked == [approved]
    approved.refresh_from_db()
    assert approved.status == ReviewStatus.REVOKED
    assert approved.revoked_reason == "drift: PRR-RUN-001 failing"
    assert "revoked" in mail.outbox[-1].subject


def test_drift_spares_a_waived_control(approved, monkeypatch, risk, owner):
    WaiverFactory(
        service=approved.service,
        control_code="PRR-RUN-001",
        requested_by=owner,
        status="approved",
        decided_by=risk,
    )
    monkeypatch.setattr(
        drift,
        "_latest_check_status",
        lambda service, ids: {"lambda_timeout_set": SimpleNamespace(status="fail")},
    )
    assert drift.review_check_drift(service=approved.service) == []
    approved.refresh_from_db()
    assert approved.status == ReviewStatus.APPROVED


def test_run_finished_signal_triggers_drift_check(approved, monkeypatch):
    signals = pytest.importorskip("collection.signals")
    monkeypatch.setattr(
        drift,
        "_latest_check_status",
        lambda service, ids: {"lambda_timeout_set": SimpleNamespace(status="fail")},
    )
    signals.run_finished.send(sender=None, run=SimpleNamespace(service=approved.service))
    approved.refresh_from_db()
    assert approved.status == ReviewStatus.REVOKED


def test_approval_hash_detects_a_change_that_bypassed_the_workflow(approved):
    assert selectors.approval_intact(approved)
    approved.items.filter(control__code="PRR-OBS-001").update(outcome="fail")
    assert not selectors.approval_intact(approved)
