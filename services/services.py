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


def _reject_unknown(fields: dict, allowed: list[str]) -> None:
    unknown = set(fields) - set(allowed)
    if unknown:
        raise DomainError(f"Unknown fields: {', '.join(sorted(unknown))}.")


def _create_audited(*, actor, obj, action, fields, service_slug, duplicate: DomainError):
    """Validate, insert and audit a new row in one transaction; a unique clash that slipped
    past validation (a concurrent insert) becomes ``duplicate``."""
    try:
        obj.full_clean()
    except ValidationError as exc:
        raise _validation_error(exc) from None
    try:
        with transaction.atomic():
            obj.save()
            audit_record(
                actor=actor,
                action=action,
                obj=obj,
                after=_snapshot(obj, fields),
                service_slug=service_slug,
            )
    except IntegrityError:
        raise duplicate from None
    return obj


def service_create(*, actor: Actor, team: Team, **fields) -> Service:
    """Register a service for a team. Saves nothing if any field is invalid."""
    _require_team_member(actor, team, "register services for it")
    _reject_unknown(fields, SERVICE_FIELDS)
    service = Service(team=team, created_by=actor.user, **fields)
    return _create_audited(
        actor=actor,
        obj=service,
        action="service.create",
        fields=SERVICE_FIELDS,
        service_slug=service.slug,
        duplicate=DomainError(
            f"A service with the slug {service.slug!r} already exists.",
            details={"slug": ["already taken"]},
        ),
    )


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
    _reject_unknown(fields, TARGET_FIELDS)
    target = AwsTarget(service=service, **fields)
    return _create_audited(
        actor=actor,
        obj=target,
        action="aws_target.create",
        fields=TARGET_FIELDS,
        service_slug=service.slug,
        duplicate=DomainError(
            f"Account {target.account_id} is already linked to {service.name}.",
            details={"account_id": ["already linked"]},
        ),
    )


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
