"""What a review's items add up to: which mandatory items are not ready, per-section
progress, and the canonical document an approval is bound to. Pure reads, no writes."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Prefetch

from controls.choices import SECTION_ORDER, Section
from evidence.choices import EvidenceKind
from reviews.choices import ItemOutcome, Verdict
from reviews.models import ItemEvidence, Review, ReviewItem

PASSING_CHECK_STATUS = "pass"


def items_for(review: Review):
    """A review's items with control, waiver and current attachments, in 3 queries."""
    attachments = ItemEvidence.objects.filter(removed_at__isnull=True).select_related(
        "evidence", "attached_by"
    )
    return (
        ReviewItem.objects.filter(review=review)
        .select_related("control", "waiver", "verdict_by", "updated_by")
        .prefetch_related(Prefetch("attachments", queryset=attachments, to_attr="current"))
        .order_by("control__position", "control__code")
    )


def current_evidence(item: ReviewItem) -> list:
    attached = getattr(item, "current", None)
    if attached is None:
        attached = item.attachments.filter(removed_at__isnull=True).select_related("evidence")
    return [a.evidence for a in attached]


def evidence_counts(evidence, item: ReviewItem, at: datetime) -> bool:
    """Fresh under the item's control, and for an automated result, a passing one."""
    if not evidence.is_fresh(at, item.control.freshness_days):
        return False
    if evidence.kind == EvidenceKind.AUTOMATED:
        return evidence.metadata.get("status") == PASSING_CHECK_STATUS
    return True


def item_problem(item: ReviewItem, at: datetime) -> str | None:
    """Why the item does not (yet) count as satisfied at ``at``; None when it does."""
    outcome = item.outcome
    if outcome == ItemOutcome.PASS:
        evidence = current_evidence(item)
        if not evidence:
            return "marked pass without evidence"
        if not any(evidence_counts(e, item, at) for e in evidence):
            return (
                f"no fresh passing evidence (evidence must be under "
                f"{item.control.freshness_days} days old)"
            )
        return None
    if outcome == ItemOutcome.WAIVED:
        waiver = item.waiver
        if waiver is None:
            return "waived without a waiver"
        if waiver.control_code != item.control.code:
            return f"waiver #{waiver.pk} is for another control"
        if not waiver.is_active(at):
            return f"waiver #{waiver.pk} is {waiver.current_status_label.lower()}, not active"
        return None
    if outcome == ItemOutcome.NOT_APPLICABLE and not item.mandatory:
        return None
    return {
        ItemOutcome.PENDING: "not answered",
        ItemOutcome.FAIL: "marked fail (fix it or request a waiver)",
        ItemOutcome.NOT_APPLICABLE: "mandatory controls cannot be not applicable",
    }[outcome]


def missing_mandatory(items, at: datetime) -> list[dict]:
    """Every mandatory item that lacks fresh passing evidence or an active waiver."""
    missing = []
    for item in items:
        if not item.mandatory:
            continue
        problem = item_problem(item, at)
        if problem:
            missing.append(
                {"control": item.control.code, "title": item.control.title, "problem": problem}
            )
    return missing


def rejected_items(items) -> list[str]:
    return [item.control.code for item in items if item.verdict == Verdict.REJECTED]


@dataclass
class SectionProgress:
    code: str
    label: str
    items: list = field(default_factory=list)
    total: int = 0
    answered: int = 0
    satisfied: int = 0
    mandatory: int = 0
    mandatory_satisfied: int = 0

    @property
    def percent(self) -> int:
        return round(100 * self.satisfied / self.total) if self.total else 100


def progress(items, at: datetime) -> tuple[list[SectionProgress], SectionProgress]:
    """Items grouped by catalog section with counts, plus the overall totals. Each item gets
    ``problem`` and ``evidence_list`` attributes for templates."""
    sections: dict[str, SectionProgress] = {}
    overall = SectionProgress(code="all", label="All sections")
    for item in items:
        code = item.control.section
        if code not in sections:
            label = Section(code).label if code in Section.values else code
            sections[code] = SectionProgress(code=code, label=label)
        item.problem = item_problem(item, at)
        item.evidence_list = [(e, evidence_counts(e, item, at)) for e in current_evidence(item)]
        for bucket in (sections[code], overall):
            bucket.total += 1
            bucket.answered += item.outcome != ItemOutcome.PENDING
            bucket.satisfied += item.problem is None
            bucket.mandatory += item.mandatory
            bucket.mandatory_satisfied += item.mandatory and item.problem is None
        sections[code].items.append(item)
    ordered = sorted(sections.values(), key=lambda s: SECTION_ORDER.get(s.code, 99))
    return ordered, overall


def approval_document(review: Review, items) -> dict:
    """Exactly what an approval covers: items, outcomes, waivers, evidence hashes and the
    catalog version. Verdicts and comments are the reviewers' own and are not included."""
    return {
        "review": review.pk,
        "service": review.service.slug,
        "environment": review.environment,
        "catalog_version": review.catalog_version.version,
        "items": sorted(
            (
                {
                    "control": item.control.code,
                    "mandatory": item.mandatory,
                    "outcome": item.outcome,
                    "reason": item.reason,
                    "waiver": (
                        {"id": item.waiver.pk, "expires_at": item.waiver.expires_at.isoformat()}
                        if item.waiver
                        else None
                    ),
                    "evidence": sorted(e.sha256 for e in current_evidence(item)),
                }
                for item in items
            ),
            key=lambda entry: entry["control"],
        ),
    }


def approval_hash(review: Review, items) -> str:
    document = approval_document(review, items)
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode()).hexdigest()
