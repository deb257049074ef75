"""The check contract: a pure function over collected facts, never an AWS call."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date

from collection.choices import CheckStatus


@dataclass(frozen=True)
class CheckOutcome:
    status: str
    message: str
    resource: str


@dataclass(frozen=True)
class CheckContext:
    """What a check may know besides the facts: the service profile and portal settings."""

    profile: dict = field(default_factory=dict)
    required_tags: tuple[str, ...] = ("owner", "service", "data-classification", "cost-center")
    trusted_layer_accounts: tuple[str, ...] = ()
    # Permission boundaries the bank approves (COLLECTION_APPROVED_BOUNDARY_ARNS): exact ARNs or
    # fnmatch patterns. Empty: any boundary but an AWS administrative policy passes.
    approved_boundary_arns: tuple[str, ...] = ()
    today: date = field(default_factory=date.today)
    # check id -> why the catalog does not require its control for this service
    # (collection.checks.applicability.not_required_for): such checks are not applicable.
    not_required: Mapping[str, str] = field(default_factory=dict)

    def profile_says(self, key: str, default: bool = True) -> bool:
        return bool(self.profile.get(key, default))


# How an ``error`` for facts that could not be collected begins (the run page finds them by it).
UNAVAILABLE_PREFIX = "Could not be evaluated: "

Result = tuple[str, str]
CheckFn = Callable[[dict, CheckContext], Result]
REGISTRY: dict[str, Callable[[dict, CheckContext | None], CheckOutcome]] = {}


def ok(message: str) -> Result:
    return CheckStatus.PASS, message


def fail(message: str) -> Result:
    return CheckStatus.FAIL, message


def na(message: str) -> Result:
    return CheckStatus.NOT_APPLICABLE, message


def err(message: str) -> Result:
    return CheckStatus.ERROR, message


def check(check_id: str, *, needs: tuple[str, ...] = ()):
    """Register ``fn`` under ``check_id``. If a fact family in ``needs`` could not be
    collected, the outcome is ``error`` with the reason: never a pass by default.

    A check in ``context.not_required`` is ``not_applicable`` with the catalog's reason, and
    that comes first: a control the service is not required to meet is not applicable
    whatever could or could not be collected, so an unreadable fact family never turns it
    into an error the owner would have to chase."""

    def register(fn: CheckFn):
        def run(facts: dict, context: CheckContext | None = None) -> CheckOutcome:
            resource = facts.get("function", {}).get("arn", "")
            if context is not None and check_id in context.not_required:
                subject = facts.get("function", {}).get("name") or resource or "the function"
                return CheckOutcome(
                    CheckStatus.NOT_APPLICABLE,
                    f"Not required for this service: {context.not_required[check_id]}; "
                    f"{subject} was not evaluated.",
                    resource,
                )
            unavailable = facts.get("unavailable") or {}
            for family in ("collector", *needs):
                if family in unavailable:
                    return CheckOutcome(
                        CheckStatus.ERROR,
                        f"{UNAVAILABLE_PREFIX}{unavailable[family]}",
                        resource,
                    )
            try:
                status, message = fn(facts, context or CheckContext())
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                return CheckOutcome(
                    CheckStatus.ERROR,
                    f"The collected facts are incomplete for this check ({type(exc).__name__}).",
                    resource,
                )
            return CheckOutcome(status, message, resource)

        run.check_id = check_id
        run.needs = needs
        run.__doc__ = fn.__doc__
        run.__name__ = fn.__name__
        if check_id in REGISTRY:
            raise RuntimeError(f"check {check_id} registered twice")
        REGISTRY[check_id] = run
        return run

    return register


def name(facts: dict) -> str:
    return facts["function"]["name"]
