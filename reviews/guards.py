"""Shared plumbing of review transitions: permission rules (who is the owner side, who is
an independent reviewer), row locking with the version check, the refusal-audit wrapper,
owner notifications and audit helpers."""

from __future__ import annotations

import functools

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction

from accounts.choices import MembershipRole
from accounts.models import Membership
from audit.context import Actor
from audit.services import audit_denied, audit_record
from portal.errors import DomainError
from reviews.choices import ReviewStatus
from reviews.models import Review, ReviewItem

MAX_TEXT = 10_000


def service_of(target):
    if target is None:
        return None
    if hasattr(target, "team_id") and hasattr(target, "tier"):
        return target
    if isinstance(target, ReviewItem):
        return target.review.service
    return getattr(target, "service", None)


def transition(action: str):
    """Audit a refusal of ``action`` (any DomainError) after its transaction rolled back."""

    def decorate(fn):
        @functools.wraps(fn)
        def wrapper(**kwargs):
            try:
                return fn(**kwargs)
            except DomainError as exc:
                target = next(
                    (kwargs[k] for k in ("item", "review", "waiver", "service") if kwargs.get(k)),
                    None,
                )
                service = service_of(target)
                audit_denied(
                    actor=kwargs["actor"],
                    action=action,
                    obj=target,
                    message=exc.message,
                    service_slug=service.slug if service is not None else "",
                )
                raise

        return wrapper

    return decorate


def text(value: str, label: str, *, required: bool = True) -> str:
    value = (value or "").strip()
    if required and not value:
        raise DomainError(f"{label} is required.", details={label.lower(): ["required"]})
    if len(value) > MAX_TEXT:
        raise DomainError(f"{label} is too long ({MAX_TEXT} characters at most).")
    return value


def is_member(user, service) -> bool:
    return user is not None and service.team_id in user.team_ids


def require_owner_side(actor: Actor, service, action: str) -> None:
    if not is_member(actor.user, service):
        raise DomainError(
            f"Only members of {service.team.name}, which owns {service.name}, may {action}.",
            code="not_allowed",
        )


def require_independent_reviewer(actor: Actor, review: Review, action: str) -> None:
    """Maker-checker: a reviewer from outside the owning team who did not submit it."""
    user = actor.user
    if user is None or not user.is_reviewer:
        raise DomainError(f"Only SRE, security or risk reviewers may {action}.", code="not_allowed")
    if is_member(user, review.service):
        raise DomainError(
            f"You are a member of {review.service.team.name}, which owns this service; "
            f"a reviewer from outside the team must {action}.",
            code="not_allowed",
        )
    if review.submitted_by_id == user.pk:
        raise DomainError(
            f"You submitted this review, so you may not {action}.", code="not_allowed"
        )


def require_status(review: Review, allowed, action: str) -> None:
    status = review.effective_status()
    if status not in allowed:
        raise DomainError(
            f"Cannot {action}: the review is {ReviewStatus(status).label.lower()}.",
            code="invalid_state",
            details={"status": status},
        )


def lock(review: Review, expected_version: int | None = None) -> Review:
    locked = (
        Review.objects.select_for_update(of=("self",))
        .select_related("service__team", "catalog_version")
        .get(pk=review.pk)
    )
    if expected_version is not None and int(expected_version) != locked.version:
        raise DomainError(
            "The review changed since you loaded it; reload the page and try again.",
            code="conflict",
            details={"version": locked.version},
        )
    return locked


def save(review: Review, *fields: str) -> None:
    review.version += 1
    review.save(update_fields=[*fields, "version", "updated_at"])


def lock_item(item: ReviewItem, expected_version: int | None) -> tuple[Review, ReviewItem]:
    review = lock(item.review, expected_version)
    locked_item = ReviewItem.objects.select_related("control", "waiver").get(
        pk=item.pk, review=review
    )
    locked_item.review = review
    return review, locked_item


def owner_emails(service) -> list[str]:
    members = Membership.objects.filter(team_id=service.team_id).select_related("user")
    owners = [m.user.email for m in members if m.role == MembershipRole.OWNER and m.user.email]
    emails = owners or [m.user.email for m in members if m.user.email]
    if service.team.contact_email:
        emails.append(service.team.contact_email)
    return sorted(set(emails))


def notify_owners(review: Review, subject: str, body: str) -> None:
    """E-mail the owning team once the transaction commits (never for a rolled-back change)."""
    recipients = owner_emails(review.service)
    if not recipients:
        return
    url = f"{settings.PORTAL_BASE_URL.rstrip('/')}{review.get_absolute_url()}"
    message = f"{body}\n\n{review}\n{url}\n"
    transaction.on_commit(
        lambda: send_mail(
            f"[PRR] {review.service.name} ({review.environment}): {subject}",
            message,
            None,
            recipients,
            fail_silently=True,
        )
    )


def review_state(review: Review) -> dict:
    return {
        "status": review.status,
        "version": review.version,
        "approval_hash": review.approval_hash,
        "expires_at": review.expires_at,
    }


def audit(actor: Actor, action: str, review: Review, **kwargs) -> None:
    audit_record(actor=actor, action=action, obj=review, service_slug=review.service.slug, **kwargs)
