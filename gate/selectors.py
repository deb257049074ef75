"""Reads of the gate app: the gate's input snapshot (a fixed number of queries whatever the
size of the catalog, the evidence or the review history) and per-user lists."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Case, IntegerField, Q, QuerySet, Value, When

from collection.selectors import latest_check_status
from controls.models import Control
from evidence.choices import EvidenceKind
from evidence.models import Evidence
from gate import conf
from gate.models import ApiToken, BreakGlass, GateDecision
from reviews.choices import ReviewStatus
from reviews.models import Review, ReviewItem
from reviews.selectors import active_waivers


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def commit_prefixes(commit_sha: str) -> list[str]:
    """Every abbreviation (7+ characters) of a commit, to match rows that stored one."""
    commit_sha = (commit_sha or "").lower()
    return [commit_sha[:n] for n in range(7, len(commit_sha) + 1)]


def governing_review(service, environment: str) -> Review | None:
    """The review that governs deploying to ``environment``: the approved one if any (at most
    one exists), else the newest, so a deny can say why. Always exactly one query (unlike a
    "newest N, then look further" read, whose cost depends on the history's length)."""
    approved_first = Case(
        When(status=ReviewStatus.APPROVED, then=Value(0)),
        default=Value(1),
        output_field=IntegerField(),
    )
    return (
        Review.objects.filter(service=service, environment=environment)
        .select_related("catalog_version")
        .order_by(approved_first, "-created_at", "-id")
        .first()
    )


def _review_snapshot(review) -> dict | None:
    if review is None:
        return None
    return {
        "id": review.pk,
        "status": review.status,
        "catalog_version": review.catalog_version.version,
        "approved_at": _iso(review.approved_at),
        "expires_at": _iso(review.expires_at),
        "revoked_at": _iso(review.revoked_at),
        "revoked_reason": review.revoked_reason,
        "approval_hash": review.approval_hash,
    }


# The Control columns ``_control_snapshot`` reads (and the review path orders by).
SNAPSHOT_CONTROL_FIELDS = ("code", "title", "check_id", "freshness_days", "position")


def _gate_controls(service, review, ci_codes: set[str]) -> list[Control]:
    """The mandatory controls the gate looks at: automated ones (and, when required, the ones
    CI proves). From the review's items when there is a review (it is pinned to its catalog
    version), else from the current catalog for the service's tier and profile. One query."""
    wanted = Q(check_id__gt="") | Q(code__in=ci_codes)
    if review is not None:
        # Only the columns the snapshot reads: decoding every control's texts and JSON
        # (requirement, rationale, guidance JSON...) was about a third of this read's time.
        items = (
            ReviewItem.objects.filter(review=review, mandatory=True)
            .filter(Q(control__check_id__gt="") | Q(control__code__in=ci_codes))
            .select_related("control")
            .only("control", *(f"control__{name}" for name in SNAPSHOT_CONTROL_FIELDS))
        )
        return [item.control for item in items.order_by("control__position", "control__code")]
    profile = service.profile()
    controls = Control.objects.filter(wanted, catalog_version__is_current=True).order_by(
        "position", "code"
    )
    return [c for c in controls if c.is_mandatory_for(service.tier) and c.applies_to(profile)]


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


def _control_snapshot(control: Control, latest, ci: dict, ci_by_code: dict, commit: str) -> dict:
    entry = {
        "code": control.code,
        "title": control.title,
        "check_id": control.check_id,
        "freshness_days": control.freshness_days,
    }
    if control.check_id:
        result = latest.get(control.check_id)
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
        fmt = ci_by_code[control.code]
        entry.update(source="ci", ci_format=fmt, commit=commit, result=ci.get(fmt))
    return entry


def _break_glass(service, environment: str, commit_sha: str, at: datetime) -> dict | None:
    glass = (
        BreakGlass.objects.filter(
            service=service,
            environment=environment,
            revoked_at__isnull=True,
            expires_at__gt=at,
            commit_sha__in=commit_prefixes(commit_sha),
        )
        .select_related("issued_by")
        .order_by("-expires_at", "-id")
        .first()
    )
    if glass is None:
        return None
    return {
        "id": glass.pk,
        "commit_sha": glass.commit_sha,
        "issued_by": glass.issued_by.get_username(),
        "reason": glass.reason,
        "expires_at": _iso(glass.expires_at),
        "followup_review": glass.followup_review_id,
    }


def gate_inputs(
    *, service, environment: str, commit_sha: str, artifact_sha256: str = "", at: datetime
) -> dict:
    """Everything the gate's rule looks at, as plain JSON (see ``gate.evaluation``).

    Queries: the review (1), its mandatory automated items (1), the latest check results (3),
    the active waivers (1), the break-glass allow (1) and, when CI evidence is required, the
    commit's CI uploads (1). Independent of the number of controls, results or reviews.
    """
    review = governing_review(service, environment)
    ci_by_code = {code: fmt for fmt, code in conf.ci_controls().items()}
    ci_codes = set(ci_by_code) if conf.require_ci_evidence() else set()
    controls = _gate_controls(service, review, ci_codes)
    check_ids = sorted({c.check_id for c in controls if c.check_id})
    latest = latest_check_status(service, check_ids=check_ids)
    needs_ci = any(not c.check_id for c in controls)
    ci = _ci_results(service, commit_sha) if needs_ci else {}
    waivers = active_waivers(service, at)
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
        "waivers": {
            code: {
                "id": w.pk,
                "expires_at": _iso(w.expires_at),
                "commit_sha": w.commit_sha,
                "release": w.release,
            }
            for code, w in waivers.items()
        },
        "break_glass": _break_glass(service, environment, commit_sha, at),
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
