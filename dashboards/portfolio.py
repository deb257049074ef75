"""The portfolio dashboard's numbers: readiness by team and tier, compliance by framework
(services × frameworks), the approval trend and the controls failing most often.

A fixed number of queries whatever the number of services: every read is one aggregate or
one ``values()`` list; grouping happens in Python over those rows. The portfolio-wide
``summary`` still reads a row per service and per review and aggregates every governing
checklist (0.15-0.25 s at 2,000 services), so the page caches it for a few minutes
(``summary_cached``) and says how old it is; the heatmap is computed for one page of
services at a time.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.core.cache import cache
from django.db.models import Count, OuterRef, Q, Subquery
from django.db.models.functions import TruncWeek
from django.utils import timezone

from accounts.models import Team
from audit.models import AuditEvent
from collection.choices import FINISHED_RUN_STATUSES, CheckStatus
from collection.models import CheckResult, CollectionRun
from controls.models import CatalogVersion, Control, ControlMapping, Framework
from dashboards import readiness
from reviews.choices import ItemOutcome, ReviewStatus
from reviews.models import Review, ReviewItem
from services.models import AwsTarget, Service
from services.selectors import service_list_for

# Outcomes that meet a control for compliance purposes (evidence freshness is the review's
# business; the dashboard shows what the checklist says).
MET_OUTCOMES = (ItemOutcome.PASS, ItemOutcome.WAIVED, ItemOutcome.NOT_APPLICABLE)
TREND_WEEKS = 12
# How long the portfolio summary is reused (the page shows when it was computed).
SUMMARY_CACHE_SECONDS = 300


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
    """Per review, per framework code: items mapped to it and how many are met (two queries:
    the framework codes each control of the reviews' catalogs maps to, and the reviews' item
    outcomes; meant for a page of reviews). An item counts once per framework even when its
    control maps to several of the framework's requirements."""
    review_ids = list(review_ids)
    if not review_ids:
        return {}
    mapped: dict[int, set[str]] = defaultdict(set)
    catalogs = Review.objects.filter(pk__in=review_ids).values("catalog_version")
    for control_id, code in (
        ControlMapping.objects.filter(control__catalog_version__in=catalogs)
        .values_list("control_id", "requirement__framework__code")
        .order_by()
        .distinct()
    ):
        mapped[control_id].add(code)
    codes_of = {control_id: tuple(codes) for control_id, codes in mapped.items()}
    # Count items per (review, set of framework codes, met) first: a control maps to about
    # five frameworks, and many controls share the same set.
    tally: Counter = Counter()
    items = ReviewItem.objects.filter(review_id__in=review_ids).order_by()
    for review_id, control_id, outcome in items.values_list("review_id", "control_id", "outcome"):
        codes = codes_of.get(control_id)
        if codes:
            tally[review_id, codes, outcome in MET_OUTCOMES] += 1
    out: dict[int, dict[str, Cell]] = defaultdict(dict)
    for (review_id, codes, met), n in tally.items():
        cells = out[review_id]
        for code in codes:
            cell = cells.setdefault(code, Cell())
            cell.total += n
            if met:
                cell.met += n
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


@dataclass
class ControlTally:
    """Items of one control over a set of reviews: how many, how many met, how many failed."""

    code: str
    frameworks: frozenset[str]
    total: int = 0
    met: int = 0
    failed: int = 0


def control_tallies(review_ids) -> list[ControlTally]:
    """Checklist items of ``review_ids`` counted per control (one aggregate over the items,
    grouped by control: a hundred rows whatever the number of reviews) and the framework
    codes each control maps to (one query over the catalog's mappings)."""
    counts = list(
        ReviewItem.objects.filter(review_id__in=list(review_ids))
        .values("control_id")
        .annotate(
            total=Count("id"),
            met=Count("id", filter=Q(outcome__in=MET_OUTCOMES)),
            failed=Count("id", filter=Q(outcome=ItemOutcome.FAIL)),
        )
        .order_by()
    )
    mapped: dict[int, set[str]] = defaultdict(set)
    codes: dict[int, str] = {}
    for control_id, code, fw_code in Control.objects.filter(
        pk__in=[row["control_id"] for row in counts]
    ).values_list("pk", "code", "mappings__requirement__framework__code"):
        codes[control_id] = code
        if fw_code:
            mapped[control_id].add(fw_code)
    return [
        ControlTally(
            code=codes[row["control_id"]],
            frameworks=frozenset(mapped[row["control_id"]]),
            total=row["total"],
            met=row["met"],
            failed=row["failed"],
        )
        for row in counts
    ]


def compliance_by_framework(tallies: list[ControlTally], fws) -> list[tuple[Framework, Cell]]:
    """Portfolio compliance per framework: met / mapped items over the tallied reviews (an
    item counts once per framework even when its control maps to several requirements)."""
    out = []
    for fw in fws:
        cell = Cell()
        for tally in tallies:
            if fw.code in tally.frameworks:
                cell.met += tally.met
                cell.total += tally.total
        out.append((fw, cell))
    return out


def readiness_counts(buckets: list[tuple], key) -> list[dict]:
    """Rows of {label, counts: {bucket: n}, total} grouped by ``key(service)``, from
    (service, bucket) pairs."""
    groups: dict[str, Counter] = defaultdict(Counter)
    for service, bucket in buckets:
        groups[key(service)][bucket] += 1
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


def top_failing_controls(services_qs, catalog, tallies, limit: int = 10) -> list[dict]:
    """Controls failing in the most services: automated results of each target's latest
    finished run (one query), and checklist items marked fail in governing reviews (from the
    tallies: one governing review per service, one item per control)."""
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
    manual: Counter = Counter()
    for tally in tallies:
        manual[tally.code] += tally.failed
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
        if n:
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


@dataclass(frozen=True)
class ServiceRow:
    """What the portfolio numbers need of a service (no model instance: 2,000 of these are
    cheap to build and to cache)."""

    pk: int
    team: str
    tier: int
    environments: list


def worst_first(rows: list[dict], limit: int) -> list[dict]:
    """The ``limit`` groups with the most services not approved in every environment."""
    if len(rows) <= limit:
        return rows
    ready = readiness.READY
    return sorted(rows, key=lambda r: (-(r["total"] - dict(r["counts"])[ready]), r["label"]))[
        :limit
    ]


def summary(services_qs, *, sees_all: bool, now: datetime | None = None) -> dict:
    """The portfolio-wide numbers of the dashboard for the services in ``services_qs``:
    readiness by team and tier, compliance by framework, the approval trend and the controls
    failing most often. A fixed number of queries (two plain lists of services and reviews,
    aggregates for the rest); plain data, so it can be cached."""
    now = now or timezone.now()
    services = [
        ServiceRow(*row)
        for row in services_qs.order_by().values_list("pk", "team__name", "tier", "environments")
    ]
    rows = readiness.review_rows(services_qs)
    buckets = [(r.service, r.bucket) for r in readiness.env_statuses(services, rows, now).values()]
    governing = readiness.governing_review_ids(rows, now)
    catalog = current_catalog_or_none()
    tallies = control_tallies(governing.values())
    by_team = readiness_counts(buckets, lambda s: s.team)
    return {
        "computed_at": now,
        "service_count": len(services),
        "ready_count": sum(1 for _, bucket in buckets if bucket == readiness.READY),
        "team_count": len(by_team),
        "by_team": by_team,
        "by_tier": readiness_counts(buckets, lambda s: f"Tier {s.tier}"),
        "framework_totals": compliance_by_framework(tallies, frameworks(catalog)),
        "trend": trend(services_qs, sees_all, now),
        "failing": top_failing_controls(services_qs, catalog, tallies),
    }


def heatmap_rows(services, fws, *, now: datetime | None = None) -> list[HeatRow]:
    """Heatmap rows for one page of services (two queries: their reviews and the framework
    cells of their governing reviews)."""
    now = now or timezone.now()
    services = list(services)
    rows = readiness.review_rows([s.pk for s in services])
    by_service = readiness.env_statuses(services, rows, now)
    governing = readiness.governing_review_ids(rows, now)
    cells = framework_cells(governing.values())
    return heatmap(services, governing, fws, cells, by_service)


def summary_scope(user, *, team: str = "", tier: str = "") -> str:
    """What the summary depends on besides the data: the services the user may see (all, or
    their teams) and the filters."""
    who = "all" if user.sees_all_services else ",".join(str(t) for t in sorted(user.team_ids))
    return f"{who}|team={team}|tier={tier}"


# The scope of an unfiltered dashboard for users who see every service.
ALL_SCOPE = "all|team=|tier="


def _key(what: str, scope: str) -> str:
    return f"dashboards:{what}:v1:" + hashlib.sha256(scope.encode()).hexdigest()


def _cached(what: str, scope: str, compute):
    key = _key(what, scope)
    data = cache.get(key)
    if data is None:
        data = compute()
        cache.set(key, data, SUMMARY_CACHE_SECONDS)
    return data


def summary_cached(user, services_qs, *, scope: str) -> dict:
    """``summary`` reused for ``SUMMARY_CACHE_SECONDS`` by every user with the same scope."""
    return _cached("summary", scope, lambda: summary(services_qs, sees_all=user.sees_all_services))


def summary_refresh_all() -> dict:
    """Recompute and cache the unfiltered summary of users who see every service (reviewers,
    auditors, admins), so that no page load pays for it (run by Celery beat a little more
    often than ``SUMMARY_CACHE_SECONDS``)."""
    data = summary(Service.objects.select_related("team"), sees_all=True)
    cache.set(_key("summary", ALL_SCOPE), data, SUMMARY_CACHE_SECONDS)
    return data


def team_choices(user) -> list[dict]:
    """Slug and name of the teams owning a service the user may see, for the team filter
    (a join over every service: cached like the summary)."""
    return _cached(
        "teams",
        summary_scope(user),
        lambda: list(
            Team.objects.filter(services__in=service_list_for(user))
            .distinct()
            .order_by("name")
            .values("slug", "name")
        ),
    )
