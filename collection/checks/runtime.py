"""Runtime and configuration checks."""

from datetime import date

from collection.checks.base import check, fail, na, name, ok

# Deprecation dates of AWS Lambda managed runtimes (AWS Lambda runtimes page). Runtimes past
# their date (or without one listed here) are not supported.
RUNTIME_DEPRECATION: dict[str, date] = {
    "nodejs18.x": date(2025, 9, 1),
    "nodejs20.x": date(2026, 4, 30),
    "nodejs22.x": date(2027, 4, 30),
    "nodejs24.x": date(2028, 4, 30),
    "python3.9": date(2025, 12, 15),
    "python3.10": date(2026, 6, 30),
    "python3.11": date(2026, 6, 30),
    "python3.12": date(2028, 10, 31),
    "python3.13": date(2029, 6, 30),
    "python3.14": date(2029, 6, 30),
    "java8.al2": date(2026, 6, 30),
    "java11": date(2026, 6, 30),
    "java17": date(2026, 6, 30),
    "java21": date(2029, 6, 30),
    "java25": date(2030, 6, 30),
    "dotnet8": date(2026, 11, 10),
    "dotnet10": date(2028, 11, 14),
    "ruby3.2": date(2026, 3, 31),
    "ruby3.3": date(2027, 3, 31),
    "ruby3.4": date(2028, 3, 31),
    "provided.al2": date(2026, 6, 30),
    "provided.al2023": date(2029, 6, 30),
}
SOON_DAYS = 180


def _runtime(facts):
    fn = facts["function"]
    if fn["package_type"] == "Image":
        return None, na(f"{fn['name']} is a container image: its runtime is in the image.")
    return fn["runtime"], None


@check("lambda.runtime_supported")
def runtime_supported(facts, ctx):
    runtime, skip = _runtime(facts)
    if skip:
        return skip
    until = RUNTIME_DEPRECATION.get(runtime)
    if until is None:
        return fail(f"{name(facts)} uses runtime {runtime or '(none)'}, which is not supported.")
    if until <= ctx.today:
        return fail(f"{name(facts)} uses runtime {runtime}, deprecated since {until}.")
    return ok(f"{name(facts)} uses runtime {runtime}, supported until {until}.")


@check("lambda.runtime_not_deprecating_soon")
def runtime_not_deprecating_soon(facts, ctx):
    runtime, skip = _runtime(facts)
    if skip:
        return skip
    until = RUNTIME_DEPRECATION.get(runtime)
    if until is None or until <= ctx.today:
        return fail(f"{name(facts)} uses runtime {runtime or '(none)'}, already unsupported.")
    days = (until - ctx.today).days
    if days <= SOON_DAYS:
        return fail(f"{name(facts)} uses runtime {runtime}, deprecated in {days} days ({until}).")
    return ok(f"{name(facts)} uses runtime {runtime}, {days} days before deprecation.")


@check("lambda.timeout_configured")
def timeout_configured(facts, ctx):
    timeout = facts["function"]["timeout"]
    if timeout is None or timeout == 3:
        return fail(f"{name(facts)} keeps the default timeout of 3 s.")
    if timeout > 900:
        return fail(f"{name(facts)} has timeout {timeout} s, above 900 s.")
    return ok(f"{name(facts)} has an explicit timeout of {timeout} s.")


@check("lambda.memory_configured")
def memory_configured(facts, ctx):
    memory = facts["function"]["memory_size"]
    if memory is None or memory == 128:
        return fail(f"{name(facts)} keeps the default memory of 128 MB.")
    return ok(f"{name(facts)} has {memory} MB of memory.")


@check("lambda.arm64_architecture")
def arm64_architecture(facts, ctx):
    arch = facts["function"]["architectures"]
    if "arm64" in arch:
        return ok(f"{name(facts)} runs on arm64.")
    return fail(f"{name(facts)} runs on {', '.join(arch) or 'x86_64'}, not arm64 (Graviton).")


@check("lambda.log_format_json")
def log_format_json(facts, ctx):
    fmt = facts["function"]["log_format"]
    if fmt == "JSON":
        return ok(f"{name(facts)} logs in JSON.")
    return fail(f"{name(facts)} has LoggingConfig.LogFormat {fmt}, not JSON.")


@check("lambda.insights_extension")
def insights_extension(facts, ctx):
    layers = facts["function"]["layers"]
    if any(":layer:LambdaInsightsExtension" in arn for arn in layers):
        return ok(f"{name(facts)} has the Lambda Insights extension.")
    return fail(f"{name(facts)} has no LambdaInsightsExtension layer.")


@check("lambda.layers_trusted_accounts")
def layers_trusted_accounts(facts, ctx):
    layers = facts["function"]["layers"]
    if not layers:
        return na(f"{name(facts)} uses no layers.")
    allowed = {facts["account_id"], *ctx.trusted_layer_accounts}
    foreign = [arn for arn in layers if arn.split(":")[4:5] and arn.split(":")[4] not in allowed]
    if foreign:
        return fail(f"{name(facts)} uses layers from untrusted accounts: {', '.join(foreign)}.")
    return ok(f"{name(facts)} uses {len(layers)} layer(s), all from trusted accounts.")


@check("lambda.tags_required", needs=("get_function",))
def tags_required(facts, ctx):
    tags = facts.get("tags") or {}
    missing = [t for t in ctx.required_tags if not str(tags.get(t, "")).strip()]
    if missing:
        return fail(f"{name(facts)} lacks required tags: {', '.join(missing)}.")
    return ok(f"{name(facts)} has the required tags ({', '.join(ctx.required_tags)}).")
