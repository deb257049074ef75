"""Compliance feeds: AWS Config and Security Hub."""

from collection.checks.base import check, fail, na, name, ok


@check("config.rules_compliant", needs=("config",))
def rules_compliant(facts, ctx):
    compliance = facts.get("config_compliance")
    if compliance in (None, "INSUFFICIENT_DATA", "NOT_APPLICABLE"):
        return na(f"AWS Config has no rule evaluation for {name(facts)}.")
    if compliance == "COMPLIANT":
        return ok(f"AWS Config rules report {name(facts)} COMPLIANT.")
    return fail(f"AWS Config rules report {name(facts)} {compliance}.")


@check("securityhub.no_critical_findings", needs=("securityhub",))
def no_critical_findings(facts, ctx):
    findings = facts.get("security_hub_findings") or []
    if findings:
        titles = "; ".join(f"{f['severity']}: {f['title']}" for f in findings[:5])
        return fail(f"{name(facts)} has {len(findings)} active finding(s) ({titles}).")
    return ok(f"Security Hub has no active CRITICAL/HIGH finding for {name(facts)}.")
