"""Evidence artifacts: content-addressed, immutable, attributable.

A row records what was collected (its SHA-256 and size), by whom or what, when, for which
period, and until when it may count. The bytes live in Django storage under a path derived
from the hash, so identical content is stored once however often it is referenced. Rows are
never updated or deleted: reviews bind their approval to these hashes.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.urls import reverse

from evidence.choices import EvidenceKind, SourceType


class ImmutableQuerySet(models.QuerySet):
    """Bulk updates and deletes would bypass ``Evidence.save``'s guard; refuse them."""

    def update(self, **kwargs):
        raise TypeError("Evidence is never updated.")

    def delete(self):
        raise TypeError("Evidence is never deleted.")


def storage_name_for(sha256: str) -> str:
    """``evidence/ab/cdef…``: the content-addressed storage path of a blob."""
    return f"evidence/{sha256[:2]}/{sha256[2:]}"


class Evidence(models.Model):
    service = models.ForeignKey(
        "services.Service", on_delete=models.PROTECT, related_name="evidence"
    )
    kind = models.CharField(max_length=16, choices=EvidenceKind.choices)
    title = models.CharField(max_length=200, blank=True)
    # Content address. For links, the hash of the URL (what the reviewer was shown).
    sha256 = models.CharField(max_length=64, db_index=True)
    size = models.BigIntegerField(default=0)
    content_type = models.CharField(max_length=100, blank=True)
    storage_name = models.CharField(max_length=255, blank=True)
    # Sanitized, for display and the download name only; never used as a storage path.
    original_filename = models.CharField(max_length=200, blank=True)
    url = models.URLField(max_length=2000, blank=True)
    source_type = models.CharField(max_length=16, choices=SourceType.choices)
    # e.g. the username, "collector run 42", "ci acme/payments-api run 1234".
    source_label = models.CharField(max_length=255)
    produced_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="evidence_produced",
    )
    collected_at = models.DateTimeField(db_index=True)
    period_start = models.DateTimeField(null=True, blank=True)
    period_end = models.DateTimeField(null=True, blank=True)
    # A hard end of validity independent of any control (e.g. a certificate's expiry).
    expires_at = models.DateTimeField(null=True, blank=True)
    control_code = models.CharField(max_length=20, blank=True)
    check_id = models.CharField(max_length=64, blank=True)
    commit_sha = models.CharField(max_length=40, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = ImmutableQuerySet.as_manager()

    class Meta:
        ordering = ["-collected_at", "-id"]
        verbose_name_plural = "evidence"
        indexes = [
            # Evidence pickers: a service's recent evidence, optionally for one control.
            models.Index(
                fields=["service", "control_code", "-collected_at"], name="evidence_svc_ctl"
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(sha256__regex=r"^[0-9a-f]{64}$"), name="evidence_sha256_hex"
            ),
            models.CheckConstraint(
                condition=models.Q(kind__in=EvidenceKind.values), name="evidence_kind_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(source_type__in=SourceType.values),
                name="evidence_source_valid",
            ),
            models.CheckConstraint(condition=models.Q(size__gte=0), name="evidence_size_positive"),
            # A link points somewhere; everything else has stored bytes.
            models.CheckConstraint(
                condition=(models.Q(kind=EvidenceKind.LINK) & ~models.Q(url=""))
                | (~models.Q(kind=EvidenceKind.LINK) & ~models.Q(storage_name="")),
                name="evidence_link_has_url_file_has_blob",
            ),
            models.CheckConstraint(
                condition=models.Q(period_start__isnull=True)
                | models.Q(period_end__isnull=True)
                | models.Q(period_end__gte=models.F("period_start")),
                name="evidence_period_ordered",
            ),
        ]

    def __str__(self):
        label = self.title or self.original_filename or self.url or self.check_id
        return f"{self.get_kind_display()}: {label} ({self.sha256[:12]})"

    def save(self, *args, **kwargs):
        if self.pk is not None and not self._state.adding:
            raise TypeError("Evidence is never updated.")
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        return reverse("evidence:detail", args=[self.pk])

    def delete(self, *args, **kwargs):
        raise TypeError("Evidence is never deleted.")

    @property
    def has_file(self) -> bool:
        return bool(self.storage_name)

    def stale_at(self, freshness_days: int | None) -> datetime | None:
        """When this evidence stops counting for a control with ``freshness_days``."""
        candidates = [self.expires_at] if self.expires_at else []
        if freshness_days:
            candidates.append(self.collected_at + timedelta(days=freshness_days))
        return min(candidates) if candidates else None

    def is_fresh(self, at: datetime, freshness_days: int | None) -> bool:
        """Whether the evidence still counts at ``at`` for a control whose evidence may be
        at most ``freshness_days`` old (and before its own hard expiry, if any)."""
        if self.collected_at > at + timedelta(minutes=5):  # collected in the future: suspect
            return False
        stale = self.stale_at(freshness_days)
        return stale is None or at < stale
