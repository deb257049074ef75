"""Differences between two catalog versions, control by control."""

from __future__ import annotations

from dataclasses import dataclass, field

from controls.documents import framework_ids
from controls.models import CatalogVersion, Control
from controls.selectors import control_queryset

COMPARED_FIELDS = [
    "section",
    "title",
    "requirement",
    "rationale",
    "aws_services",
    "enforcement",
    "check_id",
    "check_reads",
    "check_pass_condition",
    "evidence_description",
    "validation_procedure",
    "severity",
    "mandatory_tiers",
    "applicability",
    "freshness_days",
    "guardrails",
]


@dataclass
class FieldChange:
    field: str
    old: object
    new: object


@dataclass
class ControlChange:
    code: str
    old: Control
    new: Control
    changes: list[FieldChange] = field(default_factory=list)


@dataclass
class CatalogDiff:
    old: CatalogVersion
    new: CatalogVersion
    added: list[Control]
    removed: list[Control]
    changed: list[ControlChange]

    @property
    def is_empty(self) -> bool:
        return not (self.added or self.removed or self.changed)


def _snapshot(control: Control) -> dict:
    values = {name: getattr(control, name) for name in COMPARED_FIELDS}
    values["runbooks"] = sorted(rb.slug for rb in control.runbooks.all())
    values["mappings"] = sorted(framework_ids(control))
    return values


def catalog_diff(old: CatalogVersion, new: CatalogVersion) -> CatalogDiff:
    """Controls added, removed and changed (field by field) from ``old`` to ``new``."""
    before = {c.code: c for c in control_queryset(old)}
    after = {c.code: c for c in control_queryset(new)}
    changed = []
    for code in sorted(before.keys() & after.keys()):
        a, b = _snapshot(before[code]), _snapshot(after[code])
        diffs = [FieldChange(name, a[name], b[name]) for name in a if a[name] != b[name]]
        if diffs:
            changed.append(ControlChange(code, before[code], after[code], diffs))
    return CatalogDiff(
        old=old,
        new=new,
        added=[after[code] for code in sorted(after.keys() - before.keys())],
        removed=[before[code] for code in sorted(before.keys() - after.keys())],
        changed=changed,
    )
