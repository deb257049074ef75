"""Notifications: one call, ``notify(event=..., service=..., ...)``, from the workflow.

It records the notification once (a ``key`` makes repeated calls and scheduled scans
idempotent) inside the caller's transaction, and after commit e-mails the people who want it
and queues a signed delivery to each matching webhook. Nothing is sent for a change that
rolled back.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import random
import secrets
import time
import urllib.error
import urllib.request
import uuid
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.choices import MembershipRole
from accounts.models import Membership, User
from audit.context import Actor
from audit.services import audit_record
from notifications.choices import REVIEWER_EVENTS, DeliveryStatus, Event
from notifications.models import Notification, Preference, Webhook, WebhookDelivery
from portal.errors import DomainError

logger = logging.getLogger(__name__)

APPROVAL_NOTICE_DAYS = 14
WAIVER_NOTICE_DAYS = 14
SIGNATURE_HEADER = "X-PRR-Signature-256"


def _setting(name: str, default):
    return getattr(settings, name, default)


def max_attempts() -> int:
    return int(_setting("NOTIFICATIONS_WEBHOOK_MAX_ATTEMPTS", 6))


def absolute(url: str) -> str:
    if not url or url.startswith("http"):
        return url
    return f"{settings.PORTAL_BASE_URL.rstrip('/')}{url}"


# --- who receives what ------------------------------------------------------------------


def wants(user, event: str, *, default: bool = True) -> bool:
    """The user's choice for ``event``; ``default`` when they never chose."""
    pref = next((p for p in user.notification_prefs.all() if p.event == event), None)
    return pref.email if pref is not None else default


def team_recipients(service, event: str) -> list[User]:
    """The owning team's owners (all members when the team has no owner) unless they opted
    out, plus members who opted in."""
    members = list(
        Membership.objects.filter(team_id=service.team_id, user__is_active=True)
        .select_related("user")
        .prefetch_related("user__notification_prefs")
    )
    has_owner = any(m.role == MembershipRole.OWNER for m in members)
    out = []
    for m in members:
        default = m.role == MembershipRole.OWNER or not has_owner
        if wants(m.user, event, default=default):
            out.append(m.user)
    return out


def reviewers_needed(review) -> list[User]:
    """Reviewers who could sign a submitted review in a role it still needs: they hold the
    role, are outside the owning team and did not submit it."""
    from reviews import conf
    from reviews.models import SignOff

    signed = set(
        SignOff.objects.filter(review=review, archived_at__isnull=True).values_list(
            "role", flat=True
        )
    )
    roles = [r for r in conf.signoff_roles(review.service.tier) if r not in signed]
    if not roles:
        return []
    users = (
        User.objects.filter(is_active=True, role_grants__role__in=roles)
        .exclude(memberships__team_id=review.service.team_id)
        .exclude(pk=review.submitted_by_id)
        .prefetch_related("notification_prefs")
        .distinct()
    )
    return [u for u in users if wants(u, Event.REVIEW_SUBMITTED)]


# --- notify -----------------------------------------------------------------------------


def notify(
    *,
    event: str,
    service,
    subject: str,
    body: str,
    url: str = "",
    key: str = "",
    review=None,
    recipients: list | None = None,
    data: dict | None = None,
) -> Notification | None:
    """Announce ``event`` about ``service``: e-mail to those who want it (reviewers still
    needed for a submitted review, otherwise the owning team and its contact address) and a
    signed POST to each matching webhook, after the caller's transaction commits.

    Returns the notification, or None when ``key`` was already announced.
    """
    if event not in Event.values:
        raise ValueError(f"unknown notification event {event!r}")
    if recipients is None:
        if event in REVIEWER_EVENTS and review is not None:
            recipients = reviewers_needed(review)
        else:
            recipients = team_recipients(service, event)
    emails = sorted({u.email for u in recipients if u.email})
    if event not in REVIEWER_EVENTS and service.team.contact_email:
        emails.append(service.team.contact_email)
    url = absolute(url or (review.get_absolute_url() if review is not None else ""))
    payload = {
        "event": event,
        "service": {"slug": service.slug, "name": service.name, "team": service.team.slug},
        "subject": subject,
        "text": body,
        "url": url,
        **({"review": {"id": review.pk, "environment": review.environment}} if review else {}),
        **(data or {}),
    }
    try:
        with transaction.atomic():
            note = Notification.objects.create(
                event=event,
                key=(key or f"{event}:{uuid.uuid4()}")[:200],
                service=service,
                subject=subject[:300],
                body=body,
                url=url[:500],
                payload=payload,
                recipients=emails,
            )
    except IntegrityError:
        return None  # announced before
    note.payload = {"id": str(note.pk), "created_at": note.created_at.isoformat(), **payload}
    Notification.objects.filter(pk=note.pk).update(payload=note.payload)
    hooks = Webhook.objects.filter(is_active=True).filter(
        Q(team__isnull=True) | Q(team=service.team_id)
    )
    deliveries = [
        WebhookDelivery.objects.create(webhook=hook, notification=note)
        for hook in hooks
        if event in (hook.events or [])
    ]
    transaction.on_commit(lambda: _send_emails(note))
    if deliveries:
        from notifications.tasks import deliver_webhook

        for delivery in deliveries:
            deliver_webhook.delay_on_commit(delivery.pk)
    return note


def _send_emails(note: Notification) -> None:
    if not note.recipients:
        return
    text = f"{note.body}\n\n{note.url}\n\nChoose which notifications you get: " + absolute(
        "/notifications/"
    )
    messages = [
        EmailMessage(f"[PRR] {note.subject}", text, None, [address]) for address in note.recipients
    ]
    try:
        get_connection(fail_silently=False).send_messages(messages)
    except Exception:  # a mail outage must not break the workflow that triggered it
        logger.exception("notification %s: e-mail failed", note.pk)


# --- webhooks ---------------------------------------------------------------------------


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """``t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>." + body>``: receivers recompute it
    and reject old timestamps, so a captured delivery cannot be replayed later."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(secret: str, header: str, body: bytes, *, tolerance: int = 300, now=None) -> bool:
    """What a receiver does with the signature header (documented for integrators)."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
    except (ValueError, KeyError):
        return False
    now = int(now if now is not None else time.time())
    if abs(now - timestamp) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), header)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a webhook answers itself; following redirects would leak the payload


_opener = urllib.request.build_opener(_NoRedirect)


def backoff_seconds(attempt: int) -> int:
    """30 s, 1 min, 2 min, 4 min… capped at one hour, with ±20% jitter."""
    base = min(30 * 2 ** max(attempt - 1, 0), 3600)
    return max(1, int(base * random.uniform(0.8, 1.2)))


def webhook_attempt(delivery_id: int) -> WebhookDelivery:
    """POST the delivery once and log the attempt. Delivered on any 2xx answer; otherwise
    retrying (the task schedules the next try) until the attempts run out."""
    delivery = WebhookDelivery.objects.select_related("webhook", "notification").get(pk=delivery_id)
    if delivery.status in (DeliveryStatus.DELIVERED, DeliveryStatus.FAILED):
        return delivery  # a redelivered task changes nothing twice
    hook, note = delivery.webhook, delivery.notification
    body = json.dumps(
        {**note.payload, "delivery_id": str(delivery.delivery_id)},
        sort_keys=True,
        separators=(",", ":"),
    ).encode()
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "PRR-Portal-Webhooks/1",
        "X-PRR-Event": note.event,
        "X-PRR-Delivery": str(delivery.delivery_id),
        SIGNATURE_HEADER: sign(hook.secret, timestamp, body),
    }
    started = time.monotonic()
    status_code, error = None, ""
    try:
        url = _check_url(hook.url)  # only http(s): never file: or custom schemes
        request = urllib.request.Request(url, data=body, method="POST", headers=headers)  # noqa: S310
        with _opener.open(request, timeout=_setting("NOTIFICATIONS_WEBHOOK_TIMEOUT", 10)) as resp:
            status_code = resp.status
    except DomainError as exc:
        error = exc.message
    except urllib.error.HTTPError as exc:
        status_code, error = exc.code, f"HTTP {exc.code} {exc.reason}"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        error = str(getattr(exc, "reason", exc))[:300]
    now = timezone.now()
    attempt = {
        "at": now.isoformat(),
        "status_code": status_code,
        "error": error,
        "ms": int((time.monotonic() - started) * 1000),
    }
    attempts = [*delivery.attempts, attempt]
    ok = status_code is not None and 200 <= status_code < 300
    if ok:
        status, next_at, delivered = DeliveryStatus.DELIVERED, None, now
    elif len(attempts) >= max_attempts():
        status, next_at, delivered = DeliveryStatus.FAILED, None, None
    else:
        status, delivered = DeliveryStatus.RETRYING, None
        next_at = now + timedelta(seconds=backoff_seconds(len(attempts)))
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        attempts=attempts, status=status, next_attempt_at=next_at, delivered_at=delivered
    )
    delivery.refresh_from_db()
    return delivery


def _check_url(url: str) -> str:
    url = (url or "").strip()
    parts = urlsplit(url)
    allow_http = _setting("NOTIFICATIONS_WEBHOOK_ALLOW_HTTP", settings.DEBUG)
    if parts.scheme != "https" and not (allow_http and parts.scheme == "http"):
        raise DomainError("Webhook URLs must use https://.", details={"url": ["not https"]})
    if not parts.hostname:
        raise DomainError("The webhook URL has no host.", details={"url": ["no host"]})
    return url


def _check_events(events) -> list[str]:
    chosen = sorted(set(events or []))
    unknown = [e for e in chosen if e not in Event.values]
    if unknown or not chosen:
        raise DomainError("Choose at least one known event.", details={"events": unknown})
    return chosen


def webhook_manageable_by(user, webhook: Webhook) -> bool:
    if user.is_platform_admin:
        return True
    return webhook.team_id is not None and webhook.team_id in user.team_ids


def webhook_create(
    *, actor: Actor, name: str, url: str, events: list[str], team=None
) -> tuple[Webhook, str]:
    """Register a webhook for a team the actor belongs to (platform admins: any team, or
    none for every service). Returns it with its signing secret, shown this once."""
    user = actor.user
    if user is None:
        raise DomainError("Sign in to add webhooks.", code="not_allowed")
    if team is None and not user.is_platform_admin:
        raise DomainError("Choose your team.", details={"team": ["required"]})
    if team is not None and team.pk not in user.team_ids and not user.is_platform_admin:
        raise DomainError("You can add webhooks only for your own teams.", code="not_allowed")
    name = (name or "").strip()[:100]
    if not name:
        raise DomainError("Name the webhook.", details={"name": ["required"]})
    secret = "whsec_" + secrets.token_urlsafe(32)
    with transaction.atomic():
        hook = Webhook.objects.create(
            team=team,
            name=name,
            url=_check_url(url),
            secret=secret,
            events=_check_events(events),
            created_by=user,
        )
        audit_record(
            actor=actor,
            action="webhook.create",
            obj=hook,
            after={"url": hook.url, "events": hook.events, "team": team.slug if team else None},
        )
    return hook, secret


def webhook_update(*, actor: Actor, webhook: Webhook, events: list[str], is_active: bool):
    """Change which events a webhook receives, or pause it."""
    if not webhook_manageable_by(actor.user, webhook):
        raise DomainError("You may not change this webhook.", code="not_allowed")
    before = {"events": webhook.events, "is_active": webhook.is_active}
    with transaction.atomic():
        webhook.events = _check_events(events)
        webhook.is_active = bool(is_active)
        webhook.save(update_fields=["events", "is_active", "updated_at"])
        audit_record(
            actor=actor,
            action="webhook.update",
            obj=webhook,
            before=before,
            after={"events": webhook.events, "is_active": webhook.is_active},
        )
    return webhook


def webhook_delete(*, actor: Actor, webhook: Webhook) -> None:
    """Remove a webhook and its delivery log."""
    if not webhook_manageable_by(actor.user, webhook):
        raise DomainError("You may not delete this webhook.", code="not_allowed")
    with transaction.atomic():
        audit_record(actor=actor, action="webhook.delete", obj=webhook, before={"url": webhook.url})
        webhook.delete()


def delivery_retry(*, actor: Actor, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send a failed delivery again (a fresh set of attempts)."""
    if not webhook_manageable_by(actor.user, delivery.webhook):
        raise DomainError("You may not retry this delivery.", code="not_allowed")
    if delivery.status != DeliveryStatus.FAILED:
        raise DomainError("Only failed deliveries can be retried.", code="invalid_state")
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.PENDING, attempts=[], next_attempt_at=None
    )
    from notifications.tasks import deliver_webhook

    deliver_webhook.delay_on_commit(delivery.pk)
    delivery.refresh_from_db()
    return delivery


# --- preferences ------------------------------------------------------------------------


def preferences_for(user) -> dict[str, bool]:
    """Every event with the user's effective choice (defaults filled in)."""
    chosen = dict(user.notification_prefs.values_list("event", "email"))
    owner = Membership.objects.filter(user=user, role=MembershipRole.OWNER).exists()
    defaults = dict.fromkeys(Event.values, True)
    if not owner and user.team_ids:
        # Plain members get team notifications only when they ask (owners are the default).
        defaults.update({e: False for e in Event.values if e not in REVIEWER_EVENTS})
    return {e: chosen.get(e, defaults[e]) for e in Event.values}


def preferences_set(*, actor: Actor, enabled: list[str]) -> dict[str, bool]:
    """Store the user's choice for every event: those in ``enabled`` on, the rest off."""
    user = actor.user
    enabled_set = set(enabled) & set(Event.values)
    with transaction.atomic():
        for event in Event.values:
            Preference.objects.update_or_create(
                user=user, event=event, defaults={"email": event in enabled_set}
            )
    return preferences_for(user)


# --- scheduled scans --------------------------------------------------------------------


def approvals_expiring_scan(*, at: datetime | None = None) -> int:
    """Tell owners once when an approval has 14 days or less left."""
    from reviews.choices import ReviewStatus
    from reviews.models import Review

    at = at or timezone.now()
    due = Review.objects.filter(
        status=ReviewStatus.APPROVED,
        expires_at__gt=at,
        expires_at__lte=at + timedelta(days=APPROVAL_NOTICE_DAYS),
    ).select_related("service__team")
    sent = 0
    for review in due:
        days = max((review.expires_at - at).days, 0)
        note = notify(
            event=Event.APPROVAL_EXPIRING,
            service=review.service,
            review=review,
            key=f"approval_expiring:{review.pk}:{review.expires_at:%Y%m%d%H%M}",
            subject=f"{review.service.name} ({review.environment}): approval expires in "
            f"{days} day(s)",
            body=f"The approval of review #{review.pk} expires on "
            f"{review.expires_at:%Y-%m-%d %H:%M} UTC. After that the gate denies deployments "
            f"to {review.environment}. Open a new review in time.",
            data={"expires_at": review.expires_at.isoformat()},
        )
        sent += note is not None
    return sent


def waivers_expiring_scan(*, at: datetime | None = None) -> int:
    """Tell owners (and the requester) once when an approved waiver nears its expiry."""
    from reviews.choices import WaiverStatus
    from reviews.models import Waiver

    at = at or timezone.now()
    due = Waiver.objects.filter(
        status=WaiverStatus.APPROVED,
        expires_at__gt=at,
        expires_at__lte=at + timedelta(days=WAIVER_NOTICE_DAYS),
    ).select_related("service__team", "requested_by")
    sent = 0
    for waiver in due:
        recipients = team_recipients(waiver.service, Event.WAIVER_EXPIRING)
        requester = waiver.requested_by
        if (
            requester.is_active
            and requester not in recipients
            and wants(requester, Event.WAIVER_EXPIRING)
        ):
            recipients.append(requester)
        days = max((waiver.expires_at - at).days, 0)
        note = notify(
            event=Event.WAIVER_EXPIRING,
            service=waiver.service,
            recipients=recipients,
            url=waiver.get_absolute_url(),
            key=f"waiver_expiring:{waiver.pk}:{waiver.expires_at:%Y%m%d%H%M}",
            subject=f"{waiver.service.name}: waiver for {waiver.control_code} expires in "
            f"{days} day(s)",
            body=f"Waiver #{waiver.pk} for {waiver.control_code} expires on "
            f"{waiver.expires_at:%Y-%m-%d %H:%M} UTC. Approvals relying on it stop holding "
            "then: fix the control or request a new waiver.",
            data={"waiver": {"id": waiver.pk, "control": waiver.control_code}},
        )
        sent += note is not None
    return sent
