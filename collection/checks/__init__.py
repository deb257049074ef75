"""Automated checks: pure functions over collected facts, one per id in ``ids.CHECK_IDS``.

``REGISTRY[check_id](facts, context) -> CheckOutcome(status, message, resource)``. No check
calls AWS: every one is unit-tested on plain dicts (tests/collection/test_checks.py).
Checks whose catalog control does not apply to the service (``context.not_required``, from
``collection.checks.applicability.not_required_for``) are ``not_applicable`` with the reason.
"""

from collection.checks import (  # noqa: F401 - importing registers the checks
    compliance,
    data,
    exposure,
    iam,
    network,
    observability,
    release,
    reliability,
    runtime,
)
from collection.checks.base import REGISTRY, CheckContext, CheckOutcome
from collection.checks.ids import CHECK_IDS
from collection.choices import CheckStatus

__all__ = [
    "REGISTRY",
    "CHECK_IDS",
    "CheckContext",
    "CheckOutcome",
    "checks_needing",
    "evaluate_all",
]


def evaluate_all(facts: dict, context: CheckContext | None = None) -> dict[str, CheckOutcome]:
    """Every registered check on one function's facts; a crashing check is an ``error``."""
    out = {}
    for check_id, run in REGISTRY.items():
        try:
            out[check_id] = run(facts, context)
        except Exception as exc:  # noqa: BLE001 - a broken check must not hide the others
            out[check_id] = CheckOutcome(
                CheckStatus.ERROR,
                f"The check failed to run ({type(exc).__name__}).",
                facts.get("function", {}).get("arn", ""),
            )
    return out


def checks_needing(family: str) -> list[str]:
    """The ids of the checks that report ``error`` when fact family ``family`` could not be
    collected (the ``needs`` of their ``check`` decorator; every check needs ``collector``),
    sorted. Read-only: evaluation is unchanged."""
    return sorted(
        check_id
        for check_id, run in REGISTRY.items()
        if family == "collector" or family in getattr(run, "needs", ())
    )
