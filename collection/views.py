"""HTML views of collection runs: start a run, watch it, read results and snapshots."""

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count
from django.db.models.fields.json import KeyTransform
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from audit.context import Actor
from audit.services import audit_denied
from collection import selectors, services
from collection.checks import checks_needing
from collection.checks.base import UNAVAILABLE_PREFIX
from collection.choices import CheckStatus, RunMode
from collection.models import CollectionRun, RegionRun, ResourceSnapshot
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


# The fact families a region or a function may fail to collect (``RegionRun.unavailable``,
# ``facts["unavailable"]``), in the words the run page shows; an unknown one shows its key.
FAMILY_LABELS = {
    "collector": "Access to the account (collector role)",
    "code_signing": "Lambda code signing configurations",
    "esm": "Lambda event source mappings",
    "alarms": "CloudWatch alarms",
    "logs": "CloudWatch Logs log groups",
    "iam": "IAM roles and their policies",
    "kms": "KMS keys",
    "ec2": "VPC subnets and security groups",
    "codedeploy": "CodeDeploy deployment groups",
    "secrets": "Secrets Manager secrets",
    "config": "AWS Config rule compliance",
    "securityhub": "Security Hub findings",
    "get_function": "Function configuration (reserved concurrency, tags)",
    "aliases": "Function aliases and versions",
    "provisioned_concurrency": "Provisioned concurrency",
    "invoke_config": "Asynchronous invocation configuration",
    "policy": "Function resource policy",
    "apigw": "API Gateway stages",
}


def family_label(family: str) -> str:
    return FAMILY_LABELS.get(family, family)


def run_unavailable(run: CollectionRun, regions: list[RegionRun]) -> list[dict]:
    """What could not be collected, per region: the account-wide fact families the region
    could not read (``RegionRun.unavailable``: every function of the region lacks them) and
    the ones only some functions lack (``facts["unavailable"]`` of its snapshots), each with
    the plain-words reason, the number of functions affected and the checks it turned into
    ``error`` (while the run is active: the checks that need it). Two queries whatever the
    run's size: the snapshots are grouped in the database by their ``unavailable`` object (no
    facts are loaded), and the error results by region and check id."""
    totals: dict[str, int] = {}
    per_function: dict[str, dict[tuple[str, str], int]] = {}
    grouped = (
        ResourceSnapshot.objects.filter(run=run)
        .annotate(missing=KeyTransform("unavailable", "facts"))
        .values("region", "missing")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for row in grouped:
        region, n = row["region"], row["n"]
        totals[region] = totals.get(region, 0) + n
        missing = row["missing"]  # decoded by the JSONField (SQLite and PostgreSQL alike)
        for family, reason in (missing if isinstance(missing, dict) else {}).items():
            key = (str(family), str(reason))
            counts = per_function.setdefault(region, {})
            counts[key] = counts.get(key, 0) + n
    # The checks each reason turned into error: the check decorator words them
    # UNAVAILABLE_PREFIX + reason (collection.checks.base.check).
    prefix = UNAVAILABLE_PREFIX
    errored: dict[str, set[str]] = {}
    for region, check_id in (
        run.results.filter(
            status=CheckStatus.ERROR, snapshot__isnull=False, message__startswith=prefix
        )
        .values_list("snapshot__region", "check_id")
        .distinct()
        .order_by()
    ):
        errored.setdefault(region, set()).add(check_id)

    def entry(region: str, family: str, reason: str, functions: int) -> dict:
        needing = checks_needing(family)
        if not run.is_active:
            # The checks needing it that are error in this region (whichever missing family
            # the message names: a check needing two missing families names the first); one
            # the catalog does not require for the service is not applicable instead.
            done = errored.get(region, set())
            needing = [c for c in needing if c in done]
        return {
            "family": family,
            "label": family_label(family),
            "reason": reason,
            "functions": functions,
            "checks": needing,
        }

    out = []
    for rr in regions:
        account_wide = {str(k): str(v) for k, v in (rr.unavailable or {}).items()}
        total = totals.get(rr.region, 0)
        rows = [
            entry(rr.region, family, reason, total)
            for family, reason in sorted(account_wide.items())
        ]
        functions = [
            entry(rr.region, family, reason, n)
            for (family, reason), n in sorted(per_function.get(rr.region, {}).items())
            if account_wide.get(family) != reason
        ]
        out.append(
            {
                "region": rr.region,
                "functions_total": total,
                "account_wide": rows,
                "per_function": functions,
            }
        )
    return out


@login_required
def run_detail(request, run_id):
    run = _visible_run(request, run_id)
    regions = list(run.region_runs.all())
    status = request.GET.get("status", "")
    check = request.GET.get("check", "").strip()
    results = (
        run.results.select_related("snapshot")
        .defer("snapshot__facts", "snapshot__api_operations")
        .order_by("status", "check_id", "resource")
    )
    if status in CheckStatus.values:
        results = results.filter(status=status)
    if check:
        results = results.filter(check_id__icontains=check)
    counts = {
        row["status"]: row["n"]
        for row in run.results.values("status").order_by().annotate(n=Count("pk"))
    }
    page = Paginator(results, 100).get_page(request.GET.get("page"))
    unavailable = run_unavailable(run, regions)
    return render(
        request,
        "collection/run_detail.html",
        {
            "run": run,
            "progress": progress_payload(run, regions),
            "region_calls": [region_calls(r) for r in regions],
            "unavailable": unavailable,
            "unavailable_any": any(u["account_wide"] or u["per_function"] for u in unavailable),
            "page": page,
            "status": status,
            "check": check,
            "statuses": CheckStatus.choices,
            "error_status": CheckStatus.ERROR,
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
