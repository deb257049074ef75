"""Assemble the facts about one function from plain data (no AWS calls here).

The facts dict is what checks read, what a snapshot stores (already redacted at the boto3
boundary) and what its SHA-256 covers. Families that could not be collected are named in
``facts["unavailable"]`` with a plain-words reason; checks that need them report ``error``.
"""

from __future__ import annotations

import hashlib
import json

from collection.policy import as_list, secrets_readable_by, statements, unqualified


def function_summary(config: dict) -> dict:
    """The fields of a (redacted) ListFunctions entry the checks use."""
    env = config.get("Environment") or {}
    vpc = config.get("VpcConfig") or {}
    logging_config = config.get("LoggingConfig") or {}
    name = config["FunctionName"]
    return {
        "name": name,
        "arn": unqualified(config["FunctionArn"]),
        "runtime": config.get("Runtime", ""),
        "package_type": config.get("PackageType", "Zip"),
        "handler": config.get("Handler", ""),
        "timeout": config.get("Timeout"),
        "memory_size": config.get("MemorySize"),
        "architectures": config.get("Architectures", ["x86_64"]),
        "role": config.get("Role", ""),
        "kms_key_arn": config.get("KMSKeyArn", ""),
        "tracing_mode": (config.get("TracingConfig") or {}).get("Mode", "PassThrough"),
        "layers": [layer.get("Arn", "") for layer in config.get("Layers", [])],
        "log_format": logging_config.get("LogFormat", "Text"),
        "log_group": logging_config.get("LogGroup") or f"/aws/lambda/{name}",
        "dead_letter_target": (config.get("DeadLetterConfig") or {}).get("TargetArn", ""),
        "env_var_names": env.get("VariableNames", []),
        "env_var_digests": env.get("VariableDigests", {}),
        "env_secret_like": env.get("SecretLikeValues", {}),
        "vpc_id": vpc.get("VpcId", ""),
        "subnet_ids": vpc.get("SubnetIds", []),
        "security_group_ids": vpc.get("SecurityGroupIds", []),
        "signing_profile_version_arn": config.get("SigningProfileVersionArn", ""),
        "signing_job_arn": config.get("SigningJobArn", ""),
        "code_sha256": config.get("CodeSha256", ""),
        "last_modified": config.get("LastModified", ""),
        "revision_id": config.get("RevisionId", ""),
    }


def bulk_slice(fn: dict, inv: dict) -> dict:
    """The part of the region-wide (bulk) answers that concerns one function."""
    name, arn = fn["name"], fn["arn"]
    role = inv.get("roles", {}).get(fn["role"])
    if role is not None:
        role = {**role, "used_by": sorted(inv.get("role_users", {}).get(fn["role"], []))}
    key_ids = {fn["kms_key_arn"]} - {""}
    log_group = inv.get("log_groups", {}).get(fn["log_group"])
    if log_group and log_group.get("kms_key_id"):
        key_ids.add(log_group["kms_key_id"])
    if "alarms_by_function" in inv:
        alarms = inv["alarms_by_function"].get(name, [])
    else:
        alarms = [
            a
            for a in inv.get("alarms", [])
            if a["namespace"] == "AWS/Lambda"
            and a["dimensions"].get("FunctionName", "").split(":")[0] == name
        ]
    return {
        "code_signing": inv.get("code_signing", {}).get(arn),
        "event_source_mappings": inv.get("esm", {}).get(arn, []),
        "alarms": alarms,
        "log_group": log_group,
        "role": role,
        "kms_keys": {k: inv["kms"][k] for k in sorted(key_ids) if k in inv.get("kms", {})},
        "kms_unavailable": {
            k: inv["kms_failed"][k] for k in sorted(key_ids) if k in inv.get("kms_failed", {})
        },
        "subnets": [inv["subnets"][s] for s in fn["subnet_ids"] if s in inv.get("subnets", {})],
        "security_groups": [
            inv["security_groups"][g]
            for g in fn["security_group_ids"]
            if g in inv.get("security_groups", {})
        ],
        "deployment_group": inv.get("deployment_groups", {}).get(name),
        "secrets": secrets_readable_by(
            role, inv.get("secrets", []), by_arn=inv.get("secrets_by_arn")
        ),
        "config_compliance": inv.get("config", {}).get(name),
        "security_hub_findings": inv.get("securityhub", {}).get(arn, []),
    }


def index_inventory(inv: dict) -> dict:
    """Add lookup tables to the region-wide answers so that slicing them per function is a
    dict lookup instead of a scan of every alarm and secret (quadratic at 2,000 functions)."""
    by_function: dict[str, list[dict]] = {}
    for a in inv.get("alarms") or []:
        if a["namespace"] == "AWS/Lambda":
            fn_name = a["dimensions"].get("FunctionName", "").split(":")[0]
            by_function.setdefault(fn_name, []).append(a)
    inv["alarms_by_function"] = by_function
    inv["secrets_by_arn"] = {s["arn"]: i for i, s in enumerate(inv.get("secrets") or [])}
    return inv


def build_facts(
    *,
    account_id: str,
    region: str,
    fn: dict,
    bulk: dict,
    details: dict,
    api_stages: list[dict],
    sqs_alarms: dict[str, list[str]],
    unavailable: dict[str, str],
) -> dict:
    facts = {
        "account_id": account_id,
        "region": region,
        "function": fn,
        **bulk,
        "reserved_concurrency": details.get("reserved_concurrency"),
        "tags": details.get("tags"),
        "aliases": details.get("aliases", []),
        "provisioned_concurrency": details.get("provisioned_concurrency", []),
        "invoke_config": details.get("invoke_config"),
        "policy": details.get("policy"),
        "api_stages": api_stages,
        "dlq_alarms": _dlq_alarms(fn, details.get("invoke_config"), sqs_alarms),
        "unavailable": {**unavailable, **details.get("unavailable", {})},
    }
    return facts


def _dlq_alarms(fn: dict, invoke_config: dict | None, sqs_alarms: dict) -> dict[str, list]:
    targets = {fn["dead_letter_target"]}
    if invoke_config:
        targets.add(invoke_config.get("on_failure_destination", ""))
    out = {}
    for target in sorted(t for t in targets if t.startswith("arn:aws:sqs:")):
        out[target] = sqs_alarms.get(target.rsplit(":", 1)[-1], [])
    return out


def api_ids_from_policy(policy: dict | None) -> list[str]:
    """REST API ids named in the resource policy's execute-api source ARNs."""
    ids = set()
    for st in statements(policy):
        cond = st.get("Condition") or {}
        for op in cond.values():
            for key, value in op.items():
                if key.lower() == "aws:sourcearn":
                    for arn in as_list(value):
                        if arn.startswith("arn:aws:execute-api:"):
                            ids.add(arn.split(":", 5)[5].split("/")[0])
    return sorted(ids)


def canonical_json(facts: dict) -> bytes:
    return json.dumps(facts, sort_keys=True, separators=(",", ":"), default=str).encode()


def facts_sha256(facts: dict) -> str:
    return hashlib.sha256(canonical_json(facts)).hexdigest()
