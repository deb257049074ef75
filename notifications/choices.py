from django.db import models


class Event(models.TextChoices):
    """What the portal tells people about. Users pick which of these they receive."""

    REVIEW_SUBMITTED = "review.submitted", "A review I need to sign off was submitted"
    CHANGES_REQUESTED = "review.changes_requested", "Reviewers asked for changes"
    REVIEW_APPROVED = "review.approved", "A review was approved"
    APPROVAL_EXPIRING = "review.approval_expiring", "An approval expires in 14 days"
    DRIFT_DETECTED = "review.drift_detected", "Drift revoked an approval"
    EVIDENCE_UNAVAILABLE = (
        "review.evidence_unavailable",
        "Automated evidence for an approval stopped (or resumed) arriving",
    )
    WAIVER_EXPIRING = "waiver.expiring", "A waiver expires soon"
    GATE_DENIED = "gate.denied", "The deployment gate denied a deployment"


# Events sent to the reviewers still needed; every other event goes to the owning team.
REVIEWER_EVENTS = frozenset({Event.REVIEW_SUBMITTED})


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RETRYING = "retrying", "Retrying"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"
