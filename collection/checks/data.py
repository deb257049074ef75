"""Data protection checks."""

from datetime import date

from collection.checks.base import UNAVAILABLE_PREFIX, check, err, fail, na, name, ok


@check("lambda.env_kms_cmk", needs=("kms",))
def env_kms_cmk(facts, ctx):
    fn = facts["function"]
    if not fn["env_var_names"]:
        return na(f"{fn['name']} has no environment variables.")
    key = fn["kms_key_arn"]
    if not key:
        return fail(f"{fn['name']}'s environment is encrypted with the AWS managed key aws/lambda.")
    if key in (facts.get("kms_unavailable") or {}):
        return err(f"{UNAVAILABLE_PREFIX}{facts['kms_unavailable'][key]}")
    info = (facts.get("kms_keys") or {}).get(key)
    if not info:
        return fail(f"{fn['name']}'s environment key {key} does not exist.")
    if info["manager"] != "CUSTOMER":
        return fail(f"{fn['name']}'s environment key {key} is AWS managed, not a CMK.")
    return ok(f"{fn['name']}'s environment is encrypted with CMK {key}.")


@check("kms.key_rotation_enabled", needs=("kms",))
def key_rotation_enabled(facts, ctx):
    keys = {
        arn: info
        for arn, info in (facts.get("kms_keys") or {}).items()
        if info["manager"] == "CUSTOMER"
    }
    if not keys:
        return na(f"{name(facts)} uses no customer-managed KMS key.")
    off = [arn for arn, info in keys.items() if not info.get("rotation_enabled")]
    if off:
        return fail(f"{name(facts)}: KMS key(s) without automatic rotation: {', '.join(off)}.")
    return ok(f"{name(facts)}: {len(keys)} customer-managed key(s) rotate automatically.")


@check("lambda.env_no_secrets")
def env_no_secrets(facts, ctx):
    fn = facts["function"]
    if not fn["env_var_names"]:
        return na(f"{fn['name']} has no environment variables.")
    flagged = fn.get("env_secret_like") or {}
    if flagged:
        listed = "; ".join(f"{k}: {why}" for k, why in sorted(flagged.items()))
        return fail(f"{fn['name']} has secret-looking environment values ({listed}).")
    return ok(f"{fn['name']}'s {len(fn['env_var_names'])} environment value(s) look harmless.")


@check("secrets.rotation_enabled", needs=("iam", "secrets"))
def secrets_rotation_enabled(facts, ctx):
    secrets = facts.get("secrets") or []
    if not secrets:
        return na(f"{name(facts)}'s role reads no Secrets Manager secret.")
    problems = [_rotation_problem(s, ctx.today) for s in secrets]
    problems = [p for p in problems if p]
    if problems:
        return fail(f"{name(facts)} reads secrets not rotated as required: {'; '.join(problems)}.")
    return ok(
        f"{name(facts)} reads {len(secrets)} secret(s), all rotating at most every "
        f"{MAX_ROTATION_DAYS} days and rotated within their period."
    )


MAX_ROTATION_DAYS = 90


def _rotation_problem(secret: dict, today) -> str:
    """Why ``secret`` fails the rotation rule (enabled, period of at most 90 days, last
    rotation within the period), or "" when it meets it."""
    label = secret["name"]
    if not secret["rotation_enabled"]:
        return f"{label} (rotation off)"
    days = secret.get("rotation_days")
    if days is not None and days > MAX_ROTATION_DAYS:
        return f"{label} (rotates every {days:g} days, more than {MAX_ROTATION_DAYS})"
    last = secret.get("last_rotated")
    if not last:
        return f"{label} (never rotated)"
    age = (today - date.fromisoformat(last)).days
    period = days if days is not None else MAX_ROTATION_DAYS
    if age > period + 1:  # a day's grace: rotation runs within its schedule window
        return f"{label} (last rotated {last}, {age} days ago, beyond its {period:g}-day period)"
    return ""
