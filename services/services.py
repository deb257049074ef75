"""Every write to services and AWS targets: validated, permission-checked and audited."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from accounts.models import Team
from audit.context import Actor
from audit.services import audit_record
from portal.errors import DomainError
from services.models import AwsTarget, Service

SERVICE_FIELDS = [
    "name",
    "slug",
    "description",
    "tier",
    "data_classification",
    "environments",
    "repository",
    "repository_id",
    "uses_api_gateway",
    "uses_async_invocation",
    "uses_event_source_mapping",
    "requires_vpc",
    "internet_facing",
]
TARGET_FIELDS = [
    "account_id",
    "regions",
    "role_arn",
    "function_name_prefix",
    "function_tags",
    "cloudformation_stack",
    "collection_interval_hours",
    "enabled",
]


def _snapshot(obj, fields) -> dict:
    return {f: getattr(obj, f) for f in fields}


def _validation_error(exc: ValidationError) -> DomainError:
    details = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
    first = next(iter(details.values()))[0]
    return DomainError(first, code="invalid", details=details)


def _require_team_member(actor: Actor, team: Team, action: str) -> None:
    user = actor.user
    if user is None or not (user.is_platform_admin or team.pk in user.team_ids):
        raise DomainError(
            f"Only members of {team.name} or a platform admin may {action}.", code="not_allowed"
        )


def service_create(*, actor: Actor, team: Team, **fields) -> Service:
    """Register a service for a team. Saves nothing if any field is invalid."""
    _require_team_member(actor, team, "register services for it")
    unknown = set(fields) - set(SERVICE_FIELDS)
    if unknown:
        raise DomainError(f"Unknown fields: {', '.join(sorted(unknown))}.")
    service = Service(team=team, created_by=actor.user, **fields)
    try:
        service.full_clean()
    except ValidationError as exc:
        raise _validation_error(exc) from None
    try:
        with transaction.atomic():
            service.save()
            audit_record(
                actor=actor,
                action="service.create",
                obj=service,
                after=_snapshot(service, SERVICE_FIELDS),
                service_slug=service.slug,
            )
    except IntegrityError:
        raise DomainError(
            f"A service with the slug {service.slug!r} already exists.",
            details={"slug": ["already taken"]},
        ) from None
    return service


def service_update(*, actor: Actor, service: Service, **fields) -> Service:
    """Change a service's registration (the slug is permanent: CI identities refer to it)."""
    _require_team_member(actor, service.team, "change this service")
    unknown = set(fields) - (set(SERVICE_FIELDS) - {"slug"})
    if unknown:
        raise DomainError(f"These fields cannot be changed: {', '.join(sorted(unknown))}.")
    with transaction.atomic():
        locked = Service.objects.select_for_update().get(pk=service.pk)
        before = _snapshot(locked, SERVICE_FIELDS)
        for name, value in fields.items():
            setattr(locked, name, value)
        try:
            locked.full_clean()
        except ValidationError as exc:
            raise _validation_error(exc) from None
        locked.save()
        after = _snapshot(locked, SERVICE_FIELDS)
        changed = {k for k in after if after[k] != before[k]}
        audit_record(
            actor=actor,
            action="service.update",
            obj=locked,
            before={k: before[k] for k in changed},
            after={k: after[k] for k in changed},
            service_slug=locked.slug,
        )
    return locked


def aws_target_create(*, actor: Actor, service: Service, **fields) -> AwsTarget:
    """Link an AWS account to a service; the portal generates the external id."""
    _require_team_member(actor, service.team, "link AWS accounts to this service")
    unknown = set(fields) - set(TARGET_FIELDS)
    if unknown:
        raise DomainError(f"Unknown fields: {', '.join(sorted(unknown))}.")
    target = AwsTarget(service=service, **fields)
    try:
        target.full_clean()
    except ValidationError as exc:
        raise _validation_error(exc) from None
    try:
        with transaction.atomic():
            target.save()
            audit_record(
                actor=actor,
                action="aws_target.create",
                obj=target,
                after=_snapshot(target, TARGET_FIELDS),
                service_slug=service.slug,
            )
    except IntegrityError:
        raise DomainError(
            f"Account {target.account_id} is already linked to {service.name}.",
            details={"account_id": ["already linked"]},
        ) from None
    return target


def aws_target_update(*, actor: Actor, target: AwsTarget, **fields) -> AwsTarget:
    _require_team_member(actor, target.service.team, "change this AWS target")
    unknown = set(fields) - (set(TARGET_FIELDS) - {"account_id"})
    if unknown:
        raise DomainError(f"These fields cannot be changed: {', '.join(sorted(unknown))}.")
    with transaction.atomic():
        locked = AwsTarget.objects.select_for_update().select_related("service").get(pk=target.pk)
        before = _snapshot(locked, TARGET_FIELDS)
        for name, value in fields.items():
            setattr(locked, name, value)
        try:
            locked.full_clean()
        except ValidationError as exc:
            raise _validation_error(exc) from None
        locked.save()
        audit_record(
            actor=actor,
            action="aws_target.update",
            obj=locked,
            before=before,
            after=_snapshot(locked, TARGET_FIELDS),
            service_slug=locked.service.slug,
        )
    return locked
