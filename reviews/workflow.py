"""Every state change of reviews and waivers. One rule, one place.

Each transition locks the review row (``select_for_update``; SQLite serializes writers
itself), checks the current state and the actor's right to act, makes the change, bumps
``Review.version`` and writes its audit event in the same transaction. A refusal raises
``DomainError`` and changes nothing; the ``guards.transition`` wrapper then records the
refusal as an audit denial, outside the rolled-back transaction, so every caller (views, API, tasks)
gets the same trail without recording it again.

States: draft → submitted → approved | changes_requested; approved → expired (time) or
revoked (drift or admin); a change to an approved review's outcomes or evidence sends it
back to draft (invalidation), archiving its sign-offs.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.choices import Role
from audit.choices import ActorType
from audit.context import Actor
from audit.services import audit_record
from controls.models import Control
from controls.selectors import applicable_controls, current_catalog
from evidence.services import COMMIT_SHA
from notifications.choices import Event
from notifications.services import notify
from portal.errors import DomainError
from reviews import conf, guards, readiness
from reviews.choices import (
    EDITABLE_STATUSES,
    CommentKind,
    ItemOutcome,
    ReviewStatus,
    Verdict,
    WaiverStatus,
)
from reviews.models import ItemComment, ItemEvidence, Review, ReviewItem, SignOff, Waiver

# --- owner side -------------------------------------------------------------------------


@guards.transition("review.open")
def review_open(*, actor: Actor, service, environment: str) -> Review:
    """Open a draft review of ``service`` for ``environment`` against the current catalog:
    one item per applicable control, mandatory ones marked for the service's tier."""
    guards.require_owner_side(actor, service, "open reviews of it")
    if environment not in (service.environments or []):
        raise DomainError(
            f"{service.name} has no environment {environment!r}; "
            f"choose one of {', '.join(service.environments)}.",
            details={"environment": ["unknown environment"]},
        )
    catalog = current_catalog()
    controls = applicable_controls(catalog, service.profile())
    if not controls:
        raise DomainError(f"No control of catalog {catalog.version} applies to this service.")
    try:
        with transaction.atomic():
            review = Review.objects.create(
                service=service,
                environment=environment,
                catalog_version=catalog,
                opened_by=actor.user,
            )
            ReviewItem.objects.bulk_create(
                ReviewItem(review=review, control=c, mandatory=c.is_mandatory_for(service.tier))
                for c in controls
            )
            guards.audit(
                actor,
                "review.open",
                review,
                after={
                    "environment": environment,
                    "catalog_version": catalog.version,
                    "items": len(controls),
                },
            )
    except IntegrityError:
        existing = Review.objects.filter(
            service=service,
            environment=environment,
            status__in=[ReviewStatus.DRAFT, ReviewStatus.SUBMITTED, ReviewStatus.CHANGES_REQUESTED],
        ).first()
        raise DomainError(
            f"Review #{existing.pk if existing else '?'} is already open for {environment}; "
            f"continue that one.",
            code="conflict",
        ) from None
    return review


def _after_owner_change(actor: Actor, review: Review, item: ReviewItem, what: str) -> None:
    """Clear the item's verdict (the reviewer judged something else) and invalidate an
    approved review: a changed approval is never kept silently."""
    if item.verdict:
        item.verdict, item.verdict_by, item.verdict_at, item.verdict_comment = "", None, None, ""
    item.updated_by = actor.user
    item.updated_at = timezone.now()
    item.save()
    if review.status == ReviewStatus.APPROVED:
        _invalidate(actor, review, f"{item.control.code}: {what}")
    else:
        guards.save(review)


def _check_waiver_for(item: ReviewItem, waiver: Waiver | None) -> None:
    if waiver is None:
        raise DomainError(
            "Choose the waiver that covers this control, or request one first.",
            details={"waiver": ["required"]},
        )
    if waiver.service_id != item.review.service_id or waiver.control_code != item.control.code:
        raise DomainError(
            f"Waiver #{waiver.pk} does not cover {item.control.code} of this service."
        )
    if waiver.current_status not in (WaiverStatus.REQUESTED, WaiverStatus.APPROVED):
        raise DomainError(f"Waiver #{waiver.pk} is {waiver.current_status_label.lower()}.")


@guards.transition("review.item_update")
def item_update(
    *,
    actor: Actor,
    item: ReviewItem,
    outcome: str,
    reason: str = "",
    waiver: Waiver | None = None,
    expected_version: int | None = None,
) -> ReviewItem:
    """Set an item's outcome. Not applicable needs a reason; waived needs a waiver for this
    control (a requested one may be linked; only an approved one counts at submission)."""
    with transaction.atomic():
        review, item = guards.lock_item(item, expected_version)
        guards.require_owner_side(actor, review.service, "answer the checklist")
        guards.require_status(review, EDITABLE_STATUSES, "change the checklist")
        if outcome not in ItemOutcome.values:
            raise DomainError(f"Unknown outcome {outcome!r}.", details={"outcome": ["unknown"]})
        reason = guards.text(reason, "Reason", required=outcome == ItemOutcome.NOT_APPLICABLE)
        if outcome == ItemOutcome.NOT_APPLICABLE and item.mandatory:
            raise DomainError(
                f"{item.control.code} is mandatory for tier {review.service.tier}; it cannot be "
                "not applicable. Pass it with evidence or request a waiver."
            )
        if outcome == ItemOutcome.WAIVED:
            _check_waiver_for(item, waiver)
        else:
            waiver = None
        before = {"outcome": item.outcome, "reason": item.reason, "waiver": item.waiver_id}
        after = {"outcome": outcome, "reason": reason, "waiver": waiver.pk if waiver else None}
        if before == after:
            return item
        item.outcome, item.reason, item.waiver = outcome, reason, waiver
        guards.audit(
            actor,
            "review.item_update",
            review,
            before=before,
            after=after,
            details={"control": item.control.code},
        )
        _after_owner_change(actor, review, item, f"outcome changed to {outcome}")
    return item


@guards.transition("review.evidence_attach")
def item_attach_evidence(
    *, actor: Actor, item: ReviewItem, evidence, expected_version: int | None = None
) -> ItemEvidence:
    """Attach evidence of the same service to an item."""
    with transaction.atomic():
        review, item = guards.lock_item(item, expected_version)
        guards.require_owner_side(actor, review.service, "attach evidence")
        guards.require_status(review, EDITABLE_STATUSES, "attach evidence")
        if evidence.service_id != review.service_id:
            raise DomainError("That evidence belongs to another service.", code="not_allowed")
        if item.attachments.filter(evidence=evidence, removed_at__isnull=True).exists():
            raise DomainError("That evidence is already attached to this item.", code="conflict")
        link = ItemEvidence.objects.create(item=item, evidence=evidence, attached_by=actor.user)
        guards.audit(
            actor,
            "review.evidence_attach",
            review,
            after={
                "control": item.control.code,
                "evidence": evidence.pk,
                "sha256": evidence.sha256,
            },
        )
        _after_owner_change(actor, review, item, f"evidence {evidence.sha256[:12]} attached")
    return link


@guards.transition("review.evidence_attach")
def item_attach_new_evidence(
    *, actor: Actor, item: ReviewItem, make_evidence, expected_version: int | None = None
) -> ItemEvidence:
    """Create evidence with ``make_evidence(actor=, service=, control_code=)`` (an evidence
    service call) and attach it, in one transaction, once the review is known to take it: a
    refused attach (stale page, review not editable, caller not on the owning side) stores
    no evidence."""
    with transaction.atomic():
        review, locked = guards.lock_item(item, expected_version)
        guards.require_owner_side(actor, review.service, "attach evidence")
        guards.require_status(review, EDITABLE_STATUSES, "attach evidence")
        evidence = make_evidence(
            actor=actor, service=review.service, control_code=locked.control.code
        )
        # Already checked and locked above; the inner call's refusal is this one's.
        return item_attach_evidence.__wrapped__(actor=actor, item=locked, evidence=evidence)


@guards.transition("review.evidence_detach")
def item_detach_evidence(
    *, actor: Actor, item: ReviewItem, evidence, expected_version: int | None = None
) -> None:
    """Detach evidence from an item (the attachment row is kept, marked removed)."""
    with transaction.atomic():
        review, item = guards.lock_item(item, expected_version)
        guards.require_owner_side(actor, review.service, "detach evidence")
        guards.require_status(review, EDITABLE_STATUSES, "detach evidence")
        updated = item.attachments.filter(evidence=evidence, removed_at__isnull=True).update(
            removed_at=timezone.now(), removed_by=actor.user
        )
        if not updated:
            raise DomainError("That evidence is not attached to this item.", code="not_found")
        guards.audit(
            actor,
            "review.evidence_detach",
            review,
            before={
                "control": item.control.code,
                "evidence": evidence.pk,
                "sha256": evidence.sha256,
            },
        )
        _after_owner_change(actor, review, item, f"evidence {evidence.sha256[:12]} detached")


@guards.transition("review.comment")
def item_comment(
    *, actor: Actor, review: Review, body: str, item: ReviewItem | None = None
) -> ItemComment:
    """Comment on a review or one of its items: the owning team and reviewers may."""
    user = actor.user
    if not (guards.is_member(user, review.service) or (user is not None and user.is_reviewer)):
        raise DomainError(
            "Only the owning team and reviewers may comment on a review.", code="not_allowed"
        )
    if item is not None and item.review_id != review.pk:
        raise DomainError("That item belongs to another review.")
    body = guards.text(body, "Comment")
    with transaction.atomic():
        comment = ItemComment.objects.create(review=review, item=item, author=user, body=body)
        guards.audit(
            actor,
            "review.comment",
            review,
            message=body[:500],
            details={"control": item.control.code if item else ""},
        )
    return comment


@guards.transition("review.submit")
def review_submit(*, actor: Actor, review: Review, expected_version: int | None = None) -> Review:
    """Submit for review. Refused, with the list of what is missing, while any mandatory
    item lacks fresh passing evidence or an active waiver."""
    with transaction.atomic():
        review = guards.lock(review, expected_version)
        guards.require_owner_side(actor, review.service, "submit the review")
        guards.require_status(
            review, (ReviewStatus.DRAFT, ReviewStatus.CHANGES_REQUESTED), "submit the review"
        )
        missing = readiness.missing_mandatory(readiness.items_for(review), timezone.now())
        if missing:
            listed = "; ".join(f"{m['control']}: {m['problem']}" for m in missing[:5])
            more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
            raise DomainError(
                f"Cannot submit: {len(missing)} mandatory item(s) are not ready. {listed}{more}.",
                code="invalid_state",
                details={"missing": missing},
            )
        before = guards.review_state(review)
        review.status = ReviewStatus.SUBMITTED
        review.submitted_by = actor.user
        review.submitted_at = timezone.now()
        guards.save(review, "status", "submitted_by", "submitted_at")
        guards.audit(
            actor, "review.submit", review, before=before, after=guards.review_state(review)
        )
        notify(
            event=Event.REVIEW_SUBMITTED,
            service=review.service,
            review=review,
            subject=f"{review.service.name} ({review.environment}): review #{review.pk} "
            "needs your sign-off",
            body=f"{actor.label} submitted review #{review.pk} of {review.service.name} "
            f"(tier {review.service.tier}) for {review.environment}. Roles needed: "
            f"{', '.join(conf.signoff_roles(review.service.tier))}.",
        )
    return review


# --- reviewer side ----------------------------------------------------------------------


@guards.transition("review.item_verdict")
def item_verdict(
    *,
    actor: Actor,
    item: ReviewItem,
    verdict: str,
    comment: str = "",
    expected_version: int | None = None,
) -> ReviewItem:
    """Accept or reject one item of a submitted review (a rejection needs a comment)."""
    with transaction.atomic():
        review, item = guards.lock_item(item, expected_version)
        guards.require_independent_reviewer(actor, review, "judge its items")
        guards.require_status(review, (ReviewStatus.SUBMITTED,), "judge items")
        if verdict not in (Verdict.ACCEPTED, Verdict.REJECTED):
            raise DomainError("Choose accept or reject.", details={"verdict": ["unknown"]})
        comment = guards.text(comment, "Comment", required=verdict == Verdict.REJECTED)
        before = {"verdict": item.verdict, "comment": item.verdict_comment}
        item.verdict, item.verdict_comment = verdict, comment
        item.verdict_by, item.verdict_at = actor.user, timezone.now()
        item.save(update_fields=["verdict", "verdict_comment", "verdict_by", "verdict_at"])
        if comment:
            ItemComment.objects.create(
                review=review,
                item=item,
                author=actor.user,
                kind=CommentKind.VERDICT,
                body=f"{Verdict(verdict).label}: {comment}",
            )
        guards.save(review)
        guards.audit(
            actor,
            "review.item_verdict",
            review,
            before=before,
            after={"verdict": verdict, "comment": comment},
            details={"control": item.control.code},
        )
    return item


def _archive_signoffs(review: Review, reason: str) -> int:
    return SignOff.objects.filter(review=review, archived_at__isnull=True).update(
        archived_at=timezone.now(), archived_reason=reason[:255]
    )


@guards.transition("review.request_changes")
def review_request_changes(
    *, actor: Actor, review: Review, comment: str = "", expected_version: int | None = None
) -> Review:
    """Send a submitted review back to its owners with the reviewer's comments. Sign-offs
    already given are archived: the next submission is signed afresh."""
    with transaction.atomic():
        review = guards.lock(review, expected_version)
        guards.require_independent_reviewer(actor, review, "request changes")
        guards.require_status(review, (ReviewStatus.SUBMITTED,), "request changes")
        rejected = list(review.items.filter(verdict=Verdict.REJECTED).select_related("control"))
        comment = guards.text(comment, "Comment", required=not rejected)
        before = guards.review_state(review)
        review.status = ReviewStatus.CHANGES_REQUESTED
        guards.save(review, "status")
        archived = _archive_signoffs(review, "changes requested")
        if comment:
            ItemComment.objects.create(
                review=review, author=actor.user, kind=CommentKind.CHANGES_REQUESTED, body=comment
            )
        guards.audit(
            actor,
            "review.request_changes",
            review,
            message=comment[:500],
            before=before,
            after=guards.review_state(review),
            details={"rejected": [i.control.code for i in rejected], "archived": archived},
        )
        lines = [f"- {i.control.code}: {i.verdict_comment}" for i in rejected]
        notify(
            event=Event.CHANGES_REQUESTED,
            service=review.service,
            review=review,
            subject=f"{review.service.name} ({review.environment}): changes requested",
            body=f"{actor.label} requested changes.\n{comment}\n" + "\n".join(lines),
        )
    return review


def _approval_expiry(review: Review, items, now: datetime) -> datetime:
    """Tier approval period, cut short by the earliest waiver the approval relies on."""
    expiry = now + timedelta(days=conf.approval_days(review.service.tier))
    for item in items:
        if item.outcome == ItemOutcome.WAIVED and item.waiver is not None:
            expiry = min(expiry, item.waiver.expires_at)
    return expiry


def _supersede_previous(actor: Actor, review: Review) -> None:
    previous = (
        Review.objects.select_for_update()
        .filter(
            service=review.service, environment=review.environment, status=ReviewStatus.APPROVED
        )
        .exclude(pk=review.pk)
    )
    for old in previous:
        old.service = review.service
        _revoke(actor, old, f"superseded by review #{review.pk}", notify=False)


@guards.transition("review.signoff")
def signoff_record(
    *,
    actor: Actor,
    review: Review,
    role: str,
    comment: str = "",
    expected_version: int | None = None,
) -> SignOff:
    """Sign a submitted review off in ``role``. When every role the tier requires has signed,
    the review is approved, bound to the hash of what was signed, with an expiry."""
    with transaction.atomic():
        review = guards.lock(review, expected_version)
        guards.require_independent_reviewer(actor, review, "sign it off")
        guards.require_status(review, (ReviewStatus.SUBMITTED,), "sign off")
        user = actor.user
        required = conf.signoff_roles(review.service.tier)
        if role not in required:
            raise DomainError(
                f"Tier {review.service.tier} reviews are signed off by "
                f"{', '.join(required)}; not {role}.",
                details={"role": ["not required for this tier"]},
            )
        if not user.has_role(role):
            raise DomainError(f"You do not hold the {role} role.", code="not_allowed")
        signoffs = list(SignOff.objects.filter(review=review).select_related("user"))
        active = [s for s in signoffs if s.archived_at is None]
        if any(s.role == role for s in active):
            holder = next(s.user for s in active if s.role == role)
            raise DomainError(f"{holder} has already signed off as {role}.", code="conflict")
        other = {s.role for s in signoffs if s.user_id == user.pk and s.role != role}
        if other or any(s.user_id == user.pk for s in active):
            raise DomainError(
                f"One person fills one role per review: you signed as {', '.join(other)}.",
                code="not_allowed",
            )
        items = list(readiness.items_for(review))
        rejected = readiness.rejected_items(items)
        if rejected:
            raise DomainError(
                f"Items are rejected ({', '.join(rejected)}): request changes instead.",
                code="invalid_state",
            )
        now = timezone.now()
        missing = readiness.missing_mandatory(items, now)
        if missing:
            listed = "; ".join(f"{m['control']}: {m['problem']}" for m in missing[:5])
            raise DomainError(
                f"Cannot sign off: {len(missing)} mandatory item(s) no longer hold. {listed}. "
                "Request changes instead.",
                code="invalid_state",
                details={"missing": missing},
            )
        digest = readiness.approval_hash(review, items)
        try:
            with transaction.atomic():
                signoff = SignOff.objects.create(
                    review=review,
                    role=role,
                    user=user,
                    submitter=review.submitted_by,
                    approval_hash=digest,
                    comment=guards.text(comment, "Comment", required=False),
                )
        except IntegrityError:
            raise DomainError(
                "Someone signed off in this role at the same time; reload the page.",
                code="conflict",
            ) from None
        guards.audit(
            actor,
            "review.signoff",
            review,
            after={"role": role, "approval_hash": digest},
        )
        signed_roles = {s.role for s in active} | {role}
        if set(required) <= signed_roles:
            _approve(actor, review, items, digest, now)
        else:
            guards.save(review)
    return signoff


def _approve(actor: Actor, review: Review, items, digest: str, now: datetime) -> None:
    stale = SignOff.objects.filter(review=review, archived_at__isnull=True).exclude(
        approval_hash=digest
    )
    if stale.exists():  # cannot happen while submitted reviews are locked, but never approve it
        raise DomainError("Sign-offs cover different content; request changes.", code="conflict")
    _supersede_previous(actor, review)
    before = guards.review_state(review)
    review.status = ReviewStatus.APPROVED
    review.approval_hash = digest
    review.approved_at = now
    review.expires_at = _approval_expiry(review, items, now)
    guards.save(review, "status", "approval_hash", "approved_at", "expires_at")
    guards.audit(actor, "review.approve", review, before=before, after=guards.review_state(review))
    notify(
        event=Event.REVIEW_APPROVED,
        service=review.service,
        review=review,
        subject=f"{review.service.name} ({review.environment}): review #{review.pk} approved",
        body=f"Approved until {review.expires_at:%Y-%m-%d %H:%M} UTC. Approval hash {digest}.",
        data={"expires_at": review.expires_at.isoformat(), "approval_hash": digest},
    )


# --- after approval ---------------------------------------------------------------------


def _invalidate(actor: Actor, review: Review, reason: str) -> None:
    """Approved → draft inside the caller's transaction: hash cleared, sign-offs archived,
    owners told."""
    before = guards.review_state(review)
    review.status = ReviewStatus.DRAFT
    review.approval_hash = ""
    review.approved_at = None
    review.expires_at = None
    review.submitted_by = None
    review.submitted_at = None
    try:
        with transaction.atomic():
            guards.save(
                review,
                "status",
                "approval_hash",
                "approved_at",
                "expires_at",
                "submitted_by",
                "submitted_at",
            )
    except IntegrityError:
        raise DomainError(
            "Another review is open for this environment; make changes there instead.",
            code="conflict",
        ) from None
    archived = _archive_signoffs(review, f"approval invalidated: {reason}")
    guards.audit(
        actor,
        "review.invalidate",
        review,
        message=reason,
        before=before,
        after=guards.review_state(review),
        details={"archived_signoffs": archived},
    )
    guards.notify_owners(
        review,
        "approval invalidated",
        f"The approval no longer holds: {reason}. The review is back in draft and must be "
        "submitted and signed off again.",
    )


@guards.transition("review.invalidate")
def review_invalidate(*, actor: Actor, review: Review, reason: str) -> Review:
    """Withdraw an approval on purpose (e.g. to rework the checklist): back to draft."""
    with transaction.atomic():
        review = guards.lock(review)
        user = actor.user
        if not (guards.is_member(user, review.service) or (user and user.is_platform_admin)):
            raise DomainError(
                "Only the owning team or a platform admin may reopen an approved review.",
                code="not_allowed",
            )
        guards.require_status(review, (ReviewStatus.APPROVED,), "reopen the review")
        _invalidate(actor, review, guards.text(reason, "Reason"))
    return review


def _revoke(actor: Actor, review: Review, reason: str, *, notify: bool = True) -> None:
    before = guards.review_state(review)
    review.status = ReviewStatus.REVOKED
    review.revoked_reason = reason
    review.revoked_by = actor.user
    review.revoked_at = timezone.now()
    guards.save(review, "status", "revoked_reason", "revoked_by", "revoked_at")
    guards.audit(
        actor,
        "review.revoke",
        review,
        message=reason,
        before=before,
        after=guards.review_state(review),
    )
    if notify:
        guards.notify_owners(review, "approval revoked", f"The approval was revoked: {reason}.")


@guards.transition("review.revoke")
def review_revoke(
    *, actor: Actor, review: Review, reason: str, notify_owners: bool = True
) -> Review:
    """Revoke an approval (platform admin, or the system on drift). Needs a reason.
    ``notify_owners=False`` when the caller sends its own, more specific notification."""
    with transaction.atomic():
        review = guards.lock(review)
        user = actor.user
        if user is not None and not user.is_platform_admin:
            raise DomainError("Only a platform admin may revoke an approval.", code="not_allowed")
        if user is None and actor.type != ActorType.SYSTEM:
            raise DomainError("Only a platform admin may revoke an approval.", code="not_allowed")
        guards.require_status(review, (ReviewStatus.APPROVED,), "revoke the approval")
        _revoke(actor, review, guards.text(reason, "Reason"), notify=notify_owners)
    return review


def review_expire_due(*, actor: Actor | None = None, at: datetime | None = None) -> int:
    """Record expiry of approvals past their ``expires_at`` (scheduled). Reads already treat
    them as expired; this makes the state explicit, audited and notified. Idempotent."""
    actor = actor or Actor.system("approval-expiry")
    at = at or timezone.now()
    count = 0
    due = Review.objects.filter(status=ReviewStatus.APPROVED, expires_at__lte=at)
    for pk in due.values_list("pk", flat=True):
        with transaction.atomic():
            review = guards.lock(Review(pk=pk))
            if review.status != ReviewStatus.APPROVED or review.expires_at > at:
                continue
            before = guards.review_state(review)
            review.status = ReviewStatus.EXPIRED
            guards.save(review, "status")
            guards.audit(
                actor, "review.expire", review, before=before, after=guards.review_state(review)
            )
            guards.notify_owners(
                review, "approval expired", "The approval has expired; open a new review."
            )
            count += 1
    return count


# --- waivers ----------------------------------------------------------------------------


@guards.transition("waiver.request")
def waiver_request(
    *,
    actor: Actor,
    service,
    control_code: str,
    justification: str,
    compensating_controls: str,
    risk_owner: str,
    expires_at: datetime,
    release: str = "",
    commit_sha: str = "",
) -> Waiver:
    """Ask a risk reviewer to accept the risk of not meeting one control, until a hard
    expiry no later than the tier allows."""
    guards.require_owner_side(actor, service, "request waivers for it")
    control_code = (control_code or "").strip()
    if not Control.objects.filter(code=control_code).exists():
        raise DomainError(
            f"No control {control_code!r} in the catalog.", details={"control_code": ["unknown"]}
        )
    now = timezone.now()
    max_days = conf.waiver_max_days(service.tier)
    if expires_at is None or expires_at <= now:
        raise DomainError("A waiver must expire in the future.", details={"expires_at": ["past"]})
    if expires_at > now + timedelta(days=max_days):
        raise DomainError(
            f"Tier {service.tier} waivers may run at most {max_days} days "
            f"(until {(now + timedelta(days=max_days)):%Y-%m-%d}).",
            details={"expires_at": ["too late"]},
        )
    commit_sha = (commit_sha or "").strip().lower()
    if commit_sha and not COMMIT_SHA.match(commit_sha):
        raise DomainError("The commit must be a hex SHA.", details={"commit_sha": ["not hex"]})
    with transaction.atomic():
        waiver = Waiver.objects.create(
            service=service,
            control_code=control_code,
            justification=guards.text(justification, "Justification"),
            compensating_controls=guards.text(compensating_controls, "Compensating controls"),
            risk_owner=guards.text(risk_owner, "Risk owner")[:200],
            requested_by=actor.user,
            expires_at=expires_at,
            release=(release or "").strip()[:100],
            commit_sha=commit_sha,
        )
        audit_record(
            actor=actor,
            action="waiver.request",
            obj=waiver,
            service_slug=service.slug,
            after={
                "control": control_code,
                "expires_at": expires_at,
                "release": waiver.release,
                "commit_sha": commit_sha,
            },
        )
    return waiver


def _lock_waiver(waiver: Waiver) -> Waiver:
    return (
        Waiver.objects.select_for_update(of=("self",))
        .select_related("service__team")
        .get(pk=waiver.pk)
    )


@guards.transition("waiver.decide")
def waiver_decide(
    *,
    actor: Actor,
    waiver: Waiver,
    approve: bool,
    comment: str = "",
    expires_at: datetime | None = None,
) -> Waiver:
    """A risk reviewer outside the owning team (and not the requester) approves or rejects a
    requested waiver; approving may shorten, never extend, its expiry."""
    with transaction.atomic():
        waiver = _lock_waiver(waiver)
        user = actor.user
        if user is None or not user.has_role(Role.RISK):
            raise DomainError("Only risk reviewers may decide waivers.", code="not_allowed")
        if user.pk == waiver.requested_by_id or guards.is_member(user, waiver.service):
            raise DomainError(
                "A waiver is decided by a risk reviewer outside the owning team, not its "
                "requester.",
                code="not_allowed",
            )
        if waiver.status != WaiverStatus.REQUESTED:
            raise DomainError(
                f"Waiver #{waiver.pk} is already {waiver.get_status_display().lower()}.",
                code="invalid_state",
            )
        now = timezone.now()
        if approve and waiver.expires_at <= now:
            raise DomainError(
                "The requested expiry has passed; ask for a new waiver.", code="invalid_state"
            )
        if approve and expires_at is not None:
            if expires_at <= now or expires_at > waiver.expires_at:
                raise DomainError("An approver may only shorten the expiry, to a future date.")
            waiver.expires_at = expires_at
        comment = guards.text(comment, "Comment", required=not approve)
        waiver.status = WaiverStatus.APPROVED if approve else WaiverStatus.REJECTED
        waiver.decided_by, waiver.decided_at, waiver.decision_comment = user, now, comment
        waiver.save()
        audit_record(
            actor=actor,
            action="waiver.approve" if approve else "waiver.reject",
            obj=waiver,
            service_slug=waiver.service.slug,
            message=comment[:500],
            after={"status": waiver.status, "expires_at": waiver.expires_at},
        )
    return waiver


@guards.transition("waiver.revoke")
def waiver_revoke(*, actor: Actor, waiver: Waiver, reason: str) -> Waiver:
    """Withdraw (owning team) or revoke (risk reviewer, platform admin) a waiver. Approved
    reviews relying on it are revoked: their approval no longer holds."""
    with transaction.atomic():
        waiver = _lock_waiver(waiver)
        user = actor.user
        allowed = user is not None and (
            user.has_role(Role.RISK)
            or user.is_platform_admin
            or guards.is_member(user, waiver.service)
        )
        if not allowed:
            raise DomainError(
                "Only the owning team, risk reviewers or a platform admin may revoke a waiver.",
                code="not_allowed",
            )
        if waiver.current_status not in (WaiverStatus.REQUESTED, WaiverStatus.APPROVED):
            raise DomainError(
                f"Waiver #{waiver.pk} is already {waiver.current_status_label.lower()}.",
                code="invalid_state",
            )
        reason = guards.text(reason, "Reason")
        before = {"status": waiver.status}
        waiver.status = WaiverStatus.REVOKED
        waiver.revoked_by, waiver.revoked_at, waiver.revoked_reason = user, timezone.now(), reason
        waiver.save()
        audit_record(
            actor=actor,
            action="waiver.revoke",
            obj=waiver,
            service_slug=waiver.service.slug,
            message=reason,
            before=before,
            after={"status": waiver.status},
        )
        dependent = Review.objects.filter(
            status=ReviewStatus.APPROVED, items__waiver=waiver
        ).distinct()
        for review in dependent:
            _revoke(
                actor, guards.lock(review), f"waiver #{waiver.pk} for {waiver.control_code} revoked"
            )
    return waiver


def waiver_expire_due(*, actor: Actor | None = None, at: datetime | None = None) -> int:
    """Record expiry of approved waivers past ``expires_at`` (scheduled; reads already
    ignore them). Idempotent."""
    actor = actor or Actor.system("waiver-expiry")
    at = at or timezone.now()
    count = 0
    for pk in Waiver.objects.filter(status=WaiverStatus.APPROVED, expires_at__lte=at).values_list(
        "pk", flat=True
    ):
        with transaction.atomic():
            waiver = _lock_waiver(Waiver(pk=pk))
            if waiver.status != WaiverStatus.APPROVED or waiver.expires_at > at:
                continue
            waiver.status = WaiverStatus.EXPIRED
            waiver.save(update_fields=["status", "updated_at"])
            audit_record(
                actor=actor,
                action="waiver.expire",
                obj=waiver,
                service_slug=waiver.service.slug,
                after={"status": waiver.status},
            )
            count += 1
    return count
