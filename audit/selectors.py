"""Reads of the audit trail. Pages that show an object's or a service's history check the
reader's right to see that object first; the audit log itself is for auditors and admins."""

from __future__ import annotations

import datetime as dt

from django.db import models
from django.db.models import QuerySet

from audit.models import AuditEvent


def can_read_audit_log(user) -> bool:
    """Auditors and platform admins read the whole audit log."""
    return bool(user and user.is_authenticated and (user.is_auditor or user.is_platform_admin))


def event_list_for(user) -> QuerySet[AuditEvent]:
    """Every event for auditors and platform admins, nothing for anyone else."""
    qs = AuditEvent.objects.select_related("actor_user").order_by("-seq")
    return qs if can_read_audit_log(user) else qs.none()


def events_for_object(obj: models.Model) -> QuerySet[AuditEvent]:
    """The history of one object (e.g. a review), newest first."""
    return AuditEvent.objects.filter(
        object_type=obj._meta.label_lower, object_id=str(obj.pk)
    ).order_by("-seq")


def events_for_service(slug: str) -> QuerySet[AuditEvent]:
    """Everything that happened to a service and its reviews, evidence and waivers."""
    return AuditEvent.objects.filter(service_slug=slug).order_by("-seq")


def filter_events(
    qs: QuerySet[AuditEvent],
    *,
    service: str = "",
    actor: str = "",
    action: str = "",
    outcome: str = "",
    since: dt.date | None = None,
    until: dt.date | None = None,
) -> QuerySet[AuditEvent]:
    """Narrow ``qs``: exact service slug and actor, action prefix (``review.`` gives every
    review event), outcome, and an inclusive UTC date range."""
    if service:
        qs = qs.filter(service_slug=service)
    if actor:
        qs = qs.filter(actor_label=actor)
    if action:
        qs = qs.filter(action__startswith=action)
    if outcome:
        qs = qs.filter(outcome=outcome)
    if since:
        qs = qs.filter(occurred_at__gte=_utc_midnight(since))
    if until:
        qs = qs.filter(occurred_at__lt=_utc_midnight(until + dt.timedelta(days=1)))
    return qs


def _utc_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)
