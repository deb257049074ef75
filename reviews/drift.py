"""Drift: what a finished collection run means for the service's approved reviews.

- A mandatory automated control that now fails (and is not covered by an active waiver)
  revokes the approval (``review.revoke``) and the owners get one drift notice.
- A mandatory automated control whose latest result is ``error`` (the collector role cannot
  be assumed, a region or a fact could not be collected, the check errored) leaves the
  approval in force, but the gate denies it (``control_error``) until evidence can be
  collected. The owners are told once per episode (``Event.EVIDENCE_UNAVAILABLE``, audited
  as ``review.drift_alert``) and once when every such control has a result again
  (``review.drift_resolve``).
- A run that matched no function while the previous run of the same target matched some
  (functions renamed or retagged, a wrong selector) leaves the approval in force too; the
  owners are told once for that run, naming the controls now without any result (the gate
  denies those as ``control_no_result``).

Every notice has a stable ``key``, so a redelivered signal or a concurrent check announces
nothing twice.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from audit.context import Actor
from notifications.choices import Event
from notifications.models import Notification
from notifications.services import notify
from portal.errors import DomainError
from reviews import guards, workflow
from reviews.choices import ReviewStatus
from reviews.models import Review, ReviewItem
from reviews.selectors import active_waivers

logger = logging.getLogger(__name__)
FAILING = "fail"
ERROR = "error"
ACTOR_LABEL = "drift-detector"
ERROR_KEY = "drift_error"
EMPTY_KEY = "drift_no_functions"


def _latest_check_status(service, check_ids):
    try:
        from collection.selectors import latest_check_status
    except ImportError:  # the collection app's selectors are not installed
        return {}
    return latest_check_status(service, check_ids=check_ids)


def _codes(codes: list[str], limit: int = 4) -> str:
    shown = ", ".join(codes[:limit])
    return f"{shown} and {len(codes) - limit} more" if len(codes) > limit else shown


def review_check_drift(*, service, run=None) -> list[Review]:
    """Check the approved reviews of ``service`` against its latest collection results (and
    ``run``, the run that just finished, when given): revoke those whose mandatory automated
    controls fail now, tell the owners when such controls error or lost their functions.
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
    now = timezone.now()
    waivers = active_waivers(service, now)
    emptied = _emptied_target(run)
    episodes = _error_episodes(service)
    revoked = []
    for review in approved:
        review.service = service
        status = {
            item.control.code: getattr(latest.get(item.control.check_id), "status", None)
            for item in by_review.get(review.pk, [])
            if item.control.code not in waivers
        }
        if not status:
            continue
        failing = [code for code, s in status.items() if s == FAILING]
        if failing:
            if _revoke(review, service, failing):
                revoked.append(review)
            continue
        if not review.is_valid_at(now):
            continue  # expired (the expiry task records it): no approval left to warn about
        _check_errors(review, service, status, episodes.get(review.pk, (0, False)), run)
        if emptied is not None:
            _announce_emptied(review, service, status, *emptied)
    return revoked


def _revoke(review: Review, service, failing: list[str]) -> bool:
    try:
        workflow.review_revoke(
            actor=Actor.system(ACTOR_LABEL),
            review=review,
            reason=f"drift: {', '.join(failing)} failing",
            notify_owners=False,
        )
    except DomainError as exc:  # e.g. expired meanwhile: nothing left to revoke
        logger.info("drift: review %s not revoked: %s", review.pk, exc.message)
        return False
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
    return True


# --- errors instead of results -----------------------------------------------------------


def _error_episodes(service) -> dict[int, tuple[int, bool]]:
    """Per review id: the newest collection-error episode announced and whether it is still
    open. Episodes are the notifications ``drift_error:<review>:<n>`` and, once resolved,
    ``drift_error:<review>:<n>:resolved`` (one query)."""
    keys = Notification.objects.filter(
        service=service, event=Event.EVIDENCE_UNAVAILABLE, key__startswith=f"{ERROR_KEY}:"
    ).values_list("key", flat=True)
    opened: dict[int, int] = {}
    closed: dict[int, int] = {}
    for key in keys:
        parts = key.split(":")
        try:
            review_id, number = int(parts[1]), int(parts[2])
        except (IndexError, ValueError):
            continue
        seen = closed if parts[3:] == ["resolved"] else opened
        seen[review_id] = max(seen.get(review_id, 0), number)
    return {rid: (n, n > closed.get(rid, 0)) for rid, n in opened.items()}


def _run_problem(run) -> str:
    """What the run that just finished said went wrong, if it could not collect everything."""
    try:
        from collection.choices import RunStatus
    except ImportError:
        return ""
    summary = (getattr(run, "error_summary", "") or "").strip()
    if not summary or getattr(run, "status", "") not in (RunStatus.FAILED, RunStatus.PARTIAL):
        return ""
    if len(summary) > 600:
        summary = summary[:600].rstrip() + "…"
    return f" Collection run #{run.pk} reported: {summary}"


def _check_errors(review: Review, service, status: dict, episode: tuple[int, bool], run) -> None:
    number, is_open = episode
    env = review.environment
    erroring = [code for code, s in status.items() if s == ERROR]
    if erroring and not is_open:
        subject = (
            f"{service.name} ({env}): automated evidence cannot be collected for "
            f"{_codes(erroring)} (approval #{review.pk})"
        )
        body = (
            f"The mandatory automated controls {', '.join(erroring)} of approval #{review.pk} "
            f"could not be evaluated: the latest collection returned errors instead of "
            f"results.{_run_problem(run)} The approval stays in force, but the gate denies "
            f"deployments to {env} until evidence can be collected. Check the collector role "
            "(its trust policy and external id) and the AWS target, then collect again."
        )
        _announce(
            review,
            service,
            key=f"{ERROR_KEY}:{review.pk}:{number + 1}",
            action="review.drift_alert",
            subject=subject,
            body=body,
            details={
                "condition": "collection_error",
                "state": "open",
                "controls": erroring,
                "run": getattr(run, "pk", None),
            },
        )
    elif is_open and not erroring and all(s is not None for s in status.values()):
        codes = sorted(status)
        _announce(
            review,
            service,
            key=f"{ERROR_KEY}:{review.pk}:{number}:resolved",
            action="review.drift_resolve",
            subject=f"{service.name} ({env}): automated evidence collected again "
            f"(approval #{review.pk})",
            body=f"Every mandatory automated control of approval #{review.pk} "
            f"({', '.join(codes)}) has a result again; the gate answers from those results.",
            details={
                "condition": "collection_error",
                "state": "resolved",
                "controls": codes,
                "run": getattr(run, "pk", None),
            },
        )


# --- a run that matched no function ------------------------------------------------------


def _emptied_target(run):
    """``(run, previous)`` when ``run`` succeeded but matched no function while the previous
    run of its target that saw the account (succeeded, or found functions) matched some."""
    if getattr(run, "aws_target_id", None) is None or not getattr(run, "pk", None):
        return None
    try:
        from collection.choices import RunStatus
        from collection.models import CollectionRun
    except ImportError:
        return None
    if run.status != RunStatus.SUCCEEDED or run.functions_discovered or run.finished_at is None:
        return None
    previous = (
        CollectionRun.objects.filter(
            aws_target_id=run.aws_target_id, finished_at__lte=run.finished_at
        )
        .filter(Q(status=RunStatus.SUCCEEDED) | Q(functions_discovered__gt=0))
        .exclude(pk=run.pk)
        .order_by("-finished_at", "-pk")
        .first()
    )
    if previous is None or not previous.functions_discovered:
        return None
    return run, previous


def _selector(target) -> str:
    if target is None:
        return "the target's function selector"
    parts = []
    if target.function_name_prefix:
        parts.append(f"name prefix {target.function_name_prefix!r}")
    if target.function_tags:
        tags = ", ".join(f"{k}={v}" for k, v in sorted(target.function_tags.items()))
        parts.append(f"tags {tags}")
    return "selector: " + (" and ".join(parts) if parts else "every function")


def _announce_emptied(review: Review, service, status: dict, run, previous) -> None:
    env = review.environment
    missing = [code for code, s in status.items() if s is None]
    regions = ", ".join(run.regions or []) or "no region"
    body = (
        f"Collection run #{run.pk} of AWS account {run.account_id} ({regions}) matched no "
        f"Lambda function, while run #{previous.pk} matched {previous.functions_discovered}. "
        f"Functions renamed or retagged, or a wrong {_selector(getattr(run, 'aws_target', None))}"
        ", leave the approval without automated evidence."
    )
    if missing:
        body += (
            f" The mandatory automated controls {', '.join(missing)} now have no result: the "
            f"approval stays in force, but the gate denies deployments to {env} until evidence "
            "can be collected."
        )
    else:
        body += (
            " The service's other AWS targets still report results for its mandatory automated "
            "controls, and the gate answers from them."
        )
    body += " Fix the target's function selector (or the functions' names and tags), then "
    body += "collect again."
    _announce(
        review,
        service,
        key=f"{EMPTY_KEY}:{review.pk}:{run.pk}",
        action="review.drift_alert",
        subject=f"{service.name} ({env}): collection found no Lambda functions "
        f"(approval #{review.pk})",
        body=body,
        details={
            "condition": "no_functions",
            "state": "open",
            "controls": missing,
            "run": run.pk,
            "previous_run": previous.pk,
            "previous_functions": previous.functions_discovered,
        },
    )


def _announce(review: Review, service, *, key, action, subject, body, details) -> bool:
    """Notify the owners and audit it, once per ``key`` (a repeat does neither)."""
    with transaction.atomic():
        note = notify(
            event=Event.EVIDENCE_UNAVAILABLE,
            service=service,
            review=review,
            key=key,
            subject=subject,
            body=body,
            data=details,
        )
        if note is None:
            return False
        guards.audit(Actor.system(ACTOR_LABEL), action, review, message=subject, details=details)
    logger.info("drift: %s for review %s (%s)", action, review.pk, key)
    return True


def on_run_finished(sender, run, **kwargs):
    """``collection.signals.run_finished`` receiver."""
    review_check_drift(service=run.service, run=run)
