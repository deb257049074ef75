"""Reads of reviews and waivers, restricted to what the user may see, plus the two reads the
gate calls on every decision (``gate_review``, ``active_waivers``: one query each)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from accounts.choices import Role
from reviews import conf, readiness
from reviews.choices import EDITABLE_STATUSES, ReviewStatus, WaiverStatus
from reviews.models import Review, SignOff, Waiver
from services.selectors import service_list_for

TIERS = (1, 2, 3, 4)


def review_list_for(user) -> QuerySet[Review]:
    """Reviews of every service the user may see."""
    return Review.objects.select_related(
        "service__team", "catalog_version", "opened_by", "submitted_by"
    ).filter(service__in=service_list_for(user))


def reviews_for_service(service) -> QuerySet[Review]:
    return (
        Review.objects.filter(service=service)
        .select_related("catalog_version", "opened_by", "submitted_by", "revoked_by")
        .order_by("-created_at", "-id")
    )


def _tiers_requiring(role: str) -> list[int]:
    return [tier for tier in TIERS if role in conf.signoff_roles(tier)]


def reviewer_queue(
    user, *, tier: int | None = None, team: str = "", environment: str = ""
) -> QuerySet[Review]:
    """Submitted reviews this reviewer may act on, oldest submission first: outside their
    teams, not submitted by them, and still needing a role they hold."""
    if not user.is_authenticated or not user.is_reviewer:
        return Review.objects.none()
    active = SignOff.objects.filter(review=OuterRef("pk"), archived_at__isnull=True)
    needs_me = Q()
    for role in user.reviewer_roles:
        needs_me |= Q(service__tier__in=_tiers_requiring(role)) & ~Exists(active.filter(role=role))
    if not needs_me:
        return Review.objects.none()
    qs = (
        Review.objects.filter(status=ReviewStatus.SUBMITTED)
        .filter(needs_me)
        .exclude(service__team_id__in=user.team_ids)
        .exclude(submitted_by=user)
        .exclude(Exists(active.filter(user=user)))
        .select_related("service__team", "submitted_by", "catalog_version")
    )
    if tier:
        qs = qs.filter(service__tier=tier)
    if team:
        qs = qs.filter(service__team__slug=team)
    if environment:
        qs = qs.filter(environment=environment)
    return qs.order_by("submitted_at", "id")


def gate_review(service, environment: str) -> Review | None:
    """The review that governs deploying ``service`` to ``environment`` (one query).

    The approved review if there is one (at most one exists per environment); else the
    newest review of any status, so the gate can say why it denies (draft, submitted,
    expired, revoked). Check ``review.is_valid_at(at)``: an approval past ``expires_at``
    reads as expired even before the expiry task runs.
    """
    rows = list(
        Review.objects.filter(service=service, environment=environment)
        .select_related("catalog_version")
        .order_by("-created_at", "-id")[:20]
    )
    approved = next((r for r in rows if r.status == ReviewStatus.APPROVED), None)
    if approved is None and len(rows) == 20:  # a long history: ask for the approved one
        approved = Review.objects.filter(
            service=service, environment=environment, status=ReviewStatus.APPROVED
        ).first()
    return approved or (rows[0] if rows else None)


def active_waivers(service, at: datetime | None = None) -> dict[str, Waiver]:
    """Approved, unexpired waivers of ``service`` by control code, in one query. When two
    cover the same control, the one that lasts longer wins. A waiver scoped to a release
    or commit carries ``release``/``commit_sha`` for the caller to match."""
    at = at or timezone.now()
    found: dict[str, Waiver] = {}
    for waiver in Waiver.objects.filter(
        service=service, status=WaiverStatus.APPROVED, expires_at__gt=at
    ).order_by("control_code", "expires_at"):
        found[waiver.control_code] = waiver
    return found


def waivers_for_service(service) -> QuerySet[Waiver]:
    return Waiver.objects.filter(service=service).select_related("requested_by", "decided_by")


def waiver_list_for(user) -> QuerySet[Waiver]:
    return Waiver.objects.filter(service__in=service_list_for(user)).select_related(
        "service__team", "requested_by", "decided_by"
    )


def waiver_queue(user) -> QuerySet[Waiver]:
    """Requested waivers a risk reviewer may decide, oldest first."""
    if not user.is_authenticated or not user.has_role(Role.RISK):
        return Waiver.objects.none()
    return (
        Waiver.objects.filter(status=WaiverStatus.REQUESTED)
        .exclude(service__team_id__in=user.team_ids)
        .exclude(requested_by=user)
        .select_related("service__team", "requested_by")
        .order_by("created_at", "id")
    )


def waivers_usable_for(service, control_code: str) -> QuerySet[Waiver]:
    """Waivers an item of this control may point to: requested or approved and unexpired."""
    return Waiver.objects.filter(
        service=service,
        control_code=control_code,
        status__in=[WaiverStatus.REQUESTED, WaiverStatus.APPROVED],
        expires_at__gt=timezone.now(),
    ).order_by("-expires_at")


@dataclass
class SignOffSlot:
    role: str
    label: str
    signoff: SignOff | None


def signoff_panel(review: Review) -> list[SignOffSlot]:
    """The roles this review's tier needs, each with its current sign-off or None."""
    active = {
        s.role: s
        for s in SignOff.objects.filter(review=review, archived_at__isnull=True).select_related(
            "user"
        )
    }
    return [
        SignOffSlot(role=role, label=Role(role).label, signoff=active.get(role))
        for role in conf.signoff_roles(review.service.tier)
    ]


@dataclass
class ReviewPermissions:
    is_owner_side: bool
    can_edit: bool
    can_submit: bool
    can_review: bool
    signoff_roles: list
    can_comment: bool
    can_revoke: bool
    can_reopen: bool


def permissions_for(user, review: Review) -> ReviewPermissions:
    """What the page offers this user. The workflow re-checks everything on submit."""
    status = review.effective_status()
    member = user.is_authenticated and review.service.team_id in user.team_ids
    independent = (
        user.is_authenticated
        and user.is_reviewer
        and not member
        and review.submitted_by_id != user.pk
    )
    submitted = status == ReviewStatus.SUBMITTED
    signed = {
        (s.user_id, s.role) for s in SignOff.objects.filter(review=review, archived_at__isnull=True)
    }
    signed_roles = {role for _, role in signed}
    already = any(uid == user.pk for uid, _ in signed)
    roles = []
    if independent and submitted and not already:
        roles = [
            r
            for r in conf.signoff_roles(review.service.tier)
            if user.has_role(r) and r not in signed_roles
        ]
    return ReviewPermissions(
        is_owner_side=member,
        can_edit=member and status in EDITABLE_STATUSES,
        can_submit=member and status in (ReviewStatus.DRAFT, ReviewStatus.CHANGES_REQUESTED),
        can_review=independent and submitted,
        signoff_roles=roles,
        can_comment=member or (user.is_authenticated and user.is_reviewer),
        can_revoke=user.is_authenticated
        and user.is_platform_admin
        and status == ReviewStatus.APPROVED,
        can_reopen=(member or (user.is_authenticated and user.is_platform_admin))
        and status == ReviewStatus.APPROVED,
    )


def approval_intact(review: Review) -> bool:
    """Whether an approved review's items still hash to its approval hash (auditors, exports).
    Every change goes through the workflow, which invalidates first; this detects anything
    that bypassed it."""
    if not review.approval_hash:
        return False
    return readiness.approval_hash(review, readiness.items_for(review)) == review.approval_hash
