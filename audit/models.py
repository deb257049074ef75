"""The append-only, hash-chained audit trail.

Each event stores the previous event's hash and its own hash over a canonical JSON form of
its content, so editing, deleting or reordering any event breaks the chain. Inserts take a
row lock on the single ``AuditChainHead`` row, so two writers can never fork the chain.
"""

import hashlib
import json

from django.conf import settings
from django.db import models

from audit.choices import ActorType, Outcome

GENESIS_HASH = "0" * 64


class AuditChainHead(models.Model):
    """The one row that serializes audit inserts: the last sequence number and hash."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    seq = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64, default=GENESIS_HASH)

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="audithead_single")]

    def __str__(self):
        return f"audit head #{self.seq}"


class AuditEvent(models.Model):
    seq = models.BigIntegerField(unique=True)
    occurred_at = models.DateTimeField(db_index=True)
    actor_type = models.CharField(max_length=16, choices=ActorType.choices)
    actor_label = models.CharField(max_length=255)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="audit_events",
    )
    action = models.CharField(max_length=64, db_index=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.SUCCESS)
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    object_repr = models.CharField(max_length=255, blank=True)
    # Service slug the event concerns, for per-service audit views and exports.
    service_slug = models.CharField(max_length=63, blank=True, db_index=True)
    message = models.TextField(blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    details = models.JSONField(default=dict, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    source_ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=512, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["-seq"]
        indexes = [
            # Audit log page filtered by object: "history of review 42".
            models.Index(fields=["object_type", "object_id"], name="audit_object_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(seq__gte=1), name="auditevent_seq_positive"),
        ]

    def __str__(self):
        return f"#{self.seq} {self.action} by {self.actor_label}"

    def canonical_payload(self) -> dict:
        """Everything the hash covers, in a stable, JSON-serialisable form."""
        return {
            "seq": self.seq,
            "occurred_at": self.occurred_at.isoformat(),
            "actor_type": self.actor_type,
            "actor_label": self.actor_label,
            "actor_user_id": self.actor_user_id,
            "action": self.action,
            "outcome": self.outcome,
            "object_type": self.object_type,
            "object_id": self.object_id,
            "object_repr": self.object_repr,
            "service_slug": self.service_slug,
            "message": self.message,
            "before": self.before,
            "after": self.after,
            "details": self.details,
            "request_id": self.request_id,
            "source_ip": self.source_ip,
            "user_agent": self.user_agent,
            "prev_hash": self.prev_hash,
        }

    def compute_hash(self) -> str:
        blob = json.dumps(
            self.canonical_payload(), sort_keys=True, separators=(",", ":"), default=str
        )
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()
