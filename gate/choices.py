from django.db import models


class Decision(models.TextChoices):
    ALLOW = "allow", "Allow"
    DENY = "deny", "Deny"


class Scope(models.TextChoices):
    """What an API token may do. Session users are not limited by scopes."""

    READ = "read", "Read what the owner may see"
    WRITE = "write", "Act as the owner (reviews, evidence, waivers, services)"
    GATE_CHECK = "gate:check", "Ask the deployment gate"
    EVIDENCE_WRITE = "evidence:write", "Upload CI evidence"


# A token without a user (issued by an admin for a service) cannot act as anyone.
SERVICE_TOKEN_SCOPES = frozenset({Scope.READ, Scope.GATE_CHECK, Scope.EVIDENCE_WRITE})
# What a GitHub Actions OIDC identity may do for the services its repository is bound to.
CI_SCOPES = frozenset({Scope.GATE_CHECK, Scope.EVIDENCE_WRITE})


class ReasonCode(models.TextChoices):
    """Machine-readable reasons in a gate answer."""

    NO_REVIEW = "no_review", "No review for this environment"
    REVIEW_NOT_APPROVED = "review_not_approved", "Review not approved"
    REVIEW_EXPIRED = "review_expired", "Review approval expired"
    REVIEW_REVOKED = "review_revoked", "Review approval revoked"
    UNKNOWN_ENVIRONMENT = "unknown_environment", "Environment not registered"
    CONTROL_FAILING = "control_failing", "Control failing"
    CONTROL_STALE = "control_stale", "Control result stale"
    CONTROL_NO_RESULT = "control_no_result", "Control has no result"
    CONTROL_ERROR = "control_error", "Control check errored"
    CONTROL_WAIVED = "control_waived", "Control covered by a waiver"
    CI_EVIDENCE_MISSING = "ci_evidence_missing", "No CI evidence for this commit"
    CI_EVIDENCE_FAILING = "ci_evidence_failing", "CI evidence for this commit fails"
    ARTIFACT_MISMATCH = "artifact_mismatch", "Artifact differs from the signed one"
    BREAK_GLASS = "break_glass", "Emergency break-glass allow"


class CiFormat(models.TextChoices):
    """CI uploads the portal parses (POST /api/v1/services/<slug>/ci-evidence)."""

    SARIF = "sarif", "SARIF 2.1.0 (SAST, e.g. CodeQL)"
    CHECKOV = "checkov", "Checkov JSON (IaC scan)"
    JUNIT = "junit", "JUnit XML (tests)"
    CYCLONEDX = "cyclonedx", "CycloneDX SBOM"
    SIGNER = "signer", "AWS Signer signing job"
    DEPLOYMENT = "deployment", "Deployment record"


class CiOutcome(models.TextChoices):
    PASS = "pass", "Proves its control"
    FAIL = "fail", "Does not prove its control"
