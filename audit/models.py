"""The append-only, hash-chained audit trail.

Each event stores the previous event's hash and its own hash over a canonical JSON form of
its content, so editing, deleting or reordering any event breaks the chain. Inserts take a
row lock on the single ``AuditChainHead`` row, so two writers can never fork the chain.
"""

from django.conf import settings
from django.db import models

from audit.chain import GENESIS_HASH, HASH_FIELDS, canonical_time, hash_values
from audit.choices import ActorType, Outcome

__all__ = ["GENESIS_HASH", "AuditChainHead", "AuditEvent"]


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
    """One audited action. Never updated or deleted (on PostgreSQL a trigger enforces it)."""

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
    service_slug = models.CharField(max_length=63, blank=True)
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
            # "Events of service X, newest first" (service page, audit log filter).
            models.Index(fields=["service_slug", "-seq"], name="audit_service_seq_idx"),
            # "What did alice do, newest first" (audit log filter by actor).
            models.Index(fields=["actor_label", "-seq"], name="audit_actor_seq_idx"),
            # "Refusals (or failures), newest first" (audit log filter by outcome): without it
            # the page walks the whole table backwards when the outcome is rare.
            models.Index(fields=["outcome", "-seq"], name="audit_outcome_seq_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(seq__gte=1), name="auditevent_seq_positive"),
            # Two events claiming the same predecessor would be a fork: the database refuses it
            # even if the head lock were ever bypassed.
            models.UniqueConstraint(fields=["prev_hash"], name="auditevent_no_fork"),
        ]

    def __str__(self):
        return f"#{self.seq} {self.action} by {self.actor_label}"

    def canonical_payload(self) -> dict:
        """Everything the hash covers, by field name (see audit.chain for the exact bytes)."""
        return {name: getattr(self, name) for name in HASH_FIELDS} | {
            "occurred_at": canonical_time(self.occurred_at)
        }

    def compute_hash(self) -> str:
        """Recompute this event's hash from its content (equal to ``hash`` unless tampered)."""
        payload = self.canonical_payload()
        return hash_values(payload[name] for name in HASH_FIELDS)
