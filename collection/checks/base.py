"""The check contract: a pure function over collected facts, never an AWS call."""

from __future__ import annotations

from collections.abc import Callable
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
    today: date = field(default_factory=date.today)

    def profile_says(self, key: str, default: bool = True) -> bool:
        return bool(self.profile.get(key, default))


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
    collected, the outcome is ``error`` with the reason: never a pass by default."""

    def register(fn: CheckFn):
        def run(facts: dict, context: CheckContext | None = None) -> CheckOutcome:
            resource = facts.get("function", {}).get("arn", "")
            unavailable = facts.get("unavailable") or {}
            for family in ("collector", *needs):
                if family in unavailable:
                    return CheckOutcome(
                        CheckStatus.ERROR,
                        f"Could not be evaluated: {unavailable[family]}",
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
