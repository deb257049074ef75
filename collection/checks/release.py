"""Release checks: CodeDeploy canaries with alarm rollback, code signing."""

from collection.checks.base import check, fail, na, name, ok

REQUIRED_ROLLBACK_EVENTS = {"DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"}


def _group(facts):
    return facts.get("deployment_group")


@check("codedeploy.canary_config", needs=("codedeploy",))
def canary_config(facts, ctx):
    group = _group(facts)
    if not group:
        return fail(f"{name(facts)} has no CodeDeploy deployment group.")
    if group["traffic_routing"] in {"TimeBasedCanary", "TimeBasedLinear"}:
        return ok(f"{name(facts)} deploys with {group['deployment_config']}.")
    return fail(f"{name(facts)} deploys all at once ({group['deployment_config']}).")


@check("codedeploy.alarm_rollback", needs=("codedeploy",))
def alarm_rollback(facts, ctx):
    group = _group(facts)
    if not group:
        return fail(f"{name(facts)} has no CodeDeploy deployment group.")
    problems = []
    if not group["auto_rollback_enabled"]:
        problems.append("automatic rollback is off")
    missing = REQUIRED_ROLLBACK_EVENTS - set(group["auto_rollback_events"])
    if group["auto_rollback_enabled"] and missing:
        problems.append(f"rollback events lack {', '.join(sorted(missing))}")
    if not group["alarms_enabled"] or not group["alarms"]:
        problems.append("no alarms are configured")
    if problems:
        return fail(f"{name(facts)}: deployment group {group['name']}: {'; '.join(problems)}.")
    return ok(
        f"{name(facts)}: deployment group {group['name']} rolls back on failure and on alarms "
        f"({', '.join(group['alarms'])})."
    )


@check("lambda.code_signing_enforced", needs=("code_signing",))
def code_signing_enforced(facts, ctx):
    csc = facts.get("code_signing")
    if not csc:
        return fail(f"{name(facts)} has no code-signing config.")
    if csc["untrusted_artifact_on_deployment"] != "Enforce":
        return fail(
            f"{name(facts)}: code-signing config {csc['arn']} only warns "
            f"({csc['untrusted_artifact_on_deployment']})."
        )
    if not csc.get("allowed_publishers"):
        return fail(f"{name(facts)}: code-signing config {csc['arn']} names no allowed publisher.")
    return ok(
        f"{name(facts)}: code-signing config {csc['arn']} enforces signatures by "
        f"{len(csc['allowed_publishers'])} allowed publisher(s)."
    )


@check("lambda.artifact_signed", needs=("code_signing",))
def artifact_signed(facts, ctx):
    fn = facts["function"]
    if fn["package_type"] == "Image":
        return na(f"{fn['name']} is a container image (signed in ECR, not by AWS Signer).")
    profile, job = fn["signing_profile_version_arn"], fn["signing_job_arn"]
    if not profile and not job:
        return fail(f"{fn['name']}'s deployed code carries no AWS Signer signature.")
    if not profile or not job:
        missing = "SigningProfileVersionArn" if not profile else "SigningJobArn"
        return fail(f"{fn['name']}'s code signature is incomplete: no {missing}.")
    allowed = (facts.get("code_signing") or {}).get("allowed_publishers") or []
    if profile not in allowed:
        where = (
            "its code-signing config's allowed publishers"
            if allowed
            else ("any code-signing config (none is attached)")
        )
        return fail(f"{fn['name']}'s code was signed by {profile}, which is not in {where}.")
    return ok(f"{fn['name']}'s code was signed by allowed publisher {profile}.")
