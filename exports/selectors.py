"""Reads for exports, restricted per user.

Who may export what: auditors and platform admins every scope; a team member the scopes of
their team's services. Reviewers read every review in the portal but export only as team
members (the issue's rule: "auditors: everything; owners: their services").
"""

from __future__ import annotations

from django.db.models import QuerySet

from controls.models import Framework
from exports.models import ExportJob
from reviews.models import Review
from services.models import Service


def exports_everything(user) -> bool:
    return user.is_authenticated and (user.is_auditor or user.is_platform_admin)


def exportable_services_for(user) -> QuerySet[Service]:
    qs = Service.objects.select_related("team").order_by("name")
    if not user.is_authenticated:
        return qs.none()
    if exports_everything(user):
        return qs
    return qs.filter(team_id__in=user.team_ids)


def may_export_service(user, service: Service) -> bool:
    return user.is_authenticated and (exports_everything(user) or service.team_id in user.team_ids)


def exportable_reviews_for(user) -> QuerySet[Review]:
    return (
        Review.objects.filter(service__in=exportable_services_for(user))
        .select_related("service", "catalog_version")
        .order_by("-created_at", "-id")
    )


def frameworks_for_export() -> QuerySet[Framework]:
    """Every framework of every catalog version, the current catalog's first."""
    return Framework.objects.select_related("catalog_version").order_by(
        "-catalog_version__is_current", "-catalog_version__loaded_at", "position", "code"
    )


def export_jobs_for(user) -> QuerySet[ExportJob]:
    """The user's own export jobs, newest first (a download is for its requester only)."""
    # Service tokens and CI identities (gate.principals.ServicePrincipal) request no exports.
    if not user.is_authenticated or getattr(user, "pk", None) is None:
        return ExportJob.objects.none()
    return ExportJob.objects.filter(requested_by=user).select_related(
        "review__service", "service", "framework"
    )
