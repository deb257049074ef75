"""Reliability checks: async failure handling, concurrency, versions, event source mappings."""

from collection import policy
from collection.checks.base import check, fail, na, name, ok

STREAM_SOURCES = (":kinesis:", ":dynamodb:", ":kafka:")


def _no_async(facts, ctx):
    if not ctx.profile_says("uses_async_invocation"):
        return na(f"The service profile says {name(facts)} is not invoked asynchronously.")
    return None


@check("lambda.dlq_or_destination", needs=("invoke_config",))
def dlq_or_destination(facts, ctx):
    if skip := _no_async(facts, ctx):
        return skip
    dlq = facts["function"]["dead_letter_target"]
    dest = (facts.get("invoke_config") or {}).get("on_failure_destination", "")
    if dlq:
        return ok(f"{name(facts)} sends failed async events to DLQ {dlq}.")
    if dest:
        return ok(f"{name(facts)} sends failed async events to on-failure destination {dest}.")
    return fail(f"{name(facts)} has neither a DLQ nor an on-failure destination.")


@check("lambda.async_retry_configured", needs=("invoke_config",))
def async_retry_configured(facts, ctx):
    if skip := _no_async(facts, ctx):
        return skip
    cfg = facts.get("invoke_config")
    if not cfg:
        return fail(
            f"{name(facts)} has no event invoke config: AWS defaults apply (2 retries, 6 h)."
        )
    missing = [
        label
        for key, label in (
            ("maximum_retry_attempts", "MaximumRetryAttempts"),
            ("maximum_event_age_seconds", "MaximumEventAgeInSeconds"),
        )
        if cfg.get(key) is None
    ]
    if missing:
        return fail(f"{name(facts)}'s event invoke config does not set {', '.join(missing)}.")
    return ok(
        f"{name(facts)} retries async events {cfg['maximum_retry_attempts']} time(s) for up to "
        f"{cfg['maximum_event_age_seconds']} s."
    )


@check("lambda.reserved_concurrency", needs=("get_function",))
def reserved_concurrency(facts, ctx):
    value = facts.get("reserved_concurrency")
    if value is None:
        return fail(f"{name(facts)} has no reserved concurrency.")
    if value == 0:
        return fail(f"{name(facts)} has reserved concurrency 0: every invocation is throttled.")
    return ok(f"{name(facts)} has reserved concurrency {value}.")


def live_alias(facts) -> dict | None:
    return policy.live_alias(facts.get("aliases"))


@check("lambda.provisioned_concurrency", needs=("aliases", "provisioned_concurrency"))
def provisioned_concurrency(facts, ctx):
    alias = live_alias(facts)
    if alias is None:
        return fail(f"{name(facts)} has no alias to configure provisioned concurrency on.")
    configs = {p["qualifier"]: p for p in facts.get("provisioned_concurrency") or []}
    found = configs.get(alias["name"]) or configs.get(alias["version"])
    if not found:
        return fail(f"{name(facts)}: alias {alias['name']} has no provisioned concurrency.")
    status = found.get("status") or "unknown"
    if status != "READY":
        return fail(
            f"{name(facts)}: provisioned concurrency on {alias['name']} is {status}, not READY."
        )
    if not found.get("allocated"):
        return fail(
            f"{name(facts)}: provisioned concurrency on {alias['name']} is READY but has "
            f"{found.get('allocated') or 0} of {found.get('requested')} executions allocated."
        )
    return ok(
        f"{name(facts)}: alias {alias['name']} has {found.get('allocated')} provisioned "
        "concurrent executions ready."
    )


@check("lambda.published_version", needs=("aliases",))
def published_version(facts, ctx):
    versions = sorted(
        {a["version"] for a in facts.get("aliases") or [] if a["version"] != "$LATEST"}
        | {
            p["qualifier"]
            for p in facts.get("provisioned_concurrency") or []
            if p["qualifier"].isdigit()
        }
    )
    if versions:
        return ok(f"{name(facts)} has published version(s) {', '.join(versions)} in use.")
    return fail(f"{name(facts)} has no published version behind an alias (runs as $LATEST).")


@check("lambda.alias_not_latest", needs=("aliases",))
def alias_not_latest(facts, ctx):
    aliases = facts.get("aliases") or []
    if not aliases:
        return fail(f"{name(facts)} has no alias: callers invoke $LATEST.")
    latest = [a["name"] for a in aliases if a["version"] == "$LATEST"]
    if latest:
        return fail(f"{name(facts)}: alias(es) {', '.join(latest)} point to $LATEST.")
    alias = live_alias(facts)
    return ok(f"{name(facts)}: alias {alias['name']} points to version {alias['version']}.")


def _mappings(facts):
    return facts.get("event_source_mappings") or []


def _is_stream(mapping) -> bool:
    return any(s in mapping["event_source_arn"] for s in STREAM_SOURCES)


@check("esm.failure_destination", needs=("esm",))
def esm_failure_destination(facts, ctx):
    streams = [m for m in _mappings(facts) if _is_stream(m)]
    if not streams:
        return na(f"{name(facts)} has no stream event source mapping (SQS uses its redrive DLQ).")
    missing = [m["event_source_arn"] for m in streams if not m["on_failure_destination"]]
    if missing:
        return fail(
            f"{name(facts)}: mappings without on-failure destination: {', '.join(missing)}."
        )
    return ok(
        f"{name(facts)}: all {len(streams)} stream mapping(s) have an on-failure destination."
    )


@check("esm.partial_batch_response", needs=("esm",))
def esm_partial_batch_response(facts, ctx):
    mappings = _mappings(facts)
    if not mappings:
        return na(f"{name(facts)} has no event source mapping.")
    missing = [
        m["event_source_arn"]
        for m in mappings
        if "ReportBatchItemFailures" not in (m["function_response_types"] or [])
    ]
    if missing:
        return fail(
            f"{name(facts)}: mappings not reporting batch item failures: {', '.join(missing)}."
        )
    return ok(f"{name(facts)}: all {len(mappings)} mapping(s) report batch item failures.")


@check("esm.stream_retry_bounded", needs=("esm",))
def esm_stream_retry_bounded(facts, ctx):
    streams = [m for m in _mappings(facts) if _is_stream(m)]
    if not streams:
        return na(f"{name(facts)} has no stream event source mapping.")
    bad = [
        f"{m['event_source_arn']} (retries {_bound(m['maximum_retry_attempts'])}, record age "
        f"{_bound(m.get('maximum_record_age'))}, bisect {m['bisect_on_error']})"
        for m in streams
        if m["maximum_retry_attempts"] in (None, -1)
        or m.get("maximum_record_age") in (None, -1)
        or not m["bisect_on_error"]
    ]
    if bad:
        return fail(f"{name(facts)}: unbounded or non-bisecting stream mappings: {'; '.join(bad)}.")
    return ok(f"{name(facts)}: stream mappings bound retries and record age, and bisect on error.")


def _bound(value) -> str:
    return "unbounded" if value in (None, -1) else str(value)
