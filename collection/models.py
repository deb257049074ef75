"""Collection runs, per-region progress, redacted resource snapshots and check results.

Snapshots and results are evidence: written once, never updated. Every write a (possibly
redelivered) task makes is keyed by a unique constraint, so doing the work twice adds nothing.
"""

from django.conf import settings
from django.db import models
from django.urls import reverse

from collection.choices import (
    ACTIVE_RUN_STATUSES,
    FINISHED_RUN_STATUSES,
    BatchStatus,
    CheckStatus,
    RegionStatus,
    ResourceType,
    RunMode,
    RunStatus,
    RunTrigger,
)
from portal.models import TimeStampedModel


class CollectionRun(TimeStampedModel):
    service = models.ForeignKey(
        "services.Service", on_delete=models.PROTECT, related_name="collection_runs"
    )
    aws_target = models.ForeignKey(
        "services.AwsTarget", on_delete=models.PROTECT, related_name="collection_runs"
    )
    status = models.CharField(max_length=16, choices=RunStatus.choices, default=RunStatus.QUEUED)
    mode = models.CharField(max_length=16, choices=RunMode.choices, default=RunMode.FULL)
    trigger = models.CharField(max_length=16, choices=RunTrigger.choices, default=RunTrigger.MANUAL)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # Copied from the target when the run starts: provenance must not change if the target does.
    account_id = models.CharField(max_length=12)
    role_arn = models.CharField(max_length=2048)
    regions = models.JSONField(default=list)
    # The run whose snapshots an incremental run may reuse facts from.
    baseline_run = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    functions_discovered = models.PositiveIntegerField(default=0)
    functions_collected = models.PositiveIntegerField(default=0)
    functions_evaluated = models.PositiveIntegerField(default=0)
    results_count = models.PositiveIntegerField(default=0)
    regions_done = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error_summary = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # One active run per target: "Collect now" twice does not start two runs.
            models.UniqueConstraint(
                fields=["aws_target"],
                condition=models.Q(status__in=ACTIVE_RUN_STATUSES),
                name="collectionrun_one_active_per_target",
                violation_error_message="A collection run is already in progress for this target.",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=RunStatus.values), name="collectionrun_status_valid"
            ),
        ]
        indexes = [
            # latest_check_status: the newest finished run per target of a service.
            models.Index(
                fields=["service", "aws_target", "status", "-finished_at"],
                name="collrun_service_latest",
            ),
            # The gate's newest finished run of a target: read newest first, stop at the first,
            # instead of sorting every run the target ever had.
            models.Index(
                fields=["aws_target", "-finished_at", "-id"],
                condition=models.Q(status__in=FINISHED_RUN_STATUSES),
                name="collrun_target_finished",
            ),
        ]

    def __str__(self):
        return f"Run {self.pk} of {self.service.slug} @ {self.account_id}"

    def get_absolute_url(self):
        return reverse("collection:run_detail", args=[self.pk])

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_RUN_STATUSES

    @property
    def session_name(self) -> str:
        """The STS RoleSessionName: CloudTrail in the target account names the run."""
        return f"prr-run-{self.pk}"


class RegionRun(TimeStampedModel):
    """Progress and plain-words errors of one region of a run."""

    run = models.ForeignKey(CollectionRun, on_delete=models.PROTECT, related_name="region_runs")
    region = models.CharField(max_length=32)
    status = models.CharField(
        max_length=16, choices=RegionStatus.choices, default=RegionStatus.PENDING
    )
    functions_discovered = models.PositiveIntegerField(default=0)
    batches_total = models.PositiveIntegerField(default=0)
    batches_done = models.PositiveIntegerField(default=0)
    error_code = models.CharField(max_length=64, blank=True)
    error_message = models.TextField(blank=True)
    # Facts that could not be collected in this region: {"iam": "plain words", ...}.
    unavailable = models.JSONField(default=dict, blank=True)
    # The account-wide calls of this region: [{"operation", "request_id"}].
    bulk_operations = models.JSONField(default=list, blank=True)
    # Set (under a row lock) once every batch's ``bulk`` slice is written: from then on a
    # batch evaluates itself; before, it leaves its answers for the region task to evaluate.
    bulk_ready = models.BooleanField(default=False)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["region"]
        constraints = [
            models.UniqueConstraint(fields=["run", "region"], name="regionrun_unique_run_region"),
        ]

    def __str__(self):
        return f"{self.run} / {self.region}"


class CollectionBatch(models.Model):
    """A batch of functions handed to one task; its bulk-derived facts travel with it."""

    region_run = models.ForeignKey(RegionRun, on_delete=models.CASCADE, related_name="batches")
    index = models.PositiveIntegerField()
    status = models.CharField(
        max_length=8, choices=BatchStatus.choices, default=BatchStatus.PENDING
    )
    # {"items": [{"fn": function summary}]}.
    payload = models.JSONField(default=list)
    # The per-function answers of a batch fetched before the region's bulk answers were ready
    # (status ``fetched``), kept until it is evaluated. A column of its own: storing them does
    # not encode the items again.
    fetched = models.JSONField(default=list, blank=True)
    # Function ARN -> its slice of the region-wide (bulk) answers; written by the region task
    # while per-function calls run (a column of its own, so the two writers never collide).
    bulk = models.JSONField(default=dict, blank=True)
    # Who is fetching the batch's per-function answers (a task id: a redelivered copy of the
    # same task has the same id and takes over), and until when the claim holds if its holder
    # never comes back. Keeps the region task and a batch task from calling AWS twice for the
    # same functions.
    claimed_by = models.CharField(max_length=80, blank=True, default="")
    claimed_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["region_run", "index"], name="collectionbatch_unique_index"
            ),
        ]

    def __str__(self):
        return f"Batch {self.index} of {self.region_run}"


class ResourceSnapshot(models.Model):
    """Redacted facts about one resource, as collected: the provenance of every result."""

    run = models.ForeignKey(CollectionRun, on_delete=models.PROTECT, related_name="snapshots")
    account_id = models.CharField(max_length=12)
    region = models.CharField(max_length=32)
    collector_role_arn = models.CharField(max_length=2048)
    resource_type = models.CharField(
        max_length=32, choices=ResourceType.choices, default=ResourceType.LAMBDA_FUNCTION
    )
    resource_id = models.CharField(max_length=170)
    resource_arn = models.CharField(max_length=2048)
    facts = models.JSONField()
    # [{"operation", "request_id"}] of the calls whose answers are in ``facts``.
    api_operations = models.JSONField(default=list)
    # Operations whose answers were reused from the baseline snapshot (incremental mode).
    reused_from = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    collected_at = models.DateTimeField()
    sha256 = models.CharField(max_length=64)

    class Meta:
        ordering = ["resource_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["run", "resource_arn"], name="resourcesnapshot_unique_run_resource"
            ),
        ]

    def __str__(self):
        return f"{self.resource_id} ({self.region}) in run {self.run_id}"

    def get_absolute_url(self):
        return reverse("collection:snapshot_detail", args=[self.pk])


class CheckResult(models.Model):
    # No index of its own: the unique (run, check_id, resource) index starts with it. A run
    # stores 53 results per function, and every index is paid for on each of them.
    run = models.ForeignKey(
        CollectionRun, on_delete=models.PROTECT, related_name="results", db_index=False
    )
    snapshot = models.ForeignKey(
        ResourceSnapshot, on_delete=models.PROTECT, null=True, blank=True, related_name="results"
    )
    check_id = models.CharField(max_length=64)
    resource = models.CharField(max_length=2048)
    status = models.CharField(max_length=16, choices=CheckStatus.choices)
    message = models.TextField()
    evaluated_at = models.DateTimeField()

    class Meta:
        ordering = ["check_id", "resource"]
        constraints = [
            models.UniqueConstraint(
                fields=["run", "check_id", "resource"], name="checkresult_unique_run_check_res"
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=CheckStatus.values), name="checkresult_status_valid"
            ),
        ]
        indexes = [
            # Run page filter by status; latest_check_status aggregation per run. Lookups by
            # (run, check_id) use the unique index above.
            models.Index(fields=["run", "status"], name="checkresult_run_status"),
        ]

    def __str__(self):
        return f"{self.check_id} {self.status} on {self.resource}"
