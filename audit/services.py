"""Writing audit events. Call inside the business transaction: if the event cannot be
written, the action rolls back with it."""

from __future__ import annotations

import json
import re

from django.db import models, transaction
from django.utils import timezone

from audit.choices import Outcome
from audit.context import Actor
from audit.models import AuditChainHead, AuditEvent

_SECRET_KEY_PATTERN = re.compile(r"(secret|password|token|credential|private|api_?key)", re.I)
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def redact(value):
    """Drop values under secret-looking keys; keep structure so diffs stay readable."""
    if isinstance(value, dict):
        return {
            k: ("[redacted]" if _SECRET_KEY_PATTERN.search(str(k)) else redact(v))
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    return value


def _jsonable(value):
    if value is None:
        return None
    return json.loads(json.dumps(redact(value), default=str))


def audit_record(
    *,
    actor: Actor,
    action: str,
    obj: models.Model | None = None,
    outcome: str = Outcome.SUCCESS,
    message: str = "",
    before: dict | None = None,
    after: dict | None = None,
    details: dict | None = None,
    service_slug: str = "",
) -> AuditEvent:
    """Append one event to the chain. Serialized by a row lock on the chain head."""
    with transaction.atomic():
        head, _ = AuditChainHead.objects.select_for_update().get_or_create(id=1)
        event = AuditEvent(
            seq=head.seq + 1,
            occurred_at=timezone.now(),
            actor_type=actor.type,
            actor_label=actor.label[:255],
            actor_user=actor.user if actor.user is not None and actor.user.pk else None,
            action=action,
            outcome=outcome,
            object_type=obj._meta.label_lower if obj is not None else "",
            object_id=str(obj.pk) if obj is not None else "",
            object_repr=_CONTROL_CHARS.sub(" ", str(obj))[:255] if obj is not None else "",
            service_slug=service_slug,
            message=message,
            before=_jsonable(before),
            after=_jsonable(after),
            details=_jsonable({**actor.details, **(details or {})}) or {},
            request_id=actor.request_id[:64],
            source_ip=actor.source_ip,
            user_agent=actor.user_agent[:512],
            prev_hash=head.hash,
        )
        # Round-trip through JSON so the hash covers exactly what the database returns.
        event.occurred_at = event.occurred_at.replace(microsecond=event.occurred_at.microsecond)
        event.hash = event.compute_hash()
        event.save(force_insert=True)
        AuditChainHead.objects.filter(id=1).update(seq=event.seq, hash=event.hash)
    return event


def audit_denied(*, actor: Actor, action: str, obj=None, message: str, service_slug: str = ""):
    """Record a refused action. Call it outside the refused action's transaction (views and
    API handlers do, after the service raised), so the record survives that rollback."""
    with transaction.atomic():
        return audit_record(
            actor=actor,
            action=action,
            obj=obj,
            outcome=Outcome.DENIED,
            message=message,
            service_slug=service_slug,
        )
