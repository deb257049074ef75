"""Collection settings: a Django setting wins, else the environment, else the default.

The lead may move any of these into portal/settings.py; until then they are read here so the
collection app works on its own.
"""

from __future__ import annotations

import os

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from portal.env import env_bool


def _number(name: str, default: float, *, minimum: float = 0.0) -> float:
    if hasattr(settings, name):
        value = getattr(settings, name)
    else:
        raw = os.environ.get(name)
        if raw is None or raw.strip() == "":
            return default
        try:
            value = float(raw)
        except ValueError:
            raise ImproperlyConfigured(f"{name}={raw!r} is not a number.") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name}={value} must be at least {minimum}.")
    return value


def _list(name: str, default: list[str]) -> list[str]:
    if hasattr(settings, name):
        return list(getattr(settings, name))
    raw = os.environ.get(name)
    if raw is None:
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]


def lambda_rates() -> dict[str, float]:
    """Requests per second per Lambda quota bucket, per account and region (AWS defaults)."""
    return {
        "shared": _number("COLLECTION_LAMBDA_SHARED_RPS", 15.0, minimum=0.1),
        "get_function": _number("COLLECTION_LAMBDA_GET_FUNCTION_RPS", 100.0, minimum=0.1),
        "get_policy": _number("COLLECTION_LAMBDA_GET_POLICY_RPS", 15.0, minimum=0.1),
    }


def batch_size() -> int:
    """Functions per batch task: small enough for live progress, large enough to amortize."""
    return int(_number("COLLECTION_BATCH_SIZE", 50, minimum=1))


def threads_per_batch() -> int:
    """Concurrent AWS calls inside one batch task (the shared rate limiter paces them). With
    8, a single worker's threads spent 63% of their time waiting for the emulator's answers
    and 3% waiting for tokens: too few calls in flight to use a 150/s quota."""
    return int(_number("COLLECTION_THREADS", 24, minimum=1))


def claim_lease_seconds() -> float:
    """How long a batch stays claimed by a task that never finishes it (a safety net: a
    redelivered copy of the holder takes over at once, being the same task)."""
    return _number("COLLECTION_CLAIM_LEASE_SECONDS", 600, minimum=1)


def max_attempts() -> int:
    """botocore standard-mode attempts per call: the one layer that retries AWS faults."""
    return int(_number("COLLECTION_MAX_ATTEMPTS", 8, minimum=1))


def lean_reads() -> bool:
    """Make the per-function Lambda reads the lean way (collection/aws/lean.py) instead of
    through botocore's client: the same requests and answers at about a third of the CPU."""
    if hasattr(settings, "COLLECTION_LEAN_READS"):
        return bool(settings.COLLECTION_LEAN_READS)
    return env_bool("COLLECTION_LEAN_READS", True)


def required_tags() -> list[str]:
    return _list(
        "COLLECTION_REQUIRED_TAGS", ["owner", "service", "data-classification", "cost-center"]
    )


def trusted_layer_accounts() -> list[str]:
    """Accounts besides the function's own whose layers are allowed (e.g. AWS's Insights)."""
    return _list("COLLECTION_TRUSTED_LAYER_ACCOUNTS", ["580247275435"])


def approved_boundary_arns() -> list[str]:
    """Permission boundaries the bank approves for execution roles (iam.permission_boundary):
    ARNs, or patterns like ``arn:aws:iam::*:policy/app-boundary`` for the same policy in every
    account. Empty (the default): any boundary passes except an AWS administrative policy."""
    return _list("COLLECTION_APPROVED_BOUNDARY_ARNS", [])


def stale_run_hours() -> float:
    """An active run older than this is taken as lost and no longer blocks a new one."""
    return _number("COLLECTION_STALE_RUN_HOURS", 6, minimum=0.1)
