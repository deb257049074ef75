"""Export jobs: one requested export (a scope, its parameters and a format) and its result.

The result file lives in Django storage ("default") under ``exports/<job id>/``; its SHA-256
is recorded so a downloaded copy can be checked against what the portal produced.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse

from exports.choices import ACTIVE_STATUSES, ExportFormat, ExportScope, ExportStatus
from portal.models import TimeStampedModel


class ExportJob(TimeStampedModel):
    scope = models.CharField(max_length=16, choices=ExportScope.choices)
    format = models.CharField(max_length=8, choices=ExportFormat.choices)
    # Normalised request: ids, dates (ISO), environment. Enough to run the export again.
    parameters = models.JSONField(default=dict, blank=True)
    # The scope's subject, for permission checks and listings (one of them is set).
    review = models.ForeignKey(
        "reviews.Review", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    service = models.ForeignKey(
        "services.Service", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    framework = models.ForeignKey(
        "controls.Framework", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    title = models.CharField(max_length=255)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="export_jobs"
    )
    status = models.CharField(
        max_length=12, choices=ExportStatus.choices, default=ExportStatus.QUEUED
    )
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    phase = models.CharField(max_length=120, blank=True)
    # Incremented each time a worker claims the job: a redelivered task restarts it, and
    # only the latest attempt may record the result.
    attempts = models.PositiveSmallIntegerField(default=0)
    result_name = models.CharField(max_length=255, blank=True)
    filename = models.CharField(max_length=200, blank=True)
    content_type = models.CharField(max_length=100, blank=True)
    size = models.BigIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(scope__in=ExportScope.values), name="exportjob_scope_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(format__in=ExportFormat.values), name="exportjob_format_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=ExportStatus.values), name="exportjob_status_valid"
            ),
            # Each scope names its subject.
            models.CheckConstraint(
                condition=(
                    models.Q(scope=ExportScope.REVIEW, review__isnull=False)
                    | models.Q(scope=ExportScope.SERVICE, service__isnull=False)
                    | models.Q(scope=ExportScope.FRAMEWORK, framework__isnull=False)
                ),
                name="exportjob_scope_has_subject",
            ),
            models.CheckConstraint(
                condition=models.Q(progress_done__lte=models.F("progress_total")),
                name="exportjob_progress_bounded",
            ),
            # A finished export has a file and its hash.
            models.CheckConstraint(
                condition=~models.Q(status=ExportStatus.SUCCEEDED)
                | (~models.Q(result_name="") & models.Q(sha256__regex=r"^[0-9a-f]{64}$")),
                name="exportjob_succeeded_has_result",
            ),
        ]
        indexes = [
            # The Exports page and its progress poll: a user's jobs, newest first.
            models.Index(fields=["requested_by", "-created_at"], name="exportjob_user_recent"),
        ]

    def __str__(self):
        return f"Export #{self.pk}: {self.title} ({self.format})"

    def get_absolute_url(self):
        return reverse("exports:list") + f"#job-{self.pk}"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def percent(self) -> int:
        if self.status == ExportStatus.SUCCEEDED:
            return 100
        if not self.progress_total:
            return 0
        return min(100, int(100 * self.progress_done / self.progress_total))
