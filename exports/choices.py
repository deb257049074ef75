from django.db import models


class ExportScope(models.TextChoices):
    REVIEW = "review", "Review"
    SERVICE = "service", "Service"
    FRAMEWORK = "framework", "Framework"


class ExportFormat(models.TextChoices):
    PDF = "pdf", "PDF readiness report"
    XLSX = "xlsx", "Excel control matrix (XLSX)"
    CSV = "csv", "CSV control matrix"
    JSON = "json", "JSON export"
    ZIP = "zip", "Evidence bundle (ZIP, signed)"


class ExportStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


ACTIVE_STATUSES = (ExportStatus.QUEUED, ExportStatus.RUNNING)

# Formats a review can be exported in synchronously (small, streamed straight to the client).
SYNC_FORMATS = (ExportFormat.CSV, ExportFormat.JSON)

CONTENT_TYPES = {
    ExportFormat.PDF: "application/pdf",
    ExportFormat.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ExportFormat.CSV: "text/csv; charset=utf-8",
    ExportFormat.JSON: "application/json",
    ExportFormat.ZIP: "application/zip",
}
