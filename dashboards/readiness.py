"""Readiness of services per environment, computed from plain review rows.

Every dashboard starts from the same two reads: the services a user may see and their
reviews as ``values()`` rows. Both are one query whatever the number of services, and the
rest is arithmetic in Python, so pages stay at a constant number of queries.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from reviews.choices import ReviewStatus
from reviews.models import Review

# What a service×environment shows when nothing was ever opened.
NONE = "none"

STATUS_LABELS = {**dict(ReviewStatus.choices), NONE: "No review"}

# Service-level readiness buckets, in the order charts stack them.
READY = "ready"
PARTIAL = "partial"
IN_REVIEW = "in_review"
NOT_READY = "not_ready"
READINESS_LABELS = {
    READY: "Approved in every environment",
    PARTIAL: "Approved in some environments",
    IN_REVIEW: "Awaiting reviewers",
    NOT_READY: "Not approved",
}
READINESS_ORDER = [READY, PARTIAL, IN_REVIEW, NOT_READY]

REVIEW_FIELDS = (
    "id",
    "service_id",
    "environment",
    "status",
    "expires_at",
    "approved_at",
    "submitted_at",
    "created_at",
)


@dataclass
class EnvStatus:
    environment: str
    status: str
    review_id: int | None = None
    expires_at: datetime | None = None
    open_review_id: int | None = None
    open_status: str = ""

    @property
    def label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)

    @property
    def is_approved(self) -> bool:
        return self.status == ReviewStatus.APPROVED


@dataclass
class ServiceReadiness:
    service: object
    environments: list[EnvStatus] = field(default_factory=list)

    @property
    def bucket(self) -> str:
        approved = [e for e in self.environments if e.is_approved]
        if self.environments and len(approved) == len(self.environments):
            return READY
        if approved:
            return PARTIAL
        if any(ReviewStatus.SUBMITTED in (e.status, e.open_status) for e in self.environments):
            return IN_REVIEW
        return NOT_READY

    @property
    def bucket_label(self) -> str:
        return READINESS_LABELS[self.bucket]


def review_rows(services_qs):
    """The reviews of ``services_qs`` as dicts, newest first (one query)."""
    return list(
        Review.objects.filter(service__in=services_qs)
        .order_by("-created_at", "-id")
        .values(*REVIEW_FIELDS)
    )


def effective_status(row: dict, now: datetime) -> str:
    if row["status"] == ReviewStatus.APPROVED and row["expires_at"] and row["expires_at"] <= now:
        return ReviewStatus.EXPIRED
    return row["status"]


def env_statuses(services, rows, now: datetime) -> dict[int, ServiceReadiness]:
    """Per service, the governing status of each registered environment: the valid approval
    if there is one (the gate's view), else the newest review's status; plus the open review
    owners work on, if any."""
    by_key: dict[tuple[int, str], list[dict]] = {}
    for row in rows:
        by_key.setdefault((row["service_id"], row["environment"]), []).append(row)
    out = {}
    for service in services:
        readiness = ServiceReadiness(service=service)
        for env in service.environments or []:
            history = by_key.get((service.pk, env), [])
            valid = next(
                (r for r in history if effective_status(r, now) == ReviewStatus.APPROVED), None
            )
            newest = history[0] if history else None
            governing = valid or newest
            status = effective_status(governing, now) if governing else NONE
            open_row = next(
                (
                    r
                    for r in history
                    if r["status"]
                    in (ReviewStatus.DRAFT, ReviewStatus.SUBMITTED, ReviewStatus.CHANGES_REQUESTED)
                ),
                None,
            )
            readiness.environments.append(
                EnvStatus(
                    environment=env,
                    status=status,
                    review_id=governing["id"] if governing else None,
                    expires_at=governing["expires_at"] if valid else None,
                    open_review_id=open_row["id"] if open_row else None,
                    open_status=open_row["status"] if open_row else "",
                )
            )
        out[service.pk] = readiness
    return out


def governing_review_ids(rows, now: datetime) -> dict[int, int]:
    """Per service, the review whose checklist best describes its compliance: the newest
    valid approval in any environment, else the newest review."""
    chosen: dict[int, int] = {}
    approved: dict[int, int] = {}
    for row in rows:  # newest first
        chosen.setdefault(row["service_id"], row["id"])
        if effective_status(row, now) == ReviewStatus.APPROVED:
            approved.setdefault(row["service_id"], row["id"])
    chosen.update(approved)
    return chosen
