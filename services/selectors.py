"""Reads of services, always restricted to what the user may see."""

from django.db.models import QuerySet

from services.models import AwsTarget, Service


def service_list_for(user) -> QuerySet[Service]:
    """Services the user may see: reviewers, auditors and admins see all; others their teams'."""
    qs = Service.objects.select_related("team")
    if not user.is_authenticated:
        return qs.none()
    if user.sees_all_services:
        return qs
    return qs.filter(team_id__in=user.team_ids)


def service_editable_by(user, service: Service) -> bool:
    """Team members and platform admins may change a service's registration."""
    return user.is_authenticated and (user.is_platform_admin or service.team_id in user.team_ids)


def aws_targets_for(user, service: Service) -> QuerySet[AwsTarget]:
    if not service_list_for(user).filter(pk=service.pk).exists():
        return AwsTarget.objects.none()
    return service.aws_targets.all()
