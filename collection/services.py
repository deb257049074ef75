"""Writes of the collection app: starting runs (manual, scheduled, drift)."""

from __future__ import annotations

from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.context import Actor
from audit.services import audit_record
from collection import conf
from collection.choices import (
    ACTIVE_RUN_STATUSES,
    RegionStatus,
    RunMode,
    RunStatus,
    RunTrigger,
)
from collection.models import CollectionRun, RegionRun
from portal.errors import DomainError
from services.models import AwsTarget


def can_start_runs(user, service) -> bool:
    """Team members of the owning team and platform admins may start runs."""
    return bool(
        user is not None
        and user.is_authenticated
        and (user.is_platform_admin or service.team_id in user.team_ids)
    )


def _stale_cutoff(now=None):
    return (now or timezone.now()) - timedelta(hours=conf.stale_run_hours())


def _expire_stale_runs(aws_target: AwsTarget) -> None:
    """A run whose worker vanished long ago must not block the target forever: it fails,
    saying so, and the audit trail records it (in the caller's transaction)."""
    hours = conf.stale_run_hours()
    message = f"The run did not finish within {hours:g} hours and was abandoned."
    stale = CollectionRun.objects.select_for_update().filter(
        aws_target=aws_target, status__in=ACTIVE_RUN_STATUSES, created_at__lt=_stale_cutoff()
    )
    for run in stale:
        CollectionRun.objects.filter(pk=run.pk).update(
            status=RunStatus.FAILED, finished_at=timezone.now(), error_summary=message
        )
        audit_record(
            actor=Actor.system("collector"),
            action="collection.run_finish",
            obj=run,
            before={"status": run.status},
            after={"status": RunStatus.FAILED, "errors": message},
            service_slug=aws_target.service.slug,
        )


def collection_run_start(
    *,
    actor: Actor,
    aws_target: AwsTarget,
    trigger: str = RunTrigger.MANUAL,
    mode: str = RunMode.FULL,
) -> CollectionRun:
    """Start collecting from one AWS target: one region task per region is enqueued after
    commit. Users must belong to the owning team (or be platform admins); scheduled and drift
    runs are started by a system actor. Refuses a second concurrent run of the same target."""
    service = aws_target.service
    if actor.user is not None:
        if not can_start_runs(actor.user, service):
            raise DomainError(
                "Only the owning team or a platform admin can start a collection run.",
                code="not_allowed",
            )
    elif trigger == RunTrigger.MANUAL:
        raise DomainError("A manual run needs a signed-in user.", code="not_allowed")
    if not aws_target.enabled:
        raise DomainError("This AWS target is disabled.", code="invalid_state")
    if mode not in RunMode.values or trigger not in RunTrigger.values:
        raise DomainError("Unknown run mode or trigger.", code="invalid")
    from collection import tasks

    try:
        with transaction.atomic():
            _expire_stale_runs(aws_target)
            baseline = None
            if mode == RunMode.INCREMENTAL:
                baseline = (
                    CollectionRun.objects.filter(
                        aws_target=aws_target,
                        status__in=[RunStatus.SUCCEEDED, RunStatus.PARTIAL],
                    )
                    .order_by("-finished_at")
                    .first()
                )
            run = CollectionRun.objects.create(
                service=service,
                aws_target=aws_target,
                trigger=trigger,
                mode=mode,
                requested_by=actor.user,
                account_id=aws_target.account_id,
                role_arn=aws_target.role_arn,
                regions=list(aws_target.regions),
                baseline_run=baseline,
            )
            regions = RegionRun.objects.bulk_create(
                [RegionRun(run=run, region=r, status=RegionStatus.PENDING) for r in run.regions]
            )
            audit_record(
                actor=actor,
                action="collection.run_start",
                obj=run,
                after={
                    "account_id": run.account_id,
                    "regions": run.regions,
                    "mode": mode,
                    "trigger": trigger,
                    "role_arn": run.role_arn,
                },
                service_slug=service.slug,
            )
            for region_run in regions:
                tasks.collect_region.delay_on_commit(region_run.pk)
    except IntegrityError:
        raise DomainError(
            "A collection run is already in progress for this AWS target.", code="conflict"
        ) from None
    return run


def collection_due_targets(now=None) -> list[AwsTarget]:
    """Enabled targets whose collection interval has elapsed since their last run."""
    from django.db.models import Max, Q

    now = now or timezone.now()
    targets = (
        AwsTarget.objects.filter(enabled=True)
        .select_related("service")
        .annotate(
            last_run=Max("collection_runs__created_at"),
            active=Max(  # a stale active run does not block: starting one expires it
                "collection_runs__pk",
                filter=Q(
                    collection_runs__status__in=ACTIVE_RUN_STATUSES,
                    collection_runs__created_at__gte=_stale_cutoff(now),
                ),
            ),
        )
    )
    due = []
    for target in targets:
        if target.active:
            continue
        interval = timedelta(hours=target.collection_interval_hours)
        if target.last_run is None or target.last_run + interval <= now:
            due.append(target)
    return due


def collection_schedule_due(*, now=None) -> list[CollectionRun]:
    """Start incremental runs for every due target (Celery beat calls this)."""
    started = []
    for target in collection_due_targets(now):
        try:
            started.append(
                collection_run_start(
                    actor=Actor.system("collection-scheduler"),
                    aws_target=target,
                    trigger=RunTrigger.SCHEDULED,
                    mode=RunMode.INCREMENTAL,
                )
            )
        except DomainError:
            continue
    return started
