"""Exposure checks: the function's resource policy, its URL, the API Gateway in front."""

from collection.checks.base import check, fail, na, name, ok
from collection.policy import as_list, statements

BINDING_KEYS = {"aws:sourcearn", "aws:sourceaccount", "aws:principalorgid", "aws:sourceowner"}


def _principals(statement) -> tuple[list[str], list[str]]:
    """(AWS principals, service principals) of a statement; '*' counts as AWS."""
    principal = statement.get("Principal")
    if principal == "*":
        return ["*"], []
    if not isinstance(principal, dict):
        return [], []
    return as_list(principal.get("AWS")), as_list(principal.get("Service"))


def _condition_keys(statement) -> set[str]:
    keys = set()
    for operator in (statement.get("Condition") or {}).values():
        keys |= {k.lower() for k in operator}
    return keys


def _url_auth_types(statement) -> set[str]:
    found = set()
    for operator in (statement.get("Condition") or {}).values():
        for key, value in operator.items():
            if key.lower() == "lambda:functionurlauthtype":
                found |= set(as_list(value))
    return found


@check("lambda.policy_not_public", needs=("policy",))
def policy_not_public(facts, ctx):
    policy = facts.get("policy")
    if not policy:
        return ok(f"{name(facts)} has no resource policy.")
    public = []
    for st in statements(policy):
        aws, _ = _principals(st)
        if st.get("Effect") == "Allow" and "*" in aws and not (_condition_keys(st) & BINDING_KEYS):
            public.append(st.get("Sid") or "(no Sid)")
    if public:
        return fail(
            f"{name(facts)}'s resource policy allows anyone: statement(s) {', '.join(public)}."
        )
    return ok(f"{name(facts)}'s resource policy names no public principal.")


@check("lambda.policy_source_bound", needs=("policy",))
def policy_source_bound(facts, ctx):
    policy = facts.get("policy")
    service_statements = [st for st in statements(policy) if _principals(st)[1]]
    if not service_statements:
        return na(f"{name(facts)}'s resource policy grants no AWS service principal.")
    unbound = [
        f"{st.get('Sid') or '(no Sid)'} ({', '.join(_principals(st)[1])})"
        for st in service_statements
        if not (_condition_keys(st) & BINDING_KEYS)
    ]
    if unbound:
        return fail(
            f"{name(facts)}: service grants without source condition: {'; '.join(unbound)}."
        )
    return ok(f"{name(facts)}: every service principal is bound to a source.")


@check("lambda.function_url_auth", needs=("policy",))
def function_url_auth(facts, ctx):
    # A function URL is only callable through a resource-policy statement carrying
    # lambda:FunctionUrlAuthType, so the policy tells the URL's auth type without a call.
    url_statements = [
        st
        for st in statements(facts.get("policy"))
        if any("invokefunctionurl" in str(a).lower() for a in as_list(st.get("Action")))
    ]
    if not url_statements:
        return na(f"{name(facts)} has no function URL permission.")
    types = set().union(*(_url_auth_types(st) for st in url_statements))
    anonymous = any("*" in _principals(st)[0] and not _url_auth_types(st) for st in url_statements)
    if "NONE" in types or anonymous:
        return fail(f"{name(facts)}'s function URL is callable without authentication (NONE).")
    return ok(f"{name(facts)}'s function URL requires AWS_IAM auth.")


def _stages(facts, ctx):
    stages = facts.get("api_stages") or []
    if not stages:
        if ctx.profile_says("uses_api_gateway", False):
            return None, fail(
                f"The service uses API Gateway, but no REST API stage invokes {name(facts)}."
            )
        return None, na(f"No API Gateway REST API invokes {name(facts)}.")
    return stages, None


def _label(stage) -> str:
    return f"{stage['api_id']}/{stage['stage']}"


@check("apigw.stage_throttling", needs=("policy", "apigw"))
def stage_throttling(facts, ctx):
    stages, skip = _stages(facts, ctx)
    if skip:
        return skip
    bad = [
        _label(s)
        for s in stages
        if s["throttling_rate_limit"] is None or s["throttling_burst_limit"] is None
    ]
    if bad:
        return fail(f"API stage(s) in front of {name(facts)} have no throttling: {', '.join(bad)}.")
    return ok(f"All {len(stages)} API stage(s) in front of {name(facts)} are throttled.")


@check("apigw.waf_associated", needs=("policy", "apigw"))
def waf_associated(facts, ctx):
    stages, skip = _stages(facts, ctx)
    if skip:
        return skip
    bad = [_label(s) for s in stages if not s["web_acl_arn"]]
    if bad:
        return fail(
            f"API stage(s) in front of {name(facts)} have no WAF web ACL: {', '.join(bad)}."
        )
    return ok(f"All API stage(s) in front of {name(facts)} have a WAF web ACL.")


@check("apigw.access_logging", needs=("policy", "apigw"))
def access_logging(facts, ctx):
    stages, skip = _stages(facts, ctx)
    if skip:
        return skip
    bad = [_label(s) for s in stages if not s["access_log_destination"]]
    if bad:
        return fail(
            f"API stage(s) in front of {name(facts)} write no access logs: {', '.join(bad)}."
        )
    return ok(f"All API stage(s) in front of {name(facts)} write access logs.")
