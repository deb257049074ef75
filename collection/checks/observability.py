"""Observability checks: tracing, alarms, logs."""

from collection.checks.base import check, fail, na, name, ok


@check("lambda.tracing_active")
def tracing_active(facts, ctx):
    mode = facts["function"]["tracing_mode"]
    if mode == "Active":
        return ok(f"{name(facts)} has X-Ray active tracing.")
    return fail(f"{name(facts)} has tracing mode {mode}, not Active.")


def _metric_alarm(metric: str, check_id: str):
    @check(check_id, needs=("alarms",))
    def alarm_check(facts, ctx):
        alarms = [a for a in facts.get("alarms") or [] if a["metric"] == metric]
        if not alarms:
            return fail(f"No alarm watches {name(facts)}'s {metric} metric.")
        live = [a["name"] for a in alarms if a["actions_enabled"] and a["has_actions"]]
        if not live:
            return fail(
                f"Alarm(s) {', '.join(a['name'] for a in alarms)} on {name(facts)}'s {metric} "
                "notify nobody (no enabled actions)."
            )
        return ok(f"Alarm {live[0]} watches {name(facts)}'s {metric}.")

    alarm_check.__doc__ = f"An alarm with actions watches the function's {metric} metric."
    return alarm_check


errors_alarm = _metric_alarm("Errors", "cloudwatch.errors_alarm")
throttles_alarm = _metric_alarm("Throttles", "cloudwatch.throttles_alarm")
duration_alarm = _metric_alarm("Duration", "cloudwatch.duration_alarm")
concurrency_alarm = _metric_alarm("ConcurrentExecutions", "cloudwatch.concurrency_alarm")


@check("cloudwatch.dlq_alarm", needs=("alarms", "invoke_config"))
def dlq_alarm(facts, ctx):
    queues = facts.get("dlq_alarms") or {}
    if not queues:
        return na(f"{name(facts)} has no SQS dead-letter queue or on-failure queue.")
    silent = [arn for arn, alarms in queues.items() if not alarms]
    if silent:
        return fail(f"No alarm watches the depth of {name(facts)}'s DLQ {', '.join(silent)}.")
    return ok(f"{name(facts)}'s DLQ depth is alarmed.")


@check("logs.retention_set", needs=("logs",))
def logs_retention_set(facts, ctx):
    group = facts.get("log_group")
    if not group:
        return fail(f"{name(facts)}'s log group {facts['function']['log_group']} does not exist.")
    days = group.get("retention_days")
    if days is None:
        return fail(f"Log group {group['name']} never expires (no retention period set).")
    if days < 90:
        return fail(f"Log group {group['name']} keeps logs {days} days, under 90.")
    return ok(f"Log group {group['name']} keeps logs {days} days.")


@check("logs.kms_encrypted", needs=("logs",))
def logs_kms_encrypted(facts, ctx):
    group = facts.get("log_group")
    if not group:
        return fail(f"{name(facts)}'s log group {facts['function']['log_group']} does not exist.")
    if group.get("kms_key_id"):
        return ok(f"Log group {group['name']} is encrypted with {group['kms_key_id']}.")
    return fail(f"Log group {group['name']} is not encrypted with a KMS key.")
