"""Which automated checks the current catalog does not require for a service.

Each catalog control carries an applicability rule over the service profile (see
controls/applicability.py): provisioned concurrency only for tier 1 behind API Gateway, WAF
only when internet-facing, and so on. The checks stay pure functions over facts; the
pipeline computes, once per batch, the check ids whose control does not apply to the service
and passes them in ``CheckContext.not_required``, where the ``check`` decorator turns them
into ``not_applicable`` with the reason (collection/checks/base.py).
"""

from __future__ import annotations

from collections.abc import Iterable

from controls.applicability import (
    PROFILE_FIELDS,
    describe,
    evaluate,
    profile_values,
    rule_fields,
)


def reason(code: str, rule: dict, profile: dict) -> str:
    """Why control ``code`` is not required: its rule in words and the service's values."""
    return (
        f"{code} applies only when {describe(rule)} (this service: {profile_values(rule, profile)})"
    )


def not_required(controls: Iterable[tuple[str, str, dict]], profile: dict) -> dict[str, str]:
    """check id -> reason for each ``(code, check_id, rule)`` whose rule does not hold for
    ``profile``. A rule reading a field the profile lacks (or holds None) exempts nothing: an
    incomplete profile keeps the check (closed by default, as ``applicability.evaluate``)."""
    out: dict[str, str] = {}
    for code, check_id, rule in controls:
        rule = rule or {}
        if not check_id or not rule:
            continue
        fields = rule_fields(rule)
        if any(profile.get(f) is None or f not in PROFILE_FIELDS for f in fields):
            continue
        if not evaluate(rule, profile):
            out[check_id] = reason(code, rule, profile)
    return out


def not_required_for(profile: dict, *, service_id: int | None = None) -> dict[str, str]:
    """check id -> reason for the current catalog's automated controls whose applicability
    rule does not hold for ``profile`` (a ``services.Service.profile()`` dict). Empty when no
    catalog is loaded (then every check is evaluated).

    With ``service_id``, a control that an approved review of the service holds as a
    mandatory item stays required whatever the profile says now: the team may edit the
    profile (tier, internet-facing, ...) after approval, and that must not turn a failing
    control the reviewers signed off into a pass for the gate and drift without a new review.
    Two queries."""
    from controls.models import Control  # here: the checks themselves never touch models

    rows = (
        Control.objects.filter(catalog_version__is_current=True)
        .exclude(check_id="")
        .values_list("code", "check_id", "applicability")
    )
    out = not_required(rows, profile)
    if service_id is not None and out:
        from reviews.choices import ReviewStatus
        from reviews.models import ReviewItem

        held = ReviewItem.objects.filter(
            review__service_id=service_id,
            review__status=ReviewStatus.APPROVED,
            mandatory=True,
            control__check_id__in=list(out),
        ).values_list("control__check_id", flat=True)
        for check_id in set(held):
            out.pop(check_id, None)
    return out
