"""HTML views of collection runs: start a run, watch it, read results and snapshots."""

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from audit.context import Actor
from audit.services import audit_denied
from collection import selectors, services
from collection.choices import CheckStatus, RunMode
from collection.models import CollectionRun, RegionRun
from portal.errors import DomainError
from services.models import AwsTarget
from services.selectors import service_list_for


@login_required
@require_POST
def run_start(request, target_id):
    target = get_object_or_404(
        AwsTarget.objects.select_related("service").filter(
            service__in=service_list_for(request.user)
        ),
        pk=target_id,
    )
    mode = request.POST.get("mode", RunMode.FULL)
    try:
        run = services.collection_run_start(
            actor=Actor.from_request(request),
            aws_target=target,
            mode=mode if mode in RunMode.values else RunMode.FULL,
        )
    except DomainError as exc:
        if exc.code == "not_allowed":
            audit_denied(
                actor=Actor.from_request(request),
                action="collection.run_start",
                obj=target,
                message=exc.message,
                service_slug=target.service.slug,
            )
        messages.error(request, exc.message)
        return redirect(target.service)
    messages.success(request, f"Collection run {run.pk} started.")
    return redirect(run)


def _visible_run(request, run_id) -> CollectionRun:
    return get_object_or_404(selectors.run_list_for(request.user), pk=run_id)


def progress_payload(run: CollectionRun, regions: list[RegionRun] | None = None) -> dict:
    """The run's counters and per-region progress (the run page polls it as JSON). Pass the
    run's regions if already read; otherwise they are read without their recorded calls."""
    if regions is None:
        regions = list(run.region_runs.defer("bulk_operations", "unavailable"))
    return {
        "id": run.pk,
        "status": run.status,
        "status_label": run.get_status_display(),
        "finished": not run.is_active,
        "discovered": run.functions_discovered,
        "collected": run.functions_collected,
        "evaluated": run.functions_evaluated,
        "results": run.results_count,
        "regions": [
            {
                "region": r.region,
                "status": r.status,
                "discovered": r.functions_discovered,
                "batches_done": r.batches_done,
                "batches_total": r.batches_total,
                "error": r.error_message,
            }
            for r in regions
        ],
    }


def region_calls(region_run: RegionRun) -> dict:
    """The account-wide AWS calls a region recorded (``RegionRun.bulk_operations``), one row
    per operation in the order first called: how many calls (pages), how many attempts
    (retries included) and every AWS request id, for the run page's provenance tables."""
    rows: dict[str, dict] = {}
    for call in region_run.bulk_operations or []:
        operation = str(call.get("operation") or "unknown")
        row = rows.setdefault(
            operation, {"operation": operation, "calls": 0, "attempts": 0, "request_ids": []}
        )
        row["calls"] += 1
        row["attempts"] += int(call.get("attempts") or 1)
        row["request_ids"].append(str(call.get("request_id") or ""))
    operations = list(rows.values())
    for row in operations:
        row["retries"] = row["attempts"] - row["calls"]
    return {
        "region": region_run.region,
        "status": region_run.get_status_display(),
        "started_at": region_run.started_at,
        "finished_at": region_run.finished_at,
        "calls": sum(row["calls"] for row in operations),
        "attempts": sum(row["attempts"] for row in operations),
        "operations": operations,
    }


@login_required
def run_detail(request, run_id):
    run = _visible_run(request, run_id)
    regions = list(run.region_runs.all())
    status = request.GET.get("status", "")
    check = request.GET.get("check", "").strip()
    results = run.results.select_related("snapshot").order_by("status", "check_id", "resource")
    if status in CheckStatus.values:
        results = results.filter(status=status)
    if check:
        results = results.filter(check_id__icontains=check)
    counts = {
        row["status"]: row["n"]
        for row in run.results.values("status").order_by().annotate(n=Count("pk"))
    }
    page = Paginator(results, 100).get_page(request.GET.get("page"))
    return render(
        request,
        "collection/run_detail.html",
        {
            "run": run,
            "progress": progress_payload(run, regions),
            "region_calls": [region_calls(r) for r in regions],
            "page": page,
            "status": status,
            "check": check,
            "statuses": CheckStatus.choices,
            "counts": counts,
        },
    )


@login_required
@require_GET
def run_progress(request, run_id):
    run = _visible_run(request, run_id)
    return JsonResponse(progress_payload(run))


@login_required
def snapshot_detail(request, snapshot_id):
    snapshot = get_object_or_404(selectors.snapshot_list_for(request.user), pk=snapshot_id)

    return render(
        request,
        "collection/snapshot_detail.html",
        {
            "snapshot": snapshot,
            "facts_json": json.dumps(snapshot.facts, indent=2, sort_keys=True),
            "results": snapshot.results.order_by("status", "check_id"),
        },
    )


def panel_context(service, user) -> dict:
    """Context of the service page's collection panel (see the collection_panel tag)."""
    if not service_list_for(user).filter(pk=service.pk).exists():
        raise Http404
    latest = selectors.latest_check_status(service)
    return {
        "service": service,
        "targets": service.aws_targets.all(),
        "runs": selectors.recent_runs(service, 5),
        "latest": sorted(latest.items()),
        "can_start": services.can_start_runs(user, service),
    }
