"""The gate's rule as a pure function of a snapshot of its inputs.

``gate.selectors.gate_inputs`` reads the snapshot from the database (a fixed number of
queries); ``evaluate`` turns it into a decision. The snapshot is stored with every decision,
so replaying a decision is ``evaluate(decision.inputs)``: the same answer from the data as it
was, whatever changed since.

The rule (DESIGN.md, "The gate"): allow only when the service has an approved, unexpired,
non-revoked review for the environment, and every mandatory automated control's latest result
is fresh and passing, or covered by an active waiver. Optionally (``GATE_REQUIRE_CI_EVIDENCE``)
the mandatory controls CI proves must be proven for the commit being deployed. An active
break-glass allow for the commit turns a deny into an allow, and says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.utils.dateparse import parse_datetime

from gate.choices import Decision, ReasonCode

PASSING = {"pass", "not_applicable"}
# Reasons that do not block (they explain an allow).
INFORMATIONAL = {ReasonCode.CONTROL_WAIVED, ReasonCode.BREAK_GLASS}


@dataclass
class Result:
    decision: str
    reasons: list[dict] = field(default_factory=list)
    expires_at: datetime | None = None

    def as_dict(self) -> dict:
        return {
            "decision": self.decision,
            "reasons": self.reasons,
            "expires_at": _iso(self.expires_at),
        }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _dt(value) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return parse_datetime(value)


def _reason(code: str, message: str, control: str | None = None) -> dict:
    reason = {"code": str(code), "message": message}
    if control:
        reason["control"] = control
    return reason


def commits_match(a: str, b: str) -> bool:
    """Two commit SHAs name the same commit (either may be abbreviated to 7+ characters)."""
    a, b = (a or "").lower(), (b or "").lower()
    return bool(a and b) and len(min(a, b, key=len)) >= 7 and (a.startswith(b) or b.startswith(a))


def _review_reasons(snapshot: dict, at: datetime) -> tuple[list[dict], datetime | None]:
    env = snapshot["environment"]
    if env not in snapshot.get("environments", []):
        known = ", ".join(snapshot.get("environments", [])) or "none"
        return [
            _reason(
                ReasonCode.UNKNOWN_ENVIRONMENT,
                f"{snapshot['service']} has no environment {env!r} (registered: {known}).",
            )
        ], None
    review = snapshot.get("review")
    if review is None:
        return [
            _reason(ReasonCode.NO_REVIEW, f"No readiness review exists for {env}; open one.")
        ], None
    status = review["status"]
    expires_at = _dt(review.get("expires_at"))
    label = f"Review #{review['id']}"
    if status == "approved" and expires_at and expires_at > at:
        return [], expires_at
    if status in ("approved", "expired"):
        when = f" on {expires_at:%Y-%m-%d %H:%M} UTC" if expires_at else ""
        return [_reason(ReasonCode.REVIEW_EXPIRED, f"{label}'s approval expired{when}.")], None
    if status == "revoked":
        why = review.get("revoked_reason") or "no reason recorded"
        return [_reason(ReasonCode.REVIEW_REVOKED, f"{label} was revoked: {why}.")], None
    return [
        _reason(
            ReasonCode.REVIEW_NOT_APPROVED,
            f"{label} for {env} is {status.replace('_', ' ')}, not approved.",
        )
    ], None


def _waiver_for(snapshot: dict, code: str, at: datetime) -> dict | None:
    waiver = snapshot.get("waivers", {}).get(code)
    if waiver is None or _dt(waiver["expires_at"]) <= at:
        return None
    if waiver.get("commit_sha") and not commits_match(waiver["commit_sha"], snapshot["commit_sha"]):
        return None
    return waiver


def _control_problem(control: dict, at: datetime) -> tuple[str, str] | None:
    """(reason code, message) when the control does not hold at ``at``; None when it does."""
    code, result = control["code"], control.get("result")
    what = control.get("title") or code
    if control.get("source") == "ci":
        fmt = control.get("ci_format", "CI")
        if result is None:
            return (
                ReasonCode.CI_EVIDENCE_MISSING,
                f"{code} {what}: no {fmt} upload for commit {control.get('commit', '')[:12]}.",
            )
        if result["status"] not in PASSING:
            summary = result.get("summary") or "it does not pass"
            return ReasonCode.CI_EVIDENCE_FAILING, f"{code} {what}: {fmt} upload fails: {summary}."
        return None
    if result is None:
        return ReasonCode.CONTROL_NO_RESULT, f"{code} {what}: no automated result collected yet."
    status = result["status"]
    if status == "fail":
        failing = result.get("failing_resources") or []
        where = f" on {', '.join(failing[:3])}" if failing else ""
        more = f" and {len(failing) - 3} more" if len(failing) > 3 else ""
        return ReasonCode.CONTROL_FAILING, f"{code} {what}: failing{where}{more}."
    if status not in PASSING:
        return ReasonCode.CONTROL_ERROR, f"{code} {what}: the check could not be evaluated."
    evaluated_at = _dt(result.get("evaluated_at"))
    fresh_until = _fresh_until(control, evaluated_at)
    if fresh_until is None or fresh_until <= at:
        when = f"{evaluated_at:%Y-%m-%d}" if evaluated_at else "an unknown date"
        return (
            ReasonCode.CONTROL_STALE,
            f"{code} {what}: the latest result ({when}) is older than "
            f"{control['freshness_days']} days.",
        )
    return None


def _fresh_until(control: dict, evaluated_at: datetime | None) -> datetime | None:
    if evaluated_at is None:
        return None
    return evaluated_at + timedelta(days=int(control["freshness_days"]))


def evaluate(snapshot: dict) -> Result:
    """The gate's answer for ``snapshot`` (see ``gate.selectors.gate_inputs``)."""
    at = _dt(snapshot["evaluated_at"])
    blocking, expiry = _review_reasons(snapshot, at)
    limits = [expiry] if expiry else []
    info: list[dict] = []
    for control in snapshot.get("controls", []):
        problem = _control_problem(control, at)
        if problem is None:
            if control.get("source") != "ci":
                limits.append(_fresh_until(control, _dt(control["result"]["evaluated_at"])))
            continue
        waiver = _waiver_for(snapshot, control["code"], at)
        if waiver is not None:
            info.append(
                _reason(
                    ReasonCode.CONTROL_WAIVED,
                    f"{problem[1]} Covered by waiver #{waiver['id']} until "
                    f"{_dt(waiver['expires_at']):%Y-%m-%d}.",
                    control["code"],
                )
            )
            limits.append(_dt(waiver["expires_at"]))
            continue
        blocking.append(_reason(problem[0], problem[1], control["code"]))
    if not blocking:
        return Result(Decision.ALLOW, info, min(limits) if limits else None)
    glass = snapshot.get("break_glass")
    if glass and _dt(glass["expires_at"]) > at:
        message = (
            f"Emergency allow #{glass['id']} issued by {glass['issued_by']} until "
            f"{_dt(glass['expires_at']):%Y-%m-%d %H:%M} UTC: {glass['reason']}. "
            f"Follow-up review #{glass.get('followup_review') or '?'} is mandatory. "
            f"Overridden: {len(blocking)} reason(s)."
        )
        return Result(
            Decision.ALLOW,
            [_reason(ReasonCode.BREAK_GLASS, message), *blocking, *info],
            _dt(glass["expires_at"]),
        )
    return Result(Decision.DENY, blocking + info, None)
