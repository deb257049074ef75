"""What the service page shows besides the registration: readiness per environment,
reviews, the latest automated result per control, drift since approval, gate decisions,
waivers and (for auditors and admins) the audit trail. A fixed number of queries."""

from __future__ import annotations

from collections import Counter

from django.utils import timezone

from audit.selectors import can_read_audit_log, events_for_service
from controls.models import Control
from dashboards import readiness
from reviews.choices import ReviewStatus, WaiverStatus
from reviews.models import ReviewItem
from reviews.selectors import reviews_for_service, waivers_for_service

PASSING = ("pass", "not_applicable")
PROFILE_LABELS = [
    ("uses_api_gateway", "API Gateway"),
    ("uses_async_invocation", "async invocation"),
    ("uses_event_source_mapping", "event source mappings"),
    ("requires_vpc", "VPC"),
    ("internet_facing", "internet-facing"),
]


def _latest_checks(service):
    try:
        from collection.selectors import latest_check_status
    except ImportError:  # the collection app is not installed
        return {}
    return latest_check_status(service)


def _gate_decisions(service, limit=10):
    try:
        from gate.models import GateDecision
    except ImportError:  # the gate app is not installed
        return []
    return list(GateDecision.objects.filter(service=service).order_by("-evaluated_at")[:limit])


def _may_export(user, service) -> bool:
    try:
        from exports.selectors import may_export_service
    except ImportError:
        return False
    return may_export_service(user, service)


def automated_results(service, latest) -> list[dict]:
    """The latest result of each automated control of the current catalog."""
    controls = Control.objects.filter(catalog_version__is_current=True, check_id__gt="").order_by(
        "position", "code"
    )
    rows = []
    for control in controls:
        result = latest.get(control.check_id)
        if result is None:
            continue
        rows.append({"control": control, "result": result})
    return rows


def drift_since_approval(approved, latest) -> list[dict]:
    """Per valid approval: mandatory automated controls whose latest result no longer passes
    (what the drift detector revokes for, unless a waiver covers it)."""
    if not approved:
        return []
    items = ReviewItem.objects.filter(
        review__in=[r.pk for r in approved], mandatory=True, control__check_id__gt=""
    ).select_related("control")
    out = []
    by_review = {r.pk: r for r in approved}
    for item in items:
        result = latest.get(item.control.check_id)
        if result is None or result.status in PASSING:
            continue
        out.append(
            {
                "review": by_review[item.review_id],
                "control": item.control,
                "result": result,
                "waived": item.outcome == "waived",
            }
        )
    return out


def context(user, service) -> dict:
    now = timezone.now()
    reviews = list(reviews_for_service(service)[:200])
    rows = [
        {
            "id": r.pk,
            "service_id": r.service_id,
            "environment": r.environment,
            "status": r.status,
            "expires_at": r.expires_at,
            "approved_at": r.approved_at,
            "submitted_at": r.submitted_at,
            "created_at": r.created_at,
        }
        for r in reviews
    ]
    envs = readiness.env_statuses([service], rows, now)[service.pk]
    latest = _latest_checks(service)
    approved = [r for r in reviews if r.effective_status(now) == ReviewStatus.APPROVED]
    waivers = list(waivers_for_service(service).order_by("-created_at")[:50])
    automated = automated_results(service, latest)
    order = {"fail": 0, "error": 1, "pass": 2, "not_applicable": 3}
    return {
        "automated_sorted": sorted(automated, key=lambda r: order.get(r["result"].status, 9)),
        "automated_problems": [r for r in automated if r["result"].status in ("fail", "error")],
        "automated_counts": sorted(
            Counter(r["result"].status for r in automated).items(),
            key=lambda kv: order.get(kv[0], 9),
        ),
        "profile_labels": [label for flag, label in PROFILE_LABELS if getattr(service, flag)],
        "envs": envs,
        "recent_reviews": reviews[:10],
        "review_count": len(reviews),
        "automated": automated,
        "drift": drift_since_approval(approved, latest),
        "approved_reviews": approved,
        "gate_decisions": _gate_decisions(service),
        "waivers": [
            w
            for w in waivers
            if w.current_status in (WaiverStatus.REQUESTED, WaiverStatus.APPROVED)
        ],
        "waiver_count": len(waivers),
        "can_export": _may_export(user, service),
        "audit_events": list(events_for_service(service.slug)[:15])
        if can_read_audit_log(user)
        else None,
        "is_member": service.team_id in user.team_ids,
    }
