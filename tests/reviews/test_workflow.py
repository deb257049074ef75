"""The review lifecycle through the service layer, and every forbidden path."""

from datetime import timedelta

import pytest
from django.core import mail
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.choices import Role
from audit.choices import Outcome
from audit.models import AuditEvent
from portal.errors import DomainError
from reviews import workflow
from reviews.choices import ItemOutcome, ReviewStatus, Verdict, WaiverStatus
from reviews.models import Review, SignOff, Waiver
from tests.factories import EvidenceFactory, RoleGrantFactory, WaiverFactory
from tests.reviews.conftest import act, item_for, make_ready


def denials(action):
    return list(AuditEvent.objects.filter(action=action, outcome=Outcome.DENIED))


# --- opening ------------------------------------------------------------------------------


def test_open_review_has_one_item_per_applicable_control_with_mandatory_marked(draft):
    items = {i.control.code: i.mandatory for i in draft.items.select_related("control")}
    assert items == {"PRR-SEC-001": True, "PRR-RUN-001": True, "PRR-OBS-001": False}
    assert draft.status == ReviewStatus.DRAFT
    assert draft.catalog_version.version == "2026.1"
    assert AuditEvent.objects.filter(action="review.open", object_id=str(draft.pk)).exists()


def test_review_for_unknown_environment_is_refused(catalog, service, owner):
    with pytest.raises(DomainError, match="no environment"):
        workflow.review_open(actor=act(owner), service=service, environment="moon")
    assert not Review.objects.exists()


def test_second_open_review_for_same_environment_is_refused(draft, service, teammate):
    with pytest.raises(DomainError, match=f"#{draft.pk} is already open"):
        workflow.review_open(actor=act(teammate), service=service, environment="prod")
    assert Review.objects.count() == 1


@pytest.mark.parametrize("who", ["outsider", "sre", "auditor"])
def test_only_owning_team_opens_reviews(who, cast, catalog, service):
    with pytest.raises(DomainError) as exc:
        workflow.review_open(actor=act(cast[who]), service=service, environment="prod")
    assert exc.value.code == "not_allowed"
    assert not Review.objects.exists()
    assert denials("review.open")[0].actor_label == who


# --- the checklist ------------------------------------------------------------------------


def test_not_applicable_needs_a_reason(draft, owner):
    item = item_for(draft, "PRR-OBS-001")
    with pytest.raises(DomainError, match="Reason is required"):
        workflow.item_update(actor=act(owner), item=item, outcome=ItemOutcome.NOT_APPLICABLE)
    workflow.item_update(
        actor=act(owner), item=item, outcome=ItemOutcome.NOT_APPLICABLE, reason="No dashboards"
    )
    item.refresh_from_db()
    assert (item.outcome, item.reason) == ("not_applicable", "No dashboards")


def test_mandatory_item_cannot_be_not_applicable(draft, owner):
    item = item_for(draft, "PRR-SEC-001")
    with pytest.raises(DomainError, match="mandatory"):
        workflow.item_update(
            actor=act(owner), item=item, outcome=ItemOutcome.NOT_APPLICABLE, reason="meh"
        )


def test_teammate_may_work_the_checklist_outsider_may_not(draft, teammate, outsider):
    item = item_for(draft, "PRR-OBS-001")
    workflow.item_update(actor=act(teammate), item=item, outcome=ItemOutcome.FAIL)
    with pytest.raises(DomainError):
        workflow.item_update(actor=act(outsider), item=item, outcome=ItemOutcome.PASS)
    item.refresh_from_db()
    assert item.outcome == ItemOutcome.FAIL
    assert denials("review.item_update")[0].actor_label == "outsider"


def test_evidence_of_another_service_cannot_be_attached(draft, owner, other_service):
    foreign = EvidenceFactory(service=other_service)
    with pytest.raises(DomainError, match="another service"):
        workflow.item_attach_evidence(
            actor=act(owner), item=item_for(draft, "PRR-SEC-001"), evidence=foreign
        )


def test_stale_version_is_refused(draft, owner):
    with pytest.raises(DomainError) as exc:
        workflow.item_update(
            actor=act(owner),
            item=item_for(draft, "PRR-OBS-001"),
            outcome=ItemOutcome.PASS,
            expected_version=draft.version - 1,
        )
    assert exc.value.code == "conflict"


# --- submission ---------------------------------------------------------------------------


def test_submit_with_missing_evidence_lists_what_is_missing(draft, owner):
    with pytest.raises(DomainError) as exc:
        workflow.review_submit(actor=act(owner), review=draft)
    missing = {m["control"] for m in exc.value.details["missing"]}
    assert missing == {"PRR-SEC-001", "PRR-RUN-001"}
    assert "PRR-SEC-001: not answered" in exc.value.message
    draft.refresh_from_db()
    assert draft.status == ReviewStatus.DRAFT
    assert denials("review.submit")


def test_submit_with_pass_but_stale_evidence_is_refused(draft, owner):
    make_ready(draft, owner)
    item = item_for(draft, "PRR-RUN-001")  # freshness 7 days
    old = EvidenceFactory(service=draft.service, collected_at=timezone.now() - timedelta(days=8))
    workflow.item_detach_evidence(actor=act(owner), item=item, evidence=item.evidence.first())
    workflow.item_attach_evidence(actor=act(owner), item=item, evidence=old)
    with pytest.raises(DomainError, match="PRR-RUN-001: no fresh passing evidence"):
        workflow.review_submit(actor=act(owner), review=draft)


def test_failing_automated_result_does_not_count_as_passing_evidence(draft, owner):
    make_ready(draft, owner)
    item = item_for(draft, "PRR-RUN-001")
    workflow.item_detach_evidence(actor=act(owner), item=item, evidence=item.evidence.first())
    failing = EvidenceFactory(
        service=draft.service,
        kind="automated",
        url="",
        storage_name="evidence/aa/x",
        metadata={"status": "fail"},
    )
    workflow.item_attach_evidence(actor=act(owner), item=item, evidence=failing)
    with pytest.raises(DomainError, match="PRR-RUN-001"):
        workflow.review_submit(actor=act(owner), review=draft)


def test_submit_when_ready(draft, teammate, owner):
    make_ready(draft, owner)
    review = workflow.review_submit(actor=act(teammate), review=draft)
    assert review.status == ReviewStatus.SUBMITTED
    assert review.submitted_by == teammate
    assert AuditEvent.objects.filter(action="review.submit", outcome=Outcome.SUCCESS).exists()


def test_submitted_review_is_locked_for_owners(submitted, owner):
    with pytest.raises(DomainError) as exc:
        workflow.item_update(
            actor=act(owner), item=item_for(submitted, "PRR-OBS-001"), outcome=ItemOutcome.FAIL
        )
    assert exc.value.code == "invalid_state"


# --- waivers ------------------------------------------------------------------------------


def _request_waiver(service, owner, code="PRR-SEC-001", days=30):
    return workflow.waiver_request(
        actor=act(owner),
        service=service,
        control_code=code,
        justification="IAM rework next quarter",
        compensating_controls="SCP deny-list",
        risk_owner="CRO",
        expires_at=timezone.now() + timedelta(days=days),
    )


def test_waiver_longer_than_tier_maximum_is_refused(catalog, service, owner):
    with pytest.raises(DomainError, match="at most 90 days"):
        _request_waiver(service, owner, days=91)


def test_waived_item_counts_only_once_the_waiver_is_approved(draft, owner, risk):
    make_ready(draft, owner)
    waiver = _request_waiver(draft.service, owner)
    item = item_for(draft, "PRR-SEC-001")
    workflow.item_update(actor=act(owner), item=item, outcome=ItemOutcome.WAIVED, waiver=waiver)
    with pytest.raises(DomainError, match="waiver #.* is requested"):
        workflow.review_submit(actor=act(owner), review=draft)
    workflow.waiver_decide(actor=act(risk), waiver=waiver, approve=True, comment="ok")
    assert workflow.review_submit(actor=act(owner), review=draft).status == "submitted"


@pytest.mark.parametrize("who", ["owner", "teammate", "sre", "outsider"])
def test_only_an_independent_risk_reviewer_decides_waivers(who, cast, catalog, service):
    waiver = _request_waiver(service, cast["owner"])
    if who == "teammate":
        RoleGrantFactory(user=cast["teammate"], role=Role.RISK)
    with pytest.raises(DomainError):
        workflow.waiver_decide(actor=act(cast[who]), waiver=waiver, approve=True)
    waiver.refresh_from_db()
    assert waiver.status == WaiverStatus.REQUESTED
    assert denials("waiver.decide")


def test_expired_waiver_stops_counting_at_once(draft, owner, risk):
    make_ready(draft, owner)
    waiver = _request_waiver(draft.service, owner)
    workflow.waiver_decide(actor=act(risk), waiver=waiver, approve=True)
    item = item_for(draft, "PRR-SEC-001")
    workflow.item_update(actor=act(owner), item=item, outcome=ItemOutcome.WAIVED, waiver=waiver)
    past = timezone.now() - timedelta(minutes=1)
    Waiver.objects.filter(pk=waiver.pk).update(created_at=past - timedelta(days=1), expires_at=past)
    # No expiry task has run: the waiver is still "approved" in the table, yet does not count.
    with pytest.raises(DomainError, match="expired, not active"):
        workflow.review_submit(actor=act(owner), review=draft)
    assert workflow.waiver_expire_due() == 1
    assert Waiver.objects.get(pk=waiver.pk).status == WaiverStatus.EXPIRED


def test_signoff_refused_when_waiver_expired_after_submission(draft, owner, risk, sre, security):
    make_ready(draft, owner)
    waiver = _request_waiver(draft.service, owner)
    workflow.waiver_decide(actor=act(risk), waiver=waiver, approve=True)
    item = item_for(draft, "PRR-SEC-001")
    workflow.item_update(actor=act(owner), item=item, outcome=ItemOutcome.WAIVED, waiver=waiver)
    workflow.review_submit(actor=act(owner), review=draft)
    workflow.signoff_record(actor=act(sre), review=draft, role="sre")
    past = timezone.now() - timedelta(minutes=1)
    Waiver.objects.filter(pk=waiver.pk).update(created_at=past - timedelta(days=1), expires_at=past)
    with pytest.raises(DomainError, match="no longer hold"):
        workflow.signoff_record(actor=act(security), review=draft, role="security")
    draft.refresh_from_db()
    assert draft.status == ReviewStatus.SUBMITTED


def test_approval_relying_on_a_waiver_expires_with_it(draft, owner, risk, sre, security):
    make_ready(draft, owner)
    waiver = _request_waiver(draft.service, owner, days=10)
    workflow.waiver_decide(actor=act(risk), waiver=waiver, approve=True)
    item = item_for(draft, "PRR-SEC-001")
    workflow.item_update(actor=act(owner), item=item, outcome=ItemOutcome.WAIVED, waiver=waiver)
    workflow.review_submit(actor=act(owner), review=draft)
    workflow.signoff_record(actor=act(sre), review=draft, role="sre")
    workflow.signoff_record(actor=act(security), review=draft, role="security")
    draft.refresh_from_db()
    assert draft.expires_at == Waiver.objects.get(pk=waiver.pk).expires_at


def test_revoking_a_waiver_revokes_approvals_relying_on_it(draft, owner, risk, sre, security):
    make_ready(draft, owner)
    waiver = _request_waiver(draft.service, owner)
    workflow.waiver_decide(actor=act(risk), waiver=waiver, approve=True)
    item = item_for(draft, "PRR-SEC-001")
    workflow.item_update(actor=act(owner), item=item, outcome=ItemOutcome.WAIVED, waiver=waiver)
    workflow.review_submit(actor=act(owner), review=draft)
    workflow.signoff_record(actor=act(sre), review=draft, role="sre")
    workflow.signoff_record(actor=act(security), review=draft, role="security")
    workflow.waiver_revoke(actor=act(risk), waiver=waiver, reason="compensating control gone")
    draft.refresh_from_db()
    assert draft.status == ReviewStatus.REVOKED
    assert f"waiver #{waiver.pk}" in draft.revoked_reason


def test_database_refuses_waiver_decided_by_its_requester(catalog, service, owner):
    with pytest.raises(IntegrityError), transaction.atomic():
        WaiverFactory(service=service, requested_by=owner, decided_by=owner, status="approved")


# --- reviewer side ------------------------------------------------------------------------


def test_full_lifecycle_to_approval(submitted, sre, security, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        workflow.item_verdict(
            actor=act(sre), item=item_for(submitted, "PRR-SEC-001"), verdict=Verdict.ACCEPTED
        )
        workflow.signoff_record(actor=act(sre), review=submitted, role="sre")
        submitted.refresh_from_db()
        assert submitted.status == ReviewStatus.SUBMITTED  # tier 1 also needs security
        workflow.signoff_record(actor=act(security), review=submitted, role="security")
    submitted.refresh_from_db()
    assert submitted.status == ReviewStatus.APPROVED
    assert len(submitted.approval_hash) == 64
    assert submitted.expires_at - submitted.approved_at == timedelta(days=180)
    signoffs = SignOff.objects.filter(review=submitted)
    assert {s.approval_hash for s in signoffs} == {submitted.approval_hash}
    assert AuditEvent.objects.filter(action="review.approve").count() == 1
    assert mail.outbox and "approved" in mail.outbox[-1].subject
    assert mail.outbox[-1].to == ["owner@example.com"]


def test_owner_cannot_self_approve_even_with_a_reviewer_role(submitted, owner):
    RoleGrantFactory(user=owner, role=Role.SRE)
    with pytest.raises(DomainError, match="member of Payments"):
        workflow.signoff_record(actor=act(owner), review=submitted, role="sre")
    assert not SignOff.objects.exists()
    assert denials("review.signoff")[0].actor_label == "owner"


def test_teammate_with_reviewer_role_cannot_approve(submitted, teammate):
    RoleGrantFactory(user=teammate, role=Role.SECURITY)
    with pytest.raises(DomainError, match="outside the team"):
        workflow.signoff_record(actor=act(teammate), review=submitted, role="security")
    assert not SignOff.objects.exists()


def test_submitter_cannot_sign_off_and_database_agrees(submitted, owner):
    # Even if the service layer were bypassed, the database refuses a submitter's sign-off.
    with pytest.raises(IntegrityError), transaction.atomic():
        SignOff.objects.create(
            review=submitted, role="sre", user=owner, submitter=owner, approval_hash="0" * 64
        )


def test_one_person_one_role_per_review(submitted, sre):
    RoleGrantFactory(user=sre, role=Role.SECURITY)
    workflow.signoff_record(actor=act(sre), review=submitted, role="sre")
    with pytest.raises(DomainError, match="one role"):
        workflow.signoff_record(actor=act(sre), review=submitted, role="security")
    assert SignOff.objects.filter(review=submitted).count() == 1
    with pytest.raises(IntegrityError), transaction.atomic():
        SignOff.objects.create(
            review=submitted,
            role="security",
            user=sre,
            submitter=submitted.submitted_by,
            approval_hash="0" * 64,
        )


def test_role_already_signed_is_refused(submitted, sre):
    other_sre = RoleGrantFactory(role=Role.SRE).user
    workflow.signoff_record(actor=act(sre), review=submitted, role="sre")
    with pytest.raises(DomainError, match="already signed off as sre"):
        workflow.signoff_record(actor=act(other_sre), review=submitted, role="sre")


def test_role_not_required_for_tier_is_refused(submitted, risk):
    with pytest.raises(DomainError, match="signed off by sre, security"):
        workflow.signoff_record(actor=act(risk), review=submitted, role="risk")


@pytest.mark.parametrize("who", ["auditor", "outsider", "admin"])
def test_non_reviewers_cannot_sign_or_judge(who, cast, submitted):
    with pytest.raises(DomainError):
        workflow.signoff_record(actor=act(cast[who]), review=submitted, role="sre")
    with pytest.raises(DomainError):
        workflow.item_verdict(
            actor=act(cast[who]), item=item_for(submitted, "PRR-SEC-001"), verdict="accepted"
        )
    submitted.refresh_from_db()
    assert submitted.status == ReviewStatus.SUBMITTED


def test_sign_off_refused_while_an_item_is_rejected(submitted, sre):
    workflow.item_verdict(
        actor=act(sre),
        item=item_for(submitted, "PRR-SEC-001"),
        verdict=Verdict.REJECTED,
        comment="Role has iam:*",
    )
    with pytest.raises(DomainError, match="request changes instead"):
        workflow.signoff_record(actor=act(sre), review=submitted, role="sre")


def test_rejecting_an_item_needs_a_comment(submitted, sre):
    with pytest.raises(DomainError, match="Comment is required"):
        workflow.item_verdict(
            actor=act(sre), item=item_for(submitted, "PRR-SEC-001"), verdict=Verdict.REJECTED
        )


def test_request_changes_returns_review_to_owner_with_comments(
    submitted, sre, security, owner, django_capture_on_commit_callbacks
):
    workflow.signoff_record(actor=act(sre), review=submitted, role="sre")
    workflow.item_verdict(
        actor=act(security),
        item=item_for(submitted, "PRR-SEC-001"),
        verdict="rejected",
        comment="Role has iam:*",
    )
    with django_capture_on_commit_callbacks(execute=True):
        workflow.review_request_changes(actor=act(security), review=submitted)
    submitted.refresh_from_db()
    assert submitted.status == ReviewStatus.CHANGES_REQUESTED
    assert not SignOff.objects.filter(review=submitted, archived_at__isnull=True).exists()
    assert SignOff.objects.get(review=submitted).archived_reason == "changes requested"
    assert "PRR-SEC-001: Role has iam:*" in mail.outbox[-1].body
    # The owner fixes it: the rejected verdict clears on change, and the review resubmits.
    item = item_for(submitted, "PRR-SEC-001")
    workflow.item_attach_evidence(
        actor=act(owner), item=item, evidence=EvidenceFactory(service=submitted.service)
    )
    item.refresh_from_db()
    assert item.verdict == ""
    assert workflow.review_submit(actor=act(owner), review=submitted).status == "submitted"


def test_request_changes_without_reason_is_refused(submitted, sre):
    with pytest.raises(DomainError, match="Comment is required"):
        workflow.review_request_changes(actor=act(sre), review=submitted)


def test_approve_after_request_changes_is_refused(submitted, sre, security):
    workflow.review_request_changes(actor=act(security), review=submitted, comment="Fix it")
    with pytest.raises(DomainError) as exc:
        workflow.signoff_record(actor=act(sre), review=submitted, role="sre")
    assert exc.value.code == "invalid_state"


def test_signoff_on_a_version_the_reviewer_did_not_see_is_refused(submitted, sre, security):
    seen = submitted.version
    workflow.item_verdict(
        actor=act(security), item=item_for(submitted, "PRR-SEC-001"), verdict="accepted"
    )
    with pytest.raises(DomainError, match="changed since you loaded it"):
        workflow.signoff_record(actor=act(sre), review=submitted, role="sre", expected_version=seen)


# --- after approval -----------------------------------------------------------------------


def test_change_to_approved_review_invalidates_the_approval(
    approved, owner, sre, django_capture_on_commit_callbacks
):
    old_hash = approved.approval_hash
    item = item_for(approved, "PRR-OBS-001")
    with django_capture_on_commit_callbacks(execute=True):
        workflow.item_update(actor=act(owner), item=item, outcome=ItemOutcome.FAIL)
    approved.refresh_from_db()
    assert approved.status == ReviewStatus.DRAFT
    assert approved.approval_hash == "" and approved.expires_at is None
    archived = SignOff.objects.filter(review=approved)
    assert archived.count() == 2 and all(s.archived_at for s in archived)
    assert all(s.approval_hash == old_hash for s in archived)  # kept, never deleted
    event = AuditEvent.objects.get(action="review.invalidate")
    assert "PRR-OBS-001" in event.message
    assert "invalidated" in mail.outbox[-1].subject
    # Approving after invalidation is refused until it is resubmitted.
    with pytest.raises(DomainError, match="draft"):
        workflow.signoff_record(actor=act(sre), review=approved, role="sre")


def test_new_evidence_on_approved_review_invalidates_it(approved, owner):
    workflow.item_attach_evidence(
        actor=act(owner),
        item=item_for(approved, "PRR-SEC-001"),
        evidence=EvidenceFactory(service=approved.service),
    )
    approved.refresh_from_db()
    assert approved.status == ReviewStatus.DRAFT


def test_approval_hash_changes_with_evidence(approved, owner, sre, security):
    first = approved.approval_hash
    workflow.item_attach_evidence(
        actor=act(owner),
        item=item_for(approved, "PRR-SEC-001"),
        evidence=EvidenceFactory(service=approved.service),
    )
    workflow.review_submit(actor=act(owner), review=approved)
    # The same reviewers sign the same roles again.
    workflow.signoff_record(actor=act(sre), review=approved, role="sre")
    workflow.signoff_record(actor=act(security), review=approved, role="security")
    approved.refresh_from_db()
    assert approved.status == ReviewStatus.APPROVED
    assert approved.approval_hash != first


def test_approval_expires_at_read_time_and_by_the_task(approved):
    later = approved.expires_at + timedelta(seconds=1)
    assert approved.effective_status(later) == ReviewStatus.EXPIRED
    assert not approved.is_valid_at(later)
    Review.objects.filter(pk=approved.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert workflow.review_expire_due() == 1
    assert workflow.review_expire_due() == 0  # idempotent
    approved.refresh_from_db()
    assert approved.status == ReviewStatus.EXPIRED
    assert AuditEvent.objects.filter(action="review.expire").count() == 1


def test_admin_revokes_with_reason(approved, admin_user, owner):
    with pytest.raises(DomainError, match="Reason is required"):
        workflow.review_revoke(actor=act(admin_user), review=approved, reason=" ")
    with pytest.raises(DomainError, match="platform admin"):
        workflow.review_revoke(actor=act(owner), review=approved, reason="no")
    workflow.review_revoke(actor=act(admin_user), review=approved, reason="Incident 42")
    approved.refresh_from_db()
    assert (approved.status, approved.revoked_reason, approved.revoked_by) == (
        "revoked",
        "Incident 42",
        admin_user,
    )


def test_new_approval_supersedes_the_previous_one(approved, owner, sre, security, catalog):
    second = workflow.review_open(actor=act(owner), service=approved.service, environment="prod")
    make_ready(second, owner)
    workflow.review_submit(actor=act(owner), review=second)
    workflow.signoff_record(actor=act(sre), review=second, role="sre")
    workflow.signoff_record(actor=act(security), review=second, role="security")
    approved.refresh_from_db()
    assert approved.status == ReviewStatus.REVOKED
    assert approved.revoked_reason == f"superseded by review #{second.pk}"


def test_every_refusal_changes_nothing_and_is_audited(approved, outsider):
    before = (approved.status, approved.version, approved.approval_hash)
    with pytest.raises(DomainError):
        workflow.review_submit(actor=act(outsider), review=approved)
    approved.refresh_from_db()
    assert (approved.status, approved.version, approved.approval_hash) == before
    event = denials("review.submit")[-1]
    assert event.object_id == str(approved.pk) and event.service_slug == "payments-api"
