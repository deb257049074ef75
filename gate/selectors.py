"""Reads of the gate app: the gate's input snapshot (a fixed number of queries whatever the
size of the catalog, the evidence or the review history) and per-user lists."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import (
    Aggregate,
    Case,
    F,
    IntegerField,
    JSONField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import JSONObject
from django.utils.dateparse import parse_datetime

from collection.selectors import latest_check_status
from controls.models import Control
from evidence.choices import EvidenceKind
from evidence.models import Evidence
from gate import conf
from gate.models import ApiToken, BreakGlass, GateDecision
from reviews.choices import ReviewStatus, WaiverStatus
from reviews.models import Review, ReviewItem, Waiver
from services.models import Service


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def commit_prefixes(commit_sha: str) -> list[str]:
    """Every abbreviation (7+ characters) of a commit, to match rows that stored one."""
    commit_sha = (commit_sha or "").lower()
    return [commit_sha[:n] for n in range(7, len(commit_sha) + 1)]


def _governing_order():
    approved_first = Case(
        When(status=ReviewStatus.APPROVED, then=Value(0)),
        default=Value(1),
        output_field=IntegerField(),
    )
    return (approved_first, "-created_at", "-id")


def governing_review(service, environment: str) -> Review | None:
    """The review that governs deploying to ``environment``: the approved one if any (at most
    one exists), else the newest, so a deny can say why. Always exactly one query (unlike a
    "newest N, then look further" read, whose cost depends on the history's length)."""
    return (
        Review.objects.filter(service=service, environment=environment)
        .select_related("catalog_version")
        .order_by(*_governing_order())
        .first()
    )


class JSONArrayAgg(Aggregate):
    """The aggregated values as one JSON array (``jsonb_agg``; SQLite ``json_group_array``).
    Unordered: callers sort what they read."""

    function = "JSON_GROUP_ARRAY"
    output_field = JSONField()

    def as_postgresql(self, compiler, connection, **extra_context):
        return super().as_sql(compiler, connection, function="JSONB_AGG", **extra_context)


def _when(value) -> str | None:
    """A timestamp read from a JSON document (PostgreSQL writes ISO 8601 with an offset,
    SQLite the stored naive UTC text) as ``datetime.isoformat()`` of the aware value: the
    snapshot's format whatever the database."""
    if value is None:
        return None
    parsed = parse_datetime(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).isoformat()


# The Control columns a snapshot reads (and the review path orders by).
SNAPSHOT_CONTROL_FIELDS = ("code", "title", "check_id", "freshness_days", "position")


def _snapshot_head_query(
    service_pk: int, environment: str, prefixes: list[str], at: datetime, ci_codes: set[str]
) -> QuerySet:
    """The governing review, its mandatory controls the gate looks at, the active waivers and
    the break-glass allow for the commit, in one query (correlated subqueries returning JSON),
    instead of one round trip each: on a busy server every round trip waits to be scheduled
    twice (the web worker, then PostgreSQL)."""
    reviews = Review.objects.filter(service=OuterRef("pk"), environment=environment).order_by(
        *_governing_order()
    )
    review = reviews.values(
        json=JSONObject(
            id=F("pk"),
            status=F("status"),
            catalog_version=F("catalog_version__version"),
            approved_at=F("approved_at"),
            expires_at=F("expires_at"),
            revoked_at=F("revoked_at"),
            revoked_reason=F("revoked_reason"),
            approval_hash=F("approval_hash"),
        )
    )[:1]
    # The same review, one level deeper (its items are a subquery of the service's row).
    governing_id = Subquery(
        Review.objects.filter(service=OuterRef(OuterRef("pk")), environment=environment)
        .order_by(*_governing_order())
        .values("pk")[:1]
    )
    items = (
        ReviewItem.objects.filter(review_id=governing_id, mandatory=True)
        .filter(Q(control__check_id__gt="") | Q(control__code__in=ci_codes))
        .order_by()
        .values("review_id")
        .annotate(
            rows=JSONArrayAgg(
                JSONObject(**{name: F(f"control__{name}") for name in SNAPSHOT_CONTROL_FIELDS})
            )
        )
        .values("rows")
    )
    waivers = (
        Waiver.objects.filter(
            service=OuterRef("pk"), status=WaiverStatus.APPROVED, expires_at__gt=at
        )
        .order_by()
        .values("service_id")
        .annotate(
            rows=JSONArrayAgg(
                JSONObject(
                    id=F("pk"),
                    code=F("control_code"),
                    expires_at=F("expires_at"),
                    commit_sha=F("commit_sha"),
                    release=F("release"),
                )
            )
        )
        .values("rows")
    )
    glass = (
        BreakGlass.objects.filter(
            service=OuterRef("pk"),
            environment=environment,
            revoked_at__isnull=True,
            expires_at__gt=at,
            commit_sha__in=prefixes,
        )
        .order_by("-expires_at", "-id")
        .values(
            json=JSONObject(
                id=F("pk"),
                commit_sha=F("commit_sha"),
                issued_by=F(f"issued_by__{get_user_model().USERNAME_FIELD}"),
                reason=F("reason"),
                expires_at=F("expires_at"),
                followup_review=F("followup_review_id"),
            )
        )[:1]
    )
    json = JSONField()
    return (
        Service.objects.filter(pk=service_pk)
        .annotate(
            gate_review=Subquery(review, output_field=json),
            gate_items=Subquery(items, output_field=json),
            gate_waivers=Subquery(waivers, output_field=json),
            gate_glass=Subquery(glass, output_field=json),
        )
        .values(*HEAD_COLUMNS)
    )


HEAD_COLUMNS = ("gate_review", "gate_items", "gate_waivers", "gate_glass")
# Placeholders the head query is compiled with once per process (see ``_head_template``).
_PK, _ENV, _AT = -7_301_999, "\x1fgate-environment\x1f", datetime(1901, 2, 3, 4, 5, 6, 7, UTC)
_COMMIT = "z" * 40  # never a commit: commits are hex
_head_templates: dict[tuple, tuple[str, list, tuple[str, ...]] | None] = {}


def _at_param(at: datetime):
    """``at`` as the database driver receives it in a timestamp comparison."""
    return Waiver._meta.get_field("expires_at").get_db_prep_value(at, connection)


def _head_template(ci_codes: set[str], prefix_count: int):
    """The head query's SQL, compiled once per process and shape: building and compiling it
    with the ORM took 3.7 ms of a 5 ms read. Returns (sql, parameter slots, column names), a
    slot being ("pk",), ("env",), ("at",), ("prefix", length) or ("const", value); None when
    the placeholders cannot be told apart (then every call compiles the query)."""
    key = (connection.vendor, getattr(connection, "pg_version", None), frozenset(ci_codes))
    key += (prefix_count,)
    if key in _head_templates:
        return _head_templates[key]
    prefixes = commit_prefixes(_COMMIT)[:prefix_count]
    query = _snapshot_head_query(_PK, _ENV, prefixes, _AT, ci_codes).query
    compiler = query.get_compiler(connection=connection)
    sql, params = compiler.as_sql()
    at = _at_param(_AT)
    slots: list[tuple] = []
    for param in params:
        if param == _PK and not isinstance(param, bool):
            slots.append(("pk",))
        elif param == _ENV:
            slots.append(("env",))
        elif param == at:
            slots.append(("at",))
        elif isinstance(param, str) and param and set(param) == {"z"}:
            slots.append(("prefix", len(param)))
        else:
            slots.append(("const", param))
    kinds = [slot[0] for slot in slots]
    found = (kinds.count("pk"), kinds.count("env"), kinds.count("at"), kinds.count("prefix"))
    columns = tuple(alias for _, _, alias in compiler.select)
    template = (sql, slots, columns)
    if found != (1, 3, 2, prefix_count) or set(columns) != set(HEAD_COLUMNS):
        template = None
    _head_templates[key] = template
    return template


def _snapshot_head(
    service, environment: str, commit_sha: str, at: datetime, ci_codes: set[str]
) -> dict:
    """``_snapshot_head_query`` for one service, run from its compiled template."""
    prefixes = commit_prefixes(commit_sha)
    template = _head_template(ci_codes, len(prefixes))
    if template is None:
        return _snapshot_head_query(service.pk, environment, prefixes, at, ci_codes).get()
    sql, slots, columns = template
    values = {("pk",): service.pk, ("env",): environment, ("at",): _at_param(at)}
    values.update({("prefix", len(p)): p for p in prefixes})
    params = [slot[1] if slot[0] == "const" else values[slot] for slot in slots]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        raise Service.DoesNotExist(f"No service {service.pk}.")
    return {
        column: json.loads(value) if isinstance(value, str | bytes) else value
        for column, value in zip(columns, row, strict=True)
    }


def _review_snapshot(row: dict | None) -> dict | None:
    if row is None:
        return None
    return {
        "id": row["id"],
        "status": row["status"],
        "catalog_version": row["catalog_version"],
        "approved_at": _when(row["approved_at"]),
        "expires_at": _when(row["expires_at"]),
        "revoked_at": _when(row["revoked_at"]),
        "revoked_reason": row["revoked_reason"],
        "approval_hash": row["approval_hash"],
    }


def _catalog_controls(service, ci_codes: set[str]) -> list[dict]:
    """Without a review: the current catalog's mandatory controls for the service's tier and
    profile that the gate looks at (one query)."""
    wanted = Q(check_id__gt="") | Q(code__in=ci_codes)
    profile = service.profile()
    controls = Control.objects.filter(wanted, catalog_version__is_current=True).order_by(
        "position", "code"
    )
    return [
        {name: getattr(c, name) for name in SNAPSHOT_CONTROL_FIELDS}
        for c in controls
        if c.is_mandatory_for(service.tier) and c.applies_to(profile)
    ]


def _active_waivers(rows: list[dict] | None) -> dict[str, dict]:
    """Per control code, the waiver that lasts longest (as ``reviews.selectors.active_waivers``
    picks it)."""
    found: dict[str, dict] = {}
    for row in sorted(rows or [], key=lambda r: (r["code"], _when(r["expires_at"]), r["id"])):
        found[row["code"]] = {
            "id": row["id"],
            "expires_at": _when(row["expires_at"]),
            "commit_sha": row["commit_sha"],
            "release": row["release"],
        }
    return found


def _ci_results(service, commit_sha: str) -> dict[str, dict]:
    """The newest CI upload per format for the commit (one query)."""
    rows = (
        Evidence.objects.filter(
            service=service, kind=EvidenceKind.CI, commit_sha__in=commit_prefixes(commit_sha)
        )
        .order_by("-collected_at", "-id")
        .values("pk", "metadata", "collected_at", "sha256")
    )
    found: dict[str, dict] = {}
    for row in rows:
        fmt = (row["metadata"] or {}).get("format")
        if fmt and fmt not in found:
            found[fmt] = {
                "evidence": row["pk"],
                "sha256": row["sha256"],
                "status": row["metadata"].get("outcome", "fail"),
                "summary": row["metadata"].get("summary", ""),
                "evaluated_at": _iso(row["collected_at"]),
            }
    return found


def _control_snapshot(control: dict, latest, ci: dict, ci_by_code: dict, commit: str) -> dict:
    entry = {
        "code": control["code"],
        "title": control["title"],
        "check_id": control["check_id"],
        "freshness_days": control["freshness_days"],
    }
    if control["check_id"]:
        result = latest.get(control["check_id"])
        entry["source"] = "check"
        entry["result"] = (
            None
            if result is None
            else {
                "status": result.status,
                "evaluated_at": _iso(result.evaluated_at),
                "run_id": result.run_id,
                "failing_resources": list(result.failing_resources)[:20],
            }
        )
    else:
        fmt = ci_by_code[control["code"]]
        entry.update(source="ci", ci_format=fmt, commit=commit, result=ci.get(fmt))
    return entry


def _break_glass(row: dict | None) -> dict | None:
    if row is None:
        return None
    return {
        "id": row["id"],
        "commit_sha": row["commit_sha"],
        "issued_by": row["issued_by"],
        "reason": row["reason"],
        "expires_at": _when(row["expires_at"]),
        "followup_review": row["followup_review"],
    }


def gate_inputs(
    *, service, environment: str, commit_sha: str, artifact_sha256: str = "", at: datetime
) -> dict:
    """Everything the gate's rule looks at, as plain JSON (see ``gate.evaluation``).

    Queries: the review, its mandatory automated controls, the active waivers and the
    break-glass allow together (1; plus 1 for the current catalog's controls when the service
    has no review at all), the latest check results (3) and, when CI evidence is required, the
    commit's CI uploads (1). Independent of the number of controls, results or reviews.
    """
    ci_by_code = {code: fmt for fmt, code in conf.ci_controls().items()}
    ci_codes = set(ci_by_code) if conf.require_ci_evidence() else set()
    head = _snapshot_head(service, environment, commit_sha, at, ci_codes)
    review = head["gate_review"]
    if review is not None:
        controls = sorted(head["gate_items"] or [], key=lambda c: (c["position"], c["code"]))
    else:
        controls = _catalog_controls(service, ci_codes)
    check_ids = sorted({c["check_id"] for c in controls if c["check_id"]})
    latest = latest_check_status(service, check_ids=check_ids)
    needs_ci = any(not c["check_id"] for c in controls)
    ci = _ci_results(service, commit_sha) if needs_ci else {}
    return {
        "service": service.slug,
        "environment": environment,
        "environments": list(service.environments or []),
        "tier": service.tier,
        "commit_sha": commit_sha,
        "artifact_sha256": artifact_sha256,
        "evaluated_at": at.isoformat(),
        "review": _review_snapshot(review),
        "controls": [_control_snapshot(c, latest, ci, ci_by_code, commit_sha) for c in controls],
        "waivers": _active_waivers(head["gate_waivers"]),
        "break_glass": _break_glass(head["gate_glass"]),
    }


# --- lists ------------------------------------------------------------------------------


def decisions_for_services(services) -> QuerySet[GateDecision]:
    return GateDecision.objects.filter(service__in=services).select_related(
        "service", "review", "api_token", "break_glass"
    )


def tokens_visible_to(user) -> QuerySet[ApiToken]:
    """Your own tokens; platform admins and auditors see every token (never a secret)."""
    qs = ApiToken.objects.select_related("user", "created_by").prefetch_related("services")
    if not user.is_authenticated or getattr(user, "pk", None) is None:
        return qs.none()
    if user.is_platform_admin or user.is_auditor:
        return qs
    return qs.filter(Q(user=user) | Q(created_by=user))


def break_glass_for_services(services) -> QuerySet[BreakGlass]:
    return BreakGlass.objects.filter(service__in=services).select_related(
        "service", "issued_by", "revoked_by", "followup_review"
    )
