from django.db import models


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    PARTIAL = "partial", "Partial (some regions or facts failed)"
    FAILED = "failed", "Failed"


ACTIVE_RUN_STATUSES = (RunStatus.QUEUED, RunStatus.RUNNING)
FINISHED_RUN_STATUSES = (RunStatus.SUCCEEDED, RunStatus.PARTIAL, RunStatus.FAILED)


class RunMode(models.TextChoices):
    FULL = "full", "Full"
    INCREMENTAL = "incremental", "Incremental"


class RunTrigger(models.TextChoices):
    MANUAL = "manual", "Manual"
    SCHEDULED = "scheduled", "Scheduled"
    DRIFT = "drift", "Drift detection"


class RegionStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    PARTIAL = "partial", "Partial"
    FAILED = "failed", "Failed"


FINISHED_REGION_STATUSES = (RegionStatus.SUCCEEDED, RegionStatus.PARTIAL, RegionStatus.FAILED)


class BatchStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    # Per-function answers are in the payload; waiting for the region's bulk answers.
    FETCHED = "fetched", "Fetched"
    DONE = "done", "Done"


class CheckStatus(models.TextChoices):
    PASS = "pass", "Pass"
    FAIL = "fail", "Fail"
    NOT_APPLICABLE = "not_applicable", "Not applicable"
    ERROR = "error", "Error"


class ResourceType(models.TextChoices):
    LAMBDA_FUNCTION = "lambda.function", "Lambda function"
