"""What each role's home page shows: the next things to do, without clicking around.

Owners: their services' readiness per environment, mandatory items still open, stale
evidence, waivers expiring within 30 days and gate denials this week, turned into a to-do
list. Reviewers: their queue with ageing. Auditors: portfolio compliance by framework.
Each block is a fixed number of queries, whatever the number of services.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone

from dashboards import portfolio, readiness
from reviews import selectors as review_selectors
from reviews.choices import OPEN_STATUSES, ItemOutcome, ReviewStatus, WaiverStatus
from reviews.models import ItemEvidence, ReviewItem, Waiver
from services.selectors import service_list_for

WAIVER_WARNING_DAYS = 30
APPROVAL_WARNING_DAYS = 30


@dataclass
class Todo:
    priority: int  # 0 most urgent
    text: str
    url: str
    action: str
    service: str = ""


def _gate_denials(service_ids, since: datetime):
    try:
        from gate.choices import Decision
        from gate.models import GateDecision
    except ImportError:  # the gate app is not installed
        return []
    return list(
        GateDecision.objects.filter(
            service_id__in=service_ids, decision=Decision.DENY, evaluated_at__gte=since
        )
        .order_by("-evaluated_at")
        .values("service_id", "environment", "commit_sha", "reasons", "evaluated_at")[:200]
    )


def open_item_counts(review_ids) -> dict[int, dict]:
    """Per review: mandatory items not answered or failing, and answered items (one query)."""
    rows = (
        ReviewItem.objects.filter(review_id__in=list(review_ids))
        .values("review_id")
        .annotate(
            total=Count("id"),
            mandatory_open=Count(
                "id",
                filter=Q(mandatory=True, outcome__in=[ItemOutcome.PENDING, ItemOutcome.FAIL]),
            ),
            answered=Count("id", filter=~Q(outcome=ItemOutcome.PENDING)),
        )
    )
    return {row["review_id"]: row for row in rows}


def stale_evidence(review_ids, now: datetime) -> dict[int, int]:
    """Per review, attached evidence that no longer counts (older than its control's
    freshness, or past its own expiry): one query."""
    rows = ItemEvidence.objects.filter(
        item__review_id__in=list(review_ids), removed_at__isnull=True
    ).values(
        "item__review_id",
        "evidence__collected_at",
        "evidence__expires_at",
        "item__control__freshness_days",
    )
    out: Counter = Counter()
    for row in rows:
        limits = []
        if row["evidence__expires_at"]:
            limits.append(row["evidence__expires_at"])
        if row["item__control__freshness_days"]:
            limits.append(
                row["evidence__collected_at"] + timedelta(days=row["item__control__freshness_days"])
            )
        if limits and min(limits) <= now:
            out[row["item__review_id"]] += 1
    return dict(out)


def owner_home(user, *, now: datetime | None = None) -> dict:
    """The owner's services with readiness per environment and what to do next."""
    now = now or timezone.now()
    services_qs = service_list_for(user).filter(team_id__in=user.team_ids)
    services = list(services_qs.order_by("name"))
    if not services:
        return {"services": [], "todos": [], "rows": []}
    ids = [s.pk for s in services]
    rows = readiness.review_rows(services_qs)
    by_service = readiness.env_statuses(services, rows, now)
    current_ids = {
        e.open_review_id or e.review_id
        for r in by_service.values()
        for e in r.environments
        if e.open_review_id or e.review_id
    }
    counts = open_item_counts(current_ids)
    stale = stale_evidence(current_ids, now)
    waivers = list(
        Waiver.objects.filter(
            service_id__in=ids,
            status=WaiverStatus.APPROVED,
            expires_at__gt=now,
            expires_at__lte=now + timedelta(days=WAIVER_WARNING_DAYS),
        )
        .order_by("expires_at")
        .values("id", "service_id", "control_code", "expires_at")
    )
    denials = _gate_denials(ids, now - timedelta(days=7))
    by_id = {s.pk: s for s in services}
    todos: list[Todo] = []
    table = []
    denials_by_service = Counter(d["service_id"] for d in denials)
    waivers_by_service = Counter(w["service_id"] for w in waivers)
    for service in services:
        info = by_service[service.pk]
        env_rows = []
        for env in info.environments:
            review_id = env.open_review_id or env.review_id
            c = counts.get(review_id, {}) if review_id else {}
            env_rows.append(
                {
                    "env": env,
                    "mandatory_open": c.get("mandatory_open", 0) if env.open_review_id else 0,
                    "stale": stale.get(review_id, 0) if review_id else 0,
                }
            )
            todos.extend(_env_todos(service, env, c, stale.get(review_id, 0), now))
        table.append(
            {
                "service": service,
                "readiness": info,
                "envs": env_rows,
                "mandatory_open": sum(r["mandatory_open"] for r in env_rows),
                "stale": sum(r["stale"] for r in env_rows),
                "waivers_expiring": waivers_by_service[service.pk],
                "denials": denials_by_service[service.pk],
            }
        )
    for w in waivers:
        service = by_id[w["service_id"]]
        days = max((w["expires_at"] - now).days, 0)
        todos.append(
            Todo(
                priority=1 if days <= 7 else 2,
                text=f"Waiver #{w['id']} for {w['control_code']} on {service.name} expires in "
                f"{days} day(s): fix the control or request a new waiver.",
                url=reverse("reviews:waiver_detail", args=[w["id"]]),
                action="Open the waiver",
                service=service.name,
            )
        )
    seen = set()
    for d in denials:
        key = (d["service_id"], d["environment"])
        if key in seen:
            continue
        seen.add(key)
        service = by_id[d["service_id"]]
        reasons = "; ".join(r.get("message") or r.get("code", "") for r in (d["reasons"] or [])[:2])
        todos.append(
            Todo(
                priority=1,
                text=f"The gate denied {service.name} to {d['environment']} "
                f"({denials_by_service[service.pk]} this week; latest: {reasons}).",
                url=service.get_absolute_url() + "#gate-decisions",
                action="See the decisions",
                service=service.name,
            )
        )
    todos.sort(key=lambda t: (t.priority, t.service, t.text))
    return {"services": services, "rows": table, "todos": todos, "denials": denials}


def _env_todos(service, env, counts: dict, stale: int, now: datetime) -> list[Todo]:
    todos = []
    name = f"{service.name} · {env.environment}"
    if env.open_review_id:
        url = reverse("reviews:detail", args=[env.open_review_id])
        if env.open_status == ReviewStatus.CHANGES_REQUESTED:
            todos.append(
                Todo(0, f"{name}: reviewers asked for changes.", url, "Address them", name)
            )
        elif env.open_status == ReviewStatus.DRAFT:
            open_n = counts.get("mandatory_open", 0)
            text = (
                f"{name}: {open_n} mandatory item(s) still to answer before submitting."
                if open_n
                else f"{name}: the draft review looks complete; check it and submit."
            )
            todos.append(Todo(1, text, url, "Continue the review", name))
    elif env.status == readiness.NONE:
        todos.append(
            Todo(
                3,
                f"{name}: no review yet.",
                reverse("reviews:open", args=[service.slug]),
                "Open a review",
                name,
            )
        )
    elif env.status in (ReviewStatus.EXPIRED, ReviewStatus.REVOKED):
        todos.append(
            Todo(
                0,
                f"{name}: the approval is {env.label.lower()}; deployments are blocked.",
                reverse("reviews:open", args=[service.slug]),
                "Open a new review",
                name,
            )
        )
    if (
        env.is_approved
        and env.expires_at
        and env.expires_at - now <= timedelta(days=APPROVAL_WARNING_DAYS)
    ):
        days = max((env.expires_at - now).days, 0)
        todos.append(
            Todo(
                1,
                f"{name}: the approval expires in {days} day(s).",
                reverse("reviews:detail", args=[env.review_id]),
                "Plan the renewal",
                name,
            )
        )
    if stale:
        todos.append(
            Todo(
                2,
                f"{name}: {stale} piece(s) of evidence are stale.",
                reverse("reviews:detail", args=[env.open_review_id or env.review_id]),
                "Refresh the evidence",
                name,
            )
        )
    return todos


AGE_BUCKETS = [(1, "under a day"), (3, "1–3 days"), (7, "3–7 days"), (None, "over a week")]


def reviewer_home(user, *, now: datetime | None = None, limit: int = 10) -> dict:
    """The reviewer's queue, oldest first, with how long each has waited."""
    now = now or timezone.now()
    queue = review_selectors.reviewer_queue(user)
    items = list(queue[:limit])
    total = queue.count()
    ages = list(queue.values_list("submitted_at", flat=True))
    buckets = Counter()
    for submitted in ages:
        days = (now - submitted).total_seconds() / 86400 if submitted else 0
        for limit_days, label in AGE_BUCKETS:
            if limit_days is None or days < limit_days:
                buckets[label] += 1
                break
    for review in items:
        review.waiting_days = (now - review.submitted_at).days if review.submitted_at else 0
    waivers = list(review_selectors.waiver_queue(user)[:limit])
    return {
        "queue": items,
        "total": total,
        "ageing": [(label, buckets[label]) for _, label in AGE_BUCKETS],
        "oldest_days": max(((now - a).days for a in ages if a), default=0),
        "waivers": waivers,
    }


def auditor_home(user, *, now: datetime | None = None) -> dict:
    """Portfolio compliance by framework, plus recent approval changes."""
    now = now or timezone.now()
    services_qs = service_list_for(user)
    rows = readiness.review_rows(services_qs)
    governing = readiness.governing_review_ids(rows, now)
    catalog = portfolio.current_catalog_or_none()
    fws = portfolio.frameworks(catalog)
    tallies = portfolio.control_tallies(governing.values())
    statuses = Counter(readiness.effective_status(r, now) for r in rows)
    expiring = [
        r
        for r in rows
        if readiness.effective_status(r, now) == ReviewStatus.APPROVED
        and r["expires_at"] - now <= timedelta(days=APPROVAL_WARNING_DAYS)
    ]
    return {
        "framework_totals": portfolio.compliance_by_framework(tallies, fws),
        "services_with_reviews": len(governing),
        "status_counts": [(label, statuses.get(value, 0)) for value, label in ReviewStatus.choices],
        "expiring_count": len(expiring),
        "open_count": sum(statuses.get(s, 0) for s in OPEN_STATUSES),
    }
