"""What an export contains, gathered once per scope as plain data that every format renders.

A ``Report`` holds the cover facts, a summary (outcome counts per section or per service, for
the chart), tables (the first one is the control matrix: what CSV contains), the evidence it
references and the filter selecting the scope's audit events. Renderers never query the
database, except the bundle, which streams evidence bytes and audit events.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from django.db.models import Prefetch, Q
from django.utils import timezone

from audit.models import AuditEvent
from controls.choices import Section
from controls.models import ControlMapping, Framework
from evidence.models import Evidence
from reviews.choices import ItemOutcome, ReviewStatus
from reviews.models import ItemEvidence, Review, ReviewItem, Waiver
from services.models import Service

OUTCOMES = [label for _, label in ItemOutcome.choices]
AUDIT_COLUMNS = ["Seq", "Time", "Actor", "Action", "Outcome", "Object", "Message", "Hash"]


@dataclass
class Table:
    key: str
    title: str
    columns: list[str]
    rows: list[list] = field(default_factory=list)

    def records(self) -> list[dict]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


@dataclass
class Report:
    scope: str
    slug: str  # used in file names
    title: str
    subtitle: str
    generated_at: dt.datetime
    generated_by: str
    facts: list[tuple[str, str]]
    decision: str
    summary_by: str  # "Section" or "Service"
    summary: list[tuple[str, dict[str, int]]]
    tables: list[Table]
    evidence_ids: list[int]
    audit_filter: Q
    service_slugs: list[str]

    @property
    def matrix(self) -> Table:
        return self.tables[0]

    def table(self, key: str) -> Table | None:
        return next((t for t in self.tables if t.key == key), None)


# --- shared pieces --------------------------------------------------------------------------


def _user(user) -> str:
    return user.get_username() if user is not None else ""


def _item_queryset():
    active = ItemEvidence.objects.filter(removed_at__isnull=True).select_related("evidence")
    return ReviewItem.objects.select_related("control", "waiver", "verdict_by").prefetch_related(
        Prefetch("attachments", queryset=active, to_attr="active_attachments")
    )


def _requirement_labels(control_ids) -> dict[int, list[str]]:
    labels: dict[int, list[str]] = defaultdict(list)
    mappings = (
        ControlMapping.objects.filter(control_id__in=set(control_ids))
        .select_related("requirement__framework")
        .order_by("requirement__framework__position", "requirement__position")
    )
    for m in mappings:
        labels[m.control_id].append(f"{m.requirement.framework.name} {m.requirement.ref}")
    return labels


def evidence_label(evidence: Evidence) -> str:
    name = evidence.title or evidence.original_filename or evidence.url or evidence.check_id
    return f"{name} [sha256:{evidence.sha256}]"


def _waiver_label(waiver: Waiver | None) -> str:
    if waiver is None:
        return ""
    return (
        f"#{waiver.pk} {waiver.current_status_label}, expires "
        f"{waiver.expires_at:%Y-%m-%d}; compensating: {waiver.compensating_controls}"
    )


def _item_row(item: ReviewItem, requirements: dict[int, list[str]], prefix: list) -> list:
    control = item.control
    evidence = [a.evidence for a in item.active_attachments]
    return [
        *prefix,
        control.code,
        control.get_section_display(),
        control.title,
        control.get_severity_display(),
        "yes" if item.mandatory else "no",
        item.get_outcome_display(),
        item.reason,
        item.get_verdict_display() if item.verdict else "",
        [evidence_label(e) for e in evidence],
        _waiver_label(item.waiver),
        requirements.get(control.pk, []),
    ]


MATRIX_COLUMNS = [
    "Control",
    "Section",
    "Title",
    "Severity",
    "Mandatory",
    "Outcome",
    "Reason",
    "Reviewer verdict",
    "Evidence",
    "Waiver",
    "Framework requirements",
]


def _summary_by_section(items) -> list[tuple[str, dict[str, int]]]:
    counts: dict[str, Counter] = defaultdict(Counter)
    for item in items:
        counts[item.control.section][item.get_outcome_display()] += 1
    order = {value: i for i, value in enumerate(Section.values)}
    return [
        (Section(section).label, {o: counts[section].get(o, 0) for o in OUTCOMES})
        for section in sorted(counts, key=lambda s: order.get(s, len(order)))
    ]


def _waiver_table(waivers) -> Table:
    table = Table(
        "waivers",
        "Waivers",
        [
            "Waiver",
            "Control",
            "Status",
            "Expires",
            "Justification",
            "Compensating controls",
            "Risk owner",
            "Requested by",
            "Decided by",
            "Decided at",
        ],
    )
    for w in waivers:
        table.rows.append(
            [
                w.pk,
                w.control_code,
                w.current_status_label,
                w.expires_at,
                w.justification,
                w.compensating_controls,
                w.risk_owner,
                _user(w.requested_by),
                _user(w.decided_by),
                w.decided_at,
            ]
        )
    return table


def _mapping_table(items) -> Table:
    table = Table(
        "mapping", "Framework mapping", ["Control", "Framework", "Requirement", "Requirement title"]
    )
    control_ids = {item.control_id for item in items}
    mappings = (
        ControlMapping.objects.filter(control_id__in=control_ids)
        .select_related("control", "requirement__framework")
        .order_by("control__position", "requirement__framework__position", "requirement__position")
    )
    for m in mappings:
        r = m.requirement
        table.rows.append([m.control.code, r.framework.name, r.ref, r.title])
    return table


def _evidence_ids(items) -> list[int]:
    seen: dict[int, None] = {}
    for item in items:
        for attachment in item.active_attachments:
            seen[attachment.evidence_id] = None
    return list(seen)


def audit_table(audit_filter: Q, limit: int = 5000) -> Table:
    """The scope's audit events, oldest first (the bundle carries all of them with hashes)."""
    table = Table("audit", "Audit trail", AUDIT_COLUMNS)
    events = AuditEvent.objects.filter(audit_filter).order_by("seq")[:limit]
    for e in events:
        table.rows.append(
            [
                e.seq,
                e.occurred_at,
                e.actor_label,
                e.action,
                e.get_outcome_display(),
                e.object_repr,
                e.message,
                e.hash,
            ]
        )
    return table


def decision_text(review: Review) -> str:
    status = review.current_status
    if status == ReviewStatus.APPROVED:
        return (
            f"Approved on {review.approved_at:%Y-%m-%d}, valid until {review.expires_at:%Y-%m-%d}"
        )
    if status == ReviewStatus.EXPIRED:
        return f"Approval expired on {review.expires_at:%Y-%m-%d}"
    if status == ReviewStatus.REVOKED:
        return f"Revoked: {review.revoked_reason}"
    if status == ReviewStatus.CHANGES_REQUESTED:
        return "Changes requested by a reviewer"
    if status == ReviewStatus.SUBMITTED:
        return "Submitted, awaiting sign-off"
    return "Draft: not yet submitted"


def _service_facts(service: Service) -> list[tuple[str, str]]:
    return [
        ("Service", f"{service.name} ({service.slug})"),
        ("Team", service.team.name),
        ("Tier", service.get_tier_display()),
        ("Data classification", service.get_data_classification_display()),
    ]


def _period_text(start: dt.date, end: dt.date) -> str:
    return f"{start:%Y-%m-%d} to {end:%Y-%m-%d}"


def period_bounds(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The period as aware datetimes: from the start of ``start`` to the end of ``end``."""
    tz = dt.UTC
    return (
        dt.datetime.combine(start, dt.time.min, tzinfo=tz),
        dt.datetime.combine(end, dt.time.max, tzinfo=tz),
    )


# --- per review ---------------------------------------------------------------------------


def review_report(review: Review, *, generated_by: str = "") -> Report:
    """The readiness report of one review."""
    service = review.service
    items = list(_item_queryset().filter(review=review).order_by("control__position", "id"))
    requirements = _requirement_labels(item.control_id for item in items)
    matrix = Table("matrix", "Control matrix", MATRIX_COLUMNS)
    matrix.rows = [_item_row(item, requirements, []) for item in items]

    signoffs = Table(
        "signoffs", "Sign-offs", ["Role", "Reviewer", "Decided at", "Comment", "Status"]
    )
    for s in review.signoffs.select_related("user").order_by("decided_at", "id"):
        state = f"archived: {s.archived_reason}" if s.archived_at else "active"
        signoffs.rows.append([s.role, _user(s.user), s.decided_at, s.comment, state])

    waiver_ids = {item.waiver_id for item in items if item.waiver_id}
    waivers = Waiver.objects.filter(pk__in=waiver_ids).select_related("requested_by", "decided_by")
    audit_filter = Q(object_type="reviews.review", object_id=str(review.pk)) | Q(
        object_type="reviews.waiver", object_id__in=[str(pk) for pk in waiver_ids]
    )
    decision = decision_text(review)
    facts = [
        *_service_facts(service),
        ("Environment", review.environment),
        ("Catalog version", review.catalog_version.version),
        ("Review", f"#{review.pk}, {review.current_status_label}"),
        ("Decision", decision),
        ("Opened by", f"{_user(review.opened_by)} on {review.created_at:%Y-%m-%d}"),
        (
            "Submitted",
            f"{_user(review.submitted_by)} on {review.submitted_at:%Y-%m-%d}"
            if review.submitted_at
            else "not submitted",
        ),
        ("Approval hash", review.approval_hash or "none"),
        (
            "Sign-offs",
            ", ".join(f"{row[0]}: {row[1]}" for row in signoffs.rows if row[4] == "active")
            or "none",
        ),
    ]
    return Report(
        scope="review",
        slug=f"review-{review.pk}-{service.slug}-{review.environment}",
        title=f"Production readiness report: {service.name}",
        subtitle=f"Review #{review.pk} · {review.environment} · catalog "
        f"{review.catalog_version.version}",
        generated_at=timezone.now(),
        generated_by=generated_by,
        facts=facts,
        decision=decision,
        summary_by="Section",
        summary=_summary_by_section(items),
        tables=[
            matrix,
            signoffs,
            _waiver_table(waivers),
            _mapping_table(items),
            audit_table(audit_filter),
        ],
        evidence_ids=_evidence_ids(items),
        audit_filter=audit_filter,
        service_slugs=[service.slug],
    )


# --- per service --------------------------------------------------------------------------


def reviews_in_period(service: Service, start: dt.datetime, end: dt.datetime):
    """Reviews opened during the period, or whose approval was in force during it."""
    return (
        Review.objects.filter(service=service)
        .filter(Q(created_at__range=(start, end)) | Q(approved_at__lte=end, expires_at__gte=start))
        .select_related("catalog_version", "opened_by", "submitted_by")
        .order_by("created_at", "id")
    )


def gate_decision_table(service: Service, start: dt.datetime, end: dt.datetime) -> Table:
    """The service's gate decisions in the period, oldest first, with their reasons."""
    from gate.models import GateDecision

    table = Table(
        "gate",
        "Gate decisions",
        ["Evaluated at", "Environment", "Decision", "Commit", "Caller", "Review", "Reasons"],
    )
    decisions = GateDecision.objects.filter(
        service=service, evaluated_at__range=(start, end)
    ).order_by("evaluated_at", "id")
    for d in decisions.iterator(chunk_size=1000):
        reasons = [
            r.get("message", str(r)) if isinstance(r, dict) else str(r) for r in d.reasons or []
        ]
        table.rows.append(
            [
                d.evaluated_at,
                d.environment,
                d.get_decision_display(),
                d.commit_sha,
                f"{d.caller_label} ({d.caller_type})",
                d.review_id,
                reasons,
            ]
        )
    return table


def service_report(
    service: Service, *, start: dt.date, end: dt.date, generated_by: str = ""
) -> Report:
    """A service's review history, control outcomes, gate decisions and waivers in a period."""
    lo, hi = period_bounds(start, end)
    reviews = list(reviews_in_period(service, lo, hi))
    history = Table(
        "reviews",
        "Review history",
        [
            "Review",
            "Environment",
            "Catalog",
            "Status",
            "Opened",
            "Submitted",
            "Approved",
            "Expires",
            "Sign-offs",
            "Approval hash",
        ],
    )
    for r in reviews:
        signers = [
            f"{s.role}: {_user(s.user)}"
            for s in r.signoffs.filter(archived_at__isnull=True).select_related("user")
        ]
        history.rows.append(
            [
                r.pk,
                r.environment,
                r.catalog_version.version,
                r.current_status_label,
                r.created_at,
                r.submitted_at,
                r.approved_at,
                r.expires_at,
                signers,
                r.approval_hash,
            ]
        )
    items = list(
        _item_queryset()
        .filter(review__in=reviews)
        .select_related("review")
        .order_by("review__created_at", "review_id", "control__position")
    )
    requirements = _requirement_labels(item.control_id for item in items)
    matrix = Table("matrix", "Control matrix", ["Review", "Environment", *MATRIX_COLUMNS])
    matrix.rows = [
        _item_row(item, requirements, [item.review_id, item.review.environment]) for item in items
    ]
    waivers = (
        Waiver.objects.filter(service=service, created_at__lte=hi, expires_at__gte=lo)
        .select_related("requested_by", "decided_by")
        .order_by("created_at")
    )
    audit_filter = Q(service_slug=service.slug, occurred_at__range=(lo, hi))
    valid = [f"{r.environment} (#{r.pk})" for r in reviews if r.is_valid_at()]
    decision = "Approved now for " + ", ".join(valid) if valid else "No approval in force now"
    facts = [
        *_service_facts(service),
        ("Environments", ", ".join(service.environments or [])),
        ("Period", _period_text(start, end)),
        ("Reviews in period", str(len(reviews))),
        ("Decision", decision),
    ]
    return Report(
        scope="service",
        slug=f"service-{service.slug}-{start:%Y%m%d}-{end:%Y%m%d}",
        title=f"Service audit report: {service.name}",
        subtitle=f"{service.slug} · {_period_text(start, end)}",
        generated_at=timezone.now(),
        generated_by=generated_by,
        facts=facts,
        decision=decision,
        summary_by="Section",
        summary=_summary_by_section(items),
        tables=[
            matrix,
            history,
            gate_decision_table(service, lo, hi),
            _waiver_table(waivers),
            audit_table(audit_filter),
        ],
        evidence_ids=_evidence_ids(items),
        audit_filter=audit_filter,
        service_slugs=[service.slug],
    )


# --- per framework ------------------------------------------------------------------------


def governing_reviews(services, *, end: dt.datetime, environment: str = "") -> list[Review]:
    """Per service and environment, the newest review opened on or before ``end``."""
    qs = Review.objects.filter(service__in=services, created_at__lte=end)
    if environment:
        qs = qs.filter(environment=environment)
    latest: dict[tuple[int, str], Review] = {}
    for review in qs.select_related("service").order_by("created_at", "id"):
        latest[(review.service_id, review.environment)] = review
    return sorted(latest.values(), key=lambda r: (r.service.name, r.environment))


def framework_report(
    framework: Framework,
    *,
    services,
    start: dt.date,
    end: dt.date,
    environment: str = "",
    generated_by: str = "",
) -> Report:
    """Each requirement of the framework, its mapped controls and each service's outcome and
    evidence for them (from the review governing the period, per environment). Controls are
    matched by code, so reviews pinned to another catalog version still count."""
    lo, hi = period_bounds(start, end)
    services = list(services)
    reviews = governing_reviews(services, end=hi, environment=environment)
    requirements = list(
        framework.requirements.prefetch_related(
            Prefetch("mappings", queryset=ControlMapping.objects.select_related("control"))
        ).order_by("position", "ref")
    )
    codes = {m.control.code for r in requirements for m in r.mappings.all()}
    items = list(
        _item_queryset()
        .filter(review__in=reviews, control__code__in=codes)
        .select_related("review__service")
    )
    by_key = {(item.review_id, item.control.code): item for item in items}
    matrix = Table(
        "matrix",
        "Requirement matrix",
        [
            "Requirement",
            "Requirement title",
            "Control",
            "Control title",
            "Service",
            "Environment",
            "Review",
            "Outcome",
            "Evidence",
            "Waiver",
        ],
    )
    counts: dict[str, Counter] = defaultdict(Counter)
    for req in requirements:
        for mapping in req.mappings.all():
            control = mapping.control
            for review in reviews:
                item = by_key.get((review.pk, control.code))
                outcome = item.get_outcome_display() if item else "Not in review"
                counts[review.service.name][outcome] += 1
                matrix.rows.append(
                    [
                        req.ref,
                        req.title,
                        control.code,
                        control.title,
                        review.service.slug,
                        review.environment,
                        review.pk,
                        outcome,
                        [evidence_label(a.evidence) for a in item.active_attachments]
                        if item
                        else [],
                        _waiver_label(item.waiver) if item else "",
                    ]
                )
    coverage = Table(
        "reviews",
        "Reviews covered",
        ["Service", "Environment", "Review", "Status", "Catalog", "Approved", "Expires"],
    )
    for r in reviews:
        coverage.rows.append(
            [
                r.service.slug,
                r.environment,
                r.pk,
                r.current_status_label,
                r.catalog_version.version,
                r.approved_at,
                r.expires_at,
            ]
        )
    outcomes = [*OUTCOMES, "Not in review"]
    audit_filter = Q(object_type="reviews.review", object_id__in=[str(r.pk) for r in reviews])
    names = ", ".join(s.slug for s in services) or "none"
    facts = [
        ("Framework", f"{framework.name} {framework.version}".strip()),
        ("Catalog version", framework.catalog_version.version),
        ("Services", names),
        ("Environment", environment or "all"),
        ("Period", _period_text(start, end)),
        ("Requirements", str(len(requirements))),
        ("Reviews covered", str(len(reviews))),
    ]
    approved = sum(1 for r in reviews if r.is_valid_at())
    decision = f"{approved} of {len(reviews)} covered reviews approved and in force"
    return Report(
        scope="framework",
        slug=f"framework-{framework.code}-{start:%Y%m%d}-{end:%Y%m%d}",
        title=f"Framework report: {framework.name}",
        subtitle=f"{names} · {_period_text(start, end)}",
        generated_at=timezone.now(),
        generated_by=generated_by,
        facts=[*facts, ("Decision", decision)],
        decision=decision,
        summary_by="Service",
        summary=[(name, {o: counts[name].get(o, 0) for o in outcomes}) for name in sorted(counts)],
        tables=[matrix, coverage, audit_table(audit_filter)],
        evidence_ids=_evidence_ids(items),
        audit_filter=audit_filter,
        service_slugs=[s.slug for s in services],
    )
