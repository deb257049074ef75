"""Readiness reviews: a checklist pinned to one catalog version, its evidence, the reviewers'
sign-offs and the waivers (risk acceptances) it relies on.

State changes happen only in ``reviews.workflow``; these models hold the invariants the
database can enforce on its own (one open review per environment, one approved review per
environment, one person one role, no sign-off by the submitter, no waiver decided by its
requester).
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone

from accounts.choices import REVIEWER_ROLES
from portal.models import TimeStampedModel
from reviews.choices import (
    OPEN_STATUSES,
    CommentKind,
    ItemOutcome,
    ReviewStatus,
    Verdict,
    WaiverStatus,
)

USER = settings.AUTH_USER_MODEL


class Review(TimeStampedModel):
    service = models.ForeignKey(
        "services.Service", on_delete=models.PROTECT, related_name="reviews"
    )
    environment = models.CharField(max_length=32)
    catalog_version = models.ForeignKey(
        "controls.CatalogVersion", on_delete=models.PROTECT, related_name="reviews"
    )
    status = models.CharField(
        max_length=20, choices=ReviewStatus.choices, default=ReviewStatus.DRAFT
    )
    opened_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    submitted_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    submitted_at = models.DateTimeField(null=True, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    # SHA-256 over exactly what was approved (see workflow.approval_document).
    approval_hash = models.CharField(max_length=64, blank=True)
    revoked_reason = models.TextField(blank=True)
    revoked_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    # Bumped by every change: forms carry it so a decision is made on what was shown.
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=ReviewStatus.values), name="review_status_valid"
            ),
            models.UniqueConstraint(
                fields=["service", "environment"],
                condition=models.Q(status__in=OPEN_STATUSES),
                name="review_one_open_per_service_env",
                violation_error_message="A review is already open for this environment.",
            ),
            models.UniqueConstraint(
                fields=["service", "environment"],
                condition=models.Q(status=ReviewStatus.APPROVED),
                name="review_one_approved_per_service_env",
            ),
            models.CheckConstraint(
                condition=~models.Q(status=ReviewStatus.APPROVED)
                | (
                    models.Q(approved_at__isnull=False, expires_at__isnull=False)
                    & ~models.Q(approval_hash="")
                ),
                name="review_approved_has_hash_and_expiry",
            ),
            models.CheckConstraint(
                condition=~models.Q(status=ReviewStatus.REVOKED) | ~models.Q(revoked_reason=""),
                name="review_revoked_has_reason",
            ),
        ]
        indexes = [
            # Reviewer queue: submitted reviews, oldest first.
            models.Index(fields=["status", "submitted_at"], name="review_status_submitted"),
            # gate_review / service page: a service's reviews for one environment.
            models.Index(fields=["service", "environment", "-created_at"], name="review_svc_env"),
        ]

    def __str__(self):
        return f"Review #{self.pk} of {self.service.slug} ({self.environment})"

    def get_absolute_url(self):
        return reverse("reviews:detail", args=[self.pk])

    def effective_status(self, at: datetime | None = None) -> str:
        """The status as of ``at``: an approval past its expiry is expired even before the
        scheduled task records it."""
        at = at or timezone.now()
        if self.status == ReviewStatus.APPROVED and self.expires_at and self.expires_at <= at:
            return ReviewStatus.EXPIRED
        return self.status

    @property
    def current_status(self) -> str:
        return self.effective_status()

    @property
    def current_status_label(self) -> str:
        return ReviewStatus(self.current_status).label

    def is_valid_at(self, at: datetime | None = None) -> bool:
        """Approved, unexpired and not revoked at ``at``: what the gate requires."""
        return self.effective_status(at) == ReviewStatus.APPROVED


class ReviewItem(models.Model):
    review = models.ForeignKey(Review, on_delete=models.PROTECT, related_name="items")
    control = models.ForeignKey("controls.Control", on_delete=models.PROTECT, related_name="+")
    mandatory = models.BooleanField()
    outcome = models.CharField(
        max_length=16, choices=ItemOutcome.choices, default=ItemOutcome.PENDING
    )
    reason = models.TextField(blank=True)
    waiver = models.ForeignKey(
        "Waiver", on_delete=models.PROTECT, null=True, blank=True, related_name="items"
    )
    verdict = models.CharField(max_length=8, choices=Verdict.choices, default="", blank=True)
    verdict_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    verdict_comment = models.TextField(blank=True)
    verdict_at = models.DateTimeField(null=True, blank=True)
    updated_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(null=True, blank=True)
    evidence = models.ManyToManyField(
        "evidence.Evidence", through="ItemEvidence", related_name="review_items"
    )

    class Meta:
        ordering = ["control__position", "control__code"]
        constraints = [
            models.UniqueConstraint(fields=["review", "control"], name="reviewitem_unique_control"),
            models.CheckConstraint(
                condition=models.Q(outcome__in=ItemOutcome.values), name="reviewitem_outcome_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(verdict__in=Verdict.values), name="reviewitem_verdict_valid"
            ),
            models.CheckConstraint(
                condition=~models.Q(outcome=ItemOutcome.NOT_APPLICABLE) | ~models.Q(reason=""),
                name="reviewitem_not_applicable_has_reason",
            ),
            models.CheckConstraint(
                condition=~models.Q(outcome=ItemOutcome.WAIVED) | models.Q(waiver__isnull=False),
                name="reviewitem_waived_has_waiver",
            ),
        ]

    def __str__(self):
        return f"{self.control.code} in review #{self.review_id}"


class ItemEvidence(models.Model):
    """Evidence attached to an item. Detaching keeps the row (removed_at) for history."""

    item = models.ForeignKey(ReviewItem, on_delete=models.PROTECT, related_name="attachments")
    evidence = models.ForeignKey(
        "evidence.Evidence", on_delete=models.PROTECT, related_name="attachments"
    )
    attached_by = models.ForeignKey(USER, on_delete=models.PROTECT, null=True, related_name="+")
    attached_at = models.DateTimeField(default=timezone.now)
    removed_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["attached_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["item", "evidence"],
                condition=models.Q(removed_at__isnull=True),
                name="itemevidence_attached_once",
            )
        ]

    def __str__(self):
        return f"{self.evidence_id} on item {self.item_id}"


class ItemComment(models.Model):
    """A comment on a review (``item`` empty) or on one of its items."""

    review = models.ForeignKey(Review, on_delete=models.PROTECT, related_name="comments")
    item = models.ForeignKey(
        ReviewItem, on_delete=models.PROTECT, null=True, blank=True, related_name="comments"
    )
    author = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=20, choices=CommentKind.choices, default="comment")
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=~models.Q(body=""), name="itemcomment_not_empty"),
        ]

    def __str__(self):
        return f"Comment by {self.author} on review #{self.review_id}"


class SignOff(models.Model):
    """One reviewer's sign-off in one role. Invalidation archives sign-offs, never deletes."""

    review = models.ForeignKey(Review, on_delete=models.PROTECT, related_name="signoffs")
    role = models.CharField(max_length=16)
    user = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="signoffs")
    # Copied from the review so the database itself refuses self-approval.
    submitter = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(default=timezone.now)
    approval_hash = models.CharField(max_length=64)
    comment = models.TextField(blank=True)
    archived_at = models.DateTimeField(null=True, blank=True)
    archived_reason = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["decided_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(role__in=sorted(REVIEWER_ROLES)), name="signoff_role_valid"
            ),
            models.UniqueConstraint(
                fields=["review", "role"],
                condition=models.Q(archived_at__isnull=True),
                name="signoff_one_per_role",
                violation_error_message="This role has already signed off.",
            ),
            models.UniqueConstraint(
                fields=["review", "user"],
                condition=models.Q(archived_at__isnull=True),
                name="signoff_one_role_per_person",
                violation_error_message="You have already signed off this review.",
            ),
            models.CheckConstraint(
                condition=~models.Q(user=models.F("submitter")), name="signoff_not_by_submitter"
            ),
        ]

    def __str__(self):
        return f"{self.user} signed #{self.review_id} as {self.role}"


class Waiver(TimeStampedModel):
    """A time-boxed risk acceptance for one control of one service (optionally one release)."""

    service = models.ForeignKey(
        "services.Service", on_delete=models.PROTECT, related_name="waivers"
    )
    control_code = models.CharField(max_length=20)
    justification = models.TextField()
    compensating_controls = models.TextField()
    risk_owner = models.CharField(max_length=200, help_text="Who accepts the risk (name, role).")
    requested_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(
        max_length=12, choices=WaiverStatus.choices, default=WaiverStatus.REQUESTED
    )
    expires_at = models.DateTimeField()
    release = models.CharField(max_length=100, blank=True)
    commit_sha = models.CharField(max_length=40, blank=True)
    decided_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_comment = models.TextField(blank=True)
    revoked_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=WaiverStatus.values), name="waiver_status_valid"
            ),
            models.CheckConstraint(
                condition=~models.Q(decided_by=models.F("requested_by")),
                name="waiver_not_decided_by_requester",
            ),
            models.CheckConstraint(
                condition=~models.Q(status=WaiverStatus.APPROVED)
                | models.Q(decided_by__isnull=False),
                name="waiver_approved_has_approver",
            ),
            models.CheckConstraint(
                condition=models.Q(expires_at__gt=models.F("created_at")),
                name="waiver_expires_after_request",
            ),
        ]
        indexes = [
            # active_waivers(service, at): approved waivers of a service by expiry.
            models.Index(fields=["service", "status", "expires_at"], name="waiver_svc_active"),
        ]

    def __str__(self):
        return f"Waiver #{self.pk} for {self.control_code} ({self.service.slug})"

    def get_absolute_url(self):
        return reverse("reviews:waiver_detail", args=[self.pk])

    def is_active(self, at: datetime | None = None) -> bool:
        """Approved and not yet expired at ``at``: an expired waiver stops counting at once,
        whether or not the expiry task has run."""
        at = at or timezone.now()
        return self.status == WaiverStatus.APPROVED and self.expires_at > at

    @property
    def current_status(self) -> str:
        if self.status == WaiverStatus.APPROVED and not self.is_active():
            return WaiverStatus.EXPIRED
        return self.status

    @property
    def current_status_label(self) -> str:
        return WaiverStatus(self.current_status).label
