"""The portfolio dashboard's numbers: readiness by team and tier, compliance by framework
(services × frameworks), the approval trend and the controls failing most often.

A fixed number of queries whatever the number of services: every read is one aggregate or
one ``values()`` list; grouping happens in Python over those rows.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Count, OuterRef, Q, Subquery
from django.db.models.functions import TruncWeek
from django.utils import timezone

from audit.models import AuditEvent
from collection.choices import FINISHED_RUN_STATUSES, CheckStatus
from collection.models import CheckResult, CollectionRun
from controls.models import CatalogVersion, Control, Framework
from dashboards import readiness
from reviews.choices import ItemOutcome, ReviewStatus
from reviews.models import Review, ReviewItem
from services.models import AwsTarget

# Outcomes that meet a control for compliance purposes (evidence freshness is the review's
# business; the dashboard shows what the checklist says).
MET_OUTCOMES = (ItemOutcome.PASS, ItemOutcome.WAIVED, ItemOutcome.NOT_APPLICABLE)
TREND_WEEKS = 12


@dataclass
class Cell:
    met: int = 0
    total: int = 0

    @property
    def percent(self) -> int | None:
        return round(100 * self.met / self.total) if self.total else None

    @property
    def band(self) -> str:
        """A colour band for the heatmap (the number is always printed too)."""
        p = self.percent
        if p is None:
            return "none"
        if p >= 90:
            return "b4"
        if p >= 75:
            return "b3"
        if p >= 50:
            return "b2"
        return "b1"


@dataclass
class HeatRow:
    service: object
    cells: list[Cell] = field(default_factory=list)
    review_id: int | None = None
    readiness_label: str = ""


def current_catalog_or_none() -> CatalogVersion | None:
    return CatalogVersion.objects.filter(is_current=True).first()


def frameworks(catalog) -> list[Framework]:
    if catalog is None:
        return []
    return list(Framework.objects.filter(catalog_version=catalog).order_by("position", "code"))


def framework_cells(review_ids) -> dict[int, dict[str, Cell]]:
    """Per review, per framework code: items mapped to it and how many are met (one query)."""
    rows = (
        ReviewItem.objects.filter(review_id__in=list(review_ids))
        .exclude(control__mappings__isnull=True)
        .values("review_id", "control__mappings__requirement__framework__code")
        .annotate(
            total=Count("id", distinct=True),
            met=Count("id", filter=Q(outcome__in=MET_OUTCOMES), distinct=True),
        )
    )
    out: dict[int, dict[str, Cell]] = defaultdict(dict)
    for row in rows:
        code = row["control__mappings__requirement__framework__code"]
        out[row["review_id"]][code] = Cell(met=row["met"], total=row["total"])
    return out


def heatmap(services, governing: dict[int, int], fws, cells, by_service) -> list[HeatRow]:
    rows = []
    for service in services:
        review_id = governing.get(service.pk)
        by_fw = cells.get(review_id, {}) if review_id else {}
        rows.append(
            HeatRow(
                service=service,
                review_id=review_id,
                cells=[by_fw.get(fw.code, Cell()) for fw in fws],
                readiness_label=by_service[service.pk].bucket_label,
            )
        )
    return rows


def framework_totals(governing: dict[int, int], fws, cells) -> list[tuple[Framework, Cell]]:
    """Portfolio compliance per framework: met / mapped items over every governing review."""
    out = []
    for fw in fws:
        total = Cell()
        for review_id in governing.values():
            cell = cells.get(review_id, {}).get(fw.code)
            if cell:
                total.met += cell.met
                total.total += cell.total
        out.append((fw, total))
    return out


def readiness_counts(readiness_by_service, key) -> list[dict]:
    """Rows of {label, counts: {bucket: n}, total} grouped by ``key(service)``."""
    groups: dict[str, Counter] = defaultdict(Counter)
    for item in readiness_by_service.values():
        groups[key(item.service)][item.bucket] += 1
    return [
        {
            "label": label,
            "counts": [(b, groups[label][b]) for b in readiness.READINESS_ORDER],
            "total": sum(groups[label].values()),
        }
        for label in sorted(groups)
    ]


def trend(services_qs, sees_all: bool, now: datetime, weeks: int = TREND_WEEKS) -> list[dict]:
    """Approvals (audit events) and lapsed approvals (expiry dates) per week (two queries)."""
    start = timezone.localdate(now) - timedelta(days=7 * (weeks - 1) + now.weekday())
    since = now - timedelta(days=7 * weeks + 7)
    approvals = AuditEvent.objects.filter(action="review.approve", occurred_at__gte=since)
    if not sees_all:
        approvals = approvals.filter(service_slug__in=Subquery(services_qs.values("slug")))
    approved = {
        row["week"].date() if hasattr(row["week"], "date") else row["week"]: row["n"]
        for row in approvals.annotate(week=TruncWeek("occurred_at"))
        .values("week")
        .annotate(n=Count("seq"))
        .order_by()
    }
    lapsed_qs = (
        Review.objects.filter(
            service__in=services_qs,
            expires_at__gte=since,
            expires_at__lte=now,
            status__in=[ReviewStatus.APPROVED, ReviewStatus.EXPIRED],
        )
        .annotate(week=TruncWeek("expires_at"))
        .values("week")
        .annotate(n=Count("id"))
        .order_by()
    )
    expired = {
        row["week"].date() if hasattr(row["week"], "date") else row["week"]: row["n"]
        for row in lapsed_qs
    }
    out = []
    for i in range(weeks):
        week = start + timedelta(days=7 * i)
        out.append(
            {"week": week, "approved": approved.get(week, 0), "expired": expired.get(week, 0)}
        )
    return out


def top_failing_controls(services_qs, catalog, governing, limit: int = 10) -> list[dict]:
    """Controls failing in the most services: automated results of each target's latest
    finished run, and checklist items marked fail in governing reviews (three queries)."""
    newest = (
        CollectionRun.objects.filter(aws_target=OuterRef("pk"), status__in=FINISHED_RUN_STATUSES)
        .order_by("-finished_at", "-pk")
        .values("pk")[:1]
    )
    latest_runs = AwsTarget.objects.filter(service__in=services_qs, enabled=True).values(
        latest=Subquery(newest)
    )
    automated = dict(
        CheckResult.objects.filter(run_id__in=latest_runs, status=CheckStatus.FAIL)
        .values("check_id")
        .annotate(n=Count("run__service_id", distinct=True))
        .values_list("check_id", "n")
    )
    manual = dict(
        ReviewItem.objects.filter(review_id__in=list(governing.values()), outcome=ItemOutcome.FAIL)
        .values("control__code")
        .annotate(n=Count("review__service_id", distinct=True))
        .values_list("control__code", "n")
    )
    controls = {}
    if catalog is not None:
        controls = {
            c["code"]: c
            for c in Control.objects.filter(catalog_version=catalog).values(
                "code", "title", "check_id", "severity"
            )
        }
    by_check = {c["check_id"]: code for code, c in controls.items() if c["check_id"]}
    counts: dict[str, dict] = {}
    for check_id, n in automated.items():
        code = by_check.get(check_id, check_id)
        counts.setdefault(code, {"automated": 0, "checklist": 0})["automated"] = n
    for code, n in manual.items():
        counts.setdefault(code, {"automated": 0, "checklist": 0})["checklist"] = n
    rows = [
        {
            "code": code,
            "title": controls.get(code, {}).get("title", ""),
            "severity": controls.get(code, {}).get("severity", ""),
            "automated": c["automated"],
            "checklist": c["checklist"],
            "services": max(c["automated"], c["checklist"]),
        }
        for code, c in counts.items()
    ]
    rows.sort(key=lambda r: (-r["services"], r["code"]))
    return rows[:limit]


def portfolio(user, services_qs, *, now: datetime | None = None) -> dict:
    """Everything the portfolio dashboard shows, for the services in ``services_qs``."""
    now = now or timezone.now()
    services = list(services_qs.select_related("team").order_by("team__name", "name"))
    rows = readiness.review_rows(services_qs)
    by_service = readiness.env_statuses(services, rows, now)
    governing = readiness.governing_review_ids(rows, now)
    catalog = current_catalog_or_none()
    fws = frameworks(catalog)
    cells = framework_cells(governing.values())
    return {
        "now": now,
        "services": services,
        "readiness": by_service,
        "by_team": readiness_counts(by_service, lambda s: s.team.name),
        "by_tier": readiness_counts(by_service, lambda s: f"Tier {s.tier}"),
        "frameworks": fws,
        "heatmap": heatmap(services, governing, fws, cells, by_service),
        "framework_totals": framework_totals(governing, fws, cells),
        "trend": trend(services_qs, user.sees_all_services, now),
        "failing": top_failing_controls(services_qs, catalog, governing),
        "bucket_labels": readiness.READINESS_LABELS,
    }
