"""Review policy knobs, overridable in settings (defaults here so settings stay small).

``PRR_SIGNOFF_ROLES``: tier → reviewer roles that must all sign off.
``PRR_APPROVAL_DAYS``: tier → days an approval stays valid.
``PRR_WAIVER_MAX_DAYS``: tier → the longest a waiver may run.
"""

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from accounts.choices import REVIEWER_ROLES

DEFAULT_SIGNOFF_ROLES = {1: ["sre", "security"], 2: ["sre"], 3: ["sre"], 4: ["sre"]}
DEFAULT_APPROVAL_DAYS = {1: 180, 2: 270, 3: 365, 4: 365}
DEFAULT_WAIVER_MAX_DAYS = {1: 90, 2: 180, 3: 180, 4: 365}


def _per_tier(name: str, default: dict, tier: int):
    table = getattr(settings, name, default)
    try:
        return table[int(tier)]
    except (KeyError, TypeError, ValueError):
        raise ImproperlyConfigured(f"settings.{name} has no entry for tier {tier}.") from None


def signoff_roles(tier: int) -> list[str]:
    roles = list(_per_tier("PRR_SIGNOFF_ROLES", DEFAULT_SIGNOFF_ROLES, tier))
    unknown = set(roles) - set(REVIEWER_ROLES)
    if not roles or unknown:
        raise ImproperlyConfigured(
            f"PRR_SIGNOFF_ROLES[{tier}] must be a non-empty list of reviewer roles "
            f"({', '.join(sorted(REVIEWER_ROLES))})."
        )
    return roles


def approval_days(tier: int) -> int:
    return int(_per_tier("PRR_APPROVAL_DAYS", DEFAULT_APPROVAL_DAYS, tier))


def waiver_max_days(tier: int) -> int:
    return int(_per_tier("PRR_WAIVER_MAX_DAYS", DEFAULT_WAIVER_MAX_DAYS, tier))
