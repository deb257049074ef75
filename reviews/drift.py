"""Drift: after a collection run, an approved review whose mandatory automated control now
fails (and is not covered by an active waiver) is revoked, audited and its owners told."""

from __future__ import annotations

import logging

from django.utils import timezone

from audit.context import Actor
from notifications.choices import Event
from notifications.services import notify
from portal.errors import DomainError
from reviews import workflow
from reviews.choices import ReviewStatus
from reviews.models import Review, ReviewItem
from reviews.selectors import active_waivers

logger = logging.getLogger(__name__)
FAILING = "fail"


def _latest_check_status(service, check_ids):
    try:
        from collection.selectors import latest_check_status
    except ImportError:  # the collection app's selectors are not installed
        return {}
    return latest_check_status(service, check_ids=check_ids)


def review_check_drift(*, service) -> list[Review]:
    """Revoke approved reviews of ``service`` whose mandatory automated controls fail now.
    Returns the reviews revoked."""
    approved = list(Review.objects.filter(service=service, status=ReviewStatus.APPROVED))
    if not approved:
        return []
    items = ReviewItem.objects.filter(
        review__in=approved, mandatory=True, control__check_id__gt=""
    ).select_related("control")
    by_review: dict[int, list[ReviewItem]] = {}
    for item in items:
        by_review.setdefault(item.review_id, []).append(item)
    check_ids = sorted({i.control.check_id for group in by_review.values() for i in group})
    if not check_ids:
        return []
    latest = _latest_check_status(service, check_ids)
    waivers = active_waivers(service, timezone.now())
    revoked = []
    for review in approved:
        failing = [
            item.control.code
            for item in by_review.get(review.pk, [])
            if getattr(latest.get(item.control.check_id), "status", None) == FAILING
            and item.control.code not in waivers
        ]
        if not failing:
            continue
        review.service = service
        try:
            workflow.review_revoke(
                actor=Actor.system("drift-detector"),
                review=review,
                reason=f"drift: {', '.join(failing)} failing",
                notify_owners=False,
            )
        except DomainError as exc:  # e.g. expired meanwhile: nothing left to revoke
            logger.info("drift: review %s not revoked: %s", review.pk, exc.message)
            continue
        notify(
            event=Event.DRIFT_DETECTED,
            service=service,
            review=review,
            key=f"drift:{review.pk}",
            subject=f"{service.name} ({review.environment}): drift revoked approval #{review.pk}",
            body=f"The approval was revoked: mandatory automated controls now fail "
            f"({', '.join(failing)}). The gate denies deployments to {review.environment} "
            "until a new review is approved.",
            data={"failing": failing},
        )
        revoked.append(review)
    return revoked


def on_run_finished(sender, run, **kwargs):
    """``collection.signals.run_finished`` receiver."""
    review_check_drift(service=run.service)
