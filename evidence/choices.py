from django.db import models


class EvidenceKind(models.TextChoices):
    UPLOAD = "upload", "Uploaded file"
    LINK = "link", "Link"
    AUTOMATED = "automated", "Automated check result"
    CI = "ci", "CI upload"


class SourceType(models.TextChoices):
    """Who or what produced a piece of evidence."""

    USER = "user", "User"
    COLLECTOR = "collector", "AWS collector"
    CI = "ci", "CI pipeline"


class CiEvidenceKind(models.TextChoices):
    """What a CI pipeline uploads (kept in ``Evidence.metadata['ci_kind']``)."""

    SARIF = "sarif", "SARIF scan results"
    CHECKOV = "checkov", "Checkov results"
    JUNIT = "junit", "JUnit test report"
    CYCLONEDX = "cyclonedx", "CycloneDX SBOM"
    SIGNATURE = "signature", "Signing evidence"
    OTHER = "other", "Other"
