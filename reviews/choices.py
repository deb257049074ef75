from django.db import models


class ReviewStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SUBMITTED = "submitted", "Submitted"
    CHANGES_REQUESTED = "changes_requested", "Changes requested"
    APPROVED = "approved", "Approved"
    EXPIRED = "expired", "Expired"
    REVOKED = "revoked", "Revoked"


# Owners may still work on these; at most one per service and environment.
OPEN_STATUSES = (ReviewStatus.DRAFT, ReviewStatus.SUBMITTED, ReviewStatus.CHANGES_REQUESTED)
# Owners may edit items in these (a change to an approved review invalidates it).
EDITABLE_STATUSES = (ReviewStatus.DRAFT, ReviewStatus.CHANGES_REQUESTED, ReviewStatus.APPROVED)
CLOSED_STATUSES = (ReviewStatus.EXPIRED, ReviewStatus.REVOKED)


class ItemOutcome(models.TextChoices):
    PENDING = "pending", "Pending"
    PASS = "pass", "Pass"
    FAIL = "fail", "Fail"
    NOT_APPLICABLE = "not_applicable", "Not applicable"
    WAIVED = "waived", "Waived"


class Verdict(models.TextChoices):
    NONE = "", "Not reviewed"
    ACCEPTED = "accepted", "Accepted"
    REJECTED = "rejected", "Rejected"


class WaiverStatus(models.TextChoices):
    REQUESTED = "requested", "Requested"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    REVOKED = "revoked", "Revoked"
    EXPIRED = "expired", "Expired"


class CommentKind(models.TextChoices):
    COMMENT = "comment", "Comment"
    VERDICT = "verdict", "Reviewer verdict"
    CHANGES_REQUESTED = "changes_requested", "Changes requested"
