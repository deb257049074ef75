"""Reads of collection data, restricted to what the user may see."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count, Exists, Max, OuterRef, QuerySet, Subquery

from collection.checks.ids import CHECK_IDS
from collection.choices import FINISHED_RUN_STATUSES, CheckStatus, RegionStatus, RunStatus
from collection.models import CheckResult, CollectionRun, RegionRun, ResourceSnapshot
from services.models import AwsTarget
from services.selectors import service_list_for


@dataclass(frozen=True)
class LatestCheck:
    status: str
    evaluated_at: datetime | None
    run_id: int | None
    failing_resources: list[str] = field(default_factory=list)


def run_list_for(user) -> QuerySet[CollectionRun]:
    return CollectionRun.objects.filter(service__in=service_list_for(user)).select_related(
        "service", "aws_target", "requested_by"
    )


def snapshot_list_for(user) -> QuerySet[ResourceSnapshot]:
    return ResourceSnapshot.objects.filter(run__service__in=service_list_for(user)).select_related(
        "run__service"
    )


def recent_runs(service, limit: int = 10) -> list[CollectionRun]:
    return list(
        CollectionRun.objects.filter(service=service)
        .select_related("aws_target", "requested_by")
        .order_by("-created_at")[:limit]
    )


def _latest_finished_runs(service) -> QuerySet[CollectionRun]:
    """The newest finished run of each enabled target of the service (one query)."""
    newest = (
        CollectionRun.objects.filter(aws_target=OuterRef("pk"), status__in=FINISHED_RUN_STATUSES)
        .order_by("-finished_at", "-pk")
        .values("pk")[:1]
    )
    ids = AwsTarget.objects.filter(service=service, enabled=True).values(latest=Subquery(newest))
    return CollectionRun.objects.filter(pk__in=ids)


def latest_check_status(service, check_ids=None) -> dict[str, LatestCheck]:
    """Per check id, the aggregated result of the service's latest finished run per target.

    A check fails if any function fails it; is ``error`` if any function errors (or a target's
    latest run could not collect everything) and none fails; passes only if every function
    passes or is not applicable (all not applicable: ``not_applicable``). Checks with no
    result at all are absent. Three queries, whatever the number of functions or targets.
    """
    wanted = list(check_ids) if check_ids is not None else list(CHECK_IDS)
    runs = list(
        _latest_finished_runs(service)
        .annotate(
            lost_region=Exists(
                RegionRun.objects.filter(run=OuterRef("pk"), status=RegionStatus.FAILED)
            )
        )
        .values("pk", "status", "finished_at", "lost_region", "error_summary")
    )
    if not runs:
        return {}
    run_ids = [r["pk"] for r in runs]
    rows = (
        CheckResult.objects.filter(run_id__in=run_ids, check_id__in=wanted)
        .values("check_id", "status")
        .annotate(n=Count("pk"), last=Max("evaluated_at"), run=Max("run_id"))
    )
    failing = (
        CheckResult.objects.filter(run_id__in=run_ids, check_id__in=wanted, status=CheckStatus.FAIL)
        .order_by("check_id", "resource")
        .values_list("check_id", "resource")
    )
    failing_by_check: dict[str, list[str]] = {}
    for check_id, resource in failing:
        failing_by_check.setdefault(check_id, []).append(resource)
    by_check: dict[str, dict[str, dict]] = {}
    for row in rows:
        by_check.setdefault(row["check_id"], {})[row["status"]] = row
    incomplete = [r for r in runs if r["status"] == RunStatus.FAILED or r["lost_region"]]
    newest_run = max(runs, key=lambda r: r["finished_at"])
    out: dict[str, LatestCheck] = {}
    for check_id in wanted:
        statuses = by_check.get(check_id, {})
        if not statuses and not incomplete:
            continue
        if CheckStatus.FAIL in statuses:
            status = CheckStatus.FAIL
        elif CheckStatus.ERROR in statuses or incomplete:
            status = CheckStatus.ERROR
        elif CheckStatus.PASS in statuses:
            status = CheckStatus.PASS
        else:
            status = CheckStatus.NOT_APPLICABLE
        relevant = statuses.get(status) or next(iter(statuses.values()), None)
        out[check_id] = LatestCheck(
            status=status,
            evaluated_at=relevant["last"] if relevant else newest_run["finished_at"],
            run_id=relevant["run"] if relevant else (incomplete[0]["pk"]),
            failing_resources=failing_by_check.get(check_id, []),
        )
    return out
