"""Execution role checks (from GetAccountAuthorizationDetails, collected once per account,
and the documents of the AWS-managed policies attached to roles, read once per policy)."""

import fnmatch
import re

from collection.checks.base import check, err, fail, name, ok
from collection.policy import as_list, statements

ADMIN_POLICIES = {"AdministratorAccess", "PowerUserAccess", "IAMFullAccess"}
# The AWS-managed administrative policies by ARN, in any partition and under any path.
AWS_ADMIN_POLICY = re.compile(
    r"^arn:aws[a-z-]*:iam::aws:policy/(?:[\w+=,.@-]+/)*(" + "|".join(sorted(ADMIN_POLICIES)) + r")$"
)
READ_PREFIXES = ("get", "list", "describe", "batchget", "query", "scan", "lookup", "head")
# Actions AWS only supports on Resource "*" (VPC networking of Lambda, tracing, metrics).
STAR_ONLY = {
    "ec2:createnetworkinterface",
    "ec2:deletenetworkinterface",
    "ec2:assignprivateipaddresses",
    "ec2:unassignprivateipaddresses",
    "xray:puttracesegments",
    "xray:puttelemetryrecords",
    "cloudwatch:putmetricdata",
}


def _role_missing(facts):
    return err(
        f"{name(facts)}'s execution role {facts['function']['role']} was not found in account "
        f"{facts['account_id']}."
    )


def _allows(role):
    """(policy name, statement) for each Allow statement of the policies the portal could read
    (``_unread`` names the others: a check that reads documents must not pass without them)."""
    for policy in role["inline_policies"] + role["attached_policies"]:
        for st in statements(policy.get("document")):
            if st.get("Effect") == "Allow":
                yield policy["name"], st


def _unread(role) -> list[str]:
    """The role's policies whose document could not be read, each with the reason."""
    return [
        f"{p['name']} ({p.get('arn') or 'inline'}): {p.get('unavailable') or 'not collected.'}"
        for p in role["inline_policies"] + role["attached_policies"]
        if p.get("document") is None
    ]


def _verdict(role, bad: list[str], failed: str, passed: str):
    """``fail`` when a readable policy is at fault (whatever else could not be read), else
    ``error`` when a policy could not be read, else ``pass``."""
    unread = _unread(role)
    if bad:
        also = f" Also unreadable: {'; '.join(unread)}" if unread else ""
        return fail(f"{failed}{also}")
    if unread:
        return err(
            f"Role {role['name']} could not be checked: the document of policy {'; '.join(unread)}"
        )
    return ok(passed)


def _is_admin_policy(policy: dict) -> bool:
    return policy["name"] in ADMIN_POLICIES or bool(AWS_ADMIN_POLICY.match(policy.get("arn", "")))


def _role_check(check_id):
    def wrap(fn):
        def run(facts, ctx):
            if facts.get("role") is None:
                return _role_missing(facts)
            return fn(facts, ctx, facts["role"])

        run.__doc__ = fn.__doc__
        run.__name__ = fn.__name__
        return check(check_id, needs=("iam",))(run)

    return wrap


@_role_check("iam.no_wildcard_actions")
def no_wildcard_actions(facts, ctx, role):
    bad = [
        f"{policy}: {action}"
        for policy, st in _allows(role)
        for action in as_list(st.get("Action"))
        if action == "*" or str(action).endswith(":*")
    ]
    return _verdict(
        role,
        bad,
        f"Role {role['name']} grants wildcard actions ({'; '.join(bad)}).",
        f"Role {role['name']} grants no wildcard actions.",
    )


def _is_write(action: str) -> bool:
    action = action.lower()
    verb = action.split(":", 1)[-1]
    return action not in STAR_ONLY and not verb.startswith(READ_PREFIXES)


@_role_check("iam.no_wildcard_resources")
def no_wildcard_resources(facts, ctx, role):
    bad = [
        f"{policy}: {action}"
        for policy, st in _allows(role)
        if "*" in as_list(st.get("Resource"))
        for action in as_list(st.get("Action"))
        if _is_write(str(action))
    ]
    return _verdict(
        role,
        bad,
        f"Role {role['name']} grants write actions on Resource * ({'; '.join(bad)}).",
        f"Role {role['name']} scopes every write action to named resources.",
    )


@_role_check("iam.no_admin_policies")
def no_admin_policies(facts, ctx, role):
    admin = [p["name"] for p in role["attached_policies"] if _is_admin_policy(p)]
    admin += [
        policy
        for policy, st in _allows(role)
        if "*" in as_list(st.get("Action")) and "*" in as_list(st.get("Resource"))
    ]
    return _verdict(
        role,
        sorted(set(admin)),
        f"Role {role['name']} has administrator access ({', '.join(sorted(set(admin)))}).",
        f"Role {role['name']} has no administrator or power-user policy.",
    )


def _arn_matches(arn: str, pattern: str) -> bool:
    """``pattern`` matches ``arn`` field by field (partition, service, region, account, then
    the resource): a ``*`` in the account never spans into the resource, so
    ``arn:aws:iam::*:policy/app-boundary`` is not met by a policy whose path smuggles in
    ``:policy/`` (IAM paths may hold colons)."""
    got, want = arn.split(":", 5), pattern.split(":", 5)
    return len(got) == len(want) == 6 and all(
        fnmatch.fnmatchcase(g, w) for g, w in zip(got, want, strict=True)
    )


@_role_check("iam.permission_boundary")
def permission_boundary(facts, ctx, role):
    """Pass when the boundary is one of ``ctx.approved_boundary_arns`` (exact ARNs, or patterns
    such as ``arn:aws:iam::*:policy/app-boundary`` for the same policy in every account). With
    none configured, any boundary passes except an AWS administrative policy."""
    boundary = role["permission_boundary_arn"]
    if not boundary:
        return fail(f"Role {role['name']} has no permission boundary.")
    approved = tuple(ctx.approved_boundary_arns)
    if approved:
        if any(_arn_matches(boundary, pattern) for pattern in approved):
            return ok(f"Role {role['name']} has the approved permission boundary {boundary}.")
        return fail(
            f"Role {role['name']} has permission boundary {boundary}, which is not an approved "
            f"boundary ({', '.join(approved)})."
        )
    if AWS_ADMIN_POLICY.match(boundary):
        return fail(
            f"Role {role['name']} has permission boundary {boundary}, an AWS administrative "
            "policy: it does not hold the role to an application's permissions."
        )
    return ok(
        f"Role {role['name']} has permission boundary {boundary} (no approved boundaries are "
        "configured: any boundary that is not an AWS administrative policy passes)."
    )


@_role_check("iam.role_not_shared")
def role_not_shared(facts, ctx, role):
    others = [f for f in role.get("used_by", []) if f != name(facts)]
    if others:
        return fail(f"Role {role['name']} is also used by {', '.join(others[:10])}.")
    return ok(f"Role {role['name']} is used by {name(facts)} only.")


@_role_check("iam.no_passrole_wildcard")
def no_passrole_wildcard(facts, ctx, role):
    bad = [
        policy
        for policy, st in _allows(role)
        if "*" in as_list(st.get("Resource"))
        and any(
            fnmatch.fnmatchcase("iam:passrole", str(a).lower()) for a in as_list(st.get("Action"))
        )
    ]
    return _verdict(
        role,
        bad,
        f"Role {role['name']} may pass any role (iam:PassRole on *: {', '.join(bad)}).",
        f"Role {role['name']} cannot pass arbitrary roles.",
    )


def _trust_principals(role):
    for st in statements(role["trust_policy"]):
        if st.get("Effect") != "Allow":
            continue
        principal = st.get("Principal")
        if principal == "*":
            yield "AWS", "*"
            continue
        for kind, values in (principal or {}).items():
            for value in as_list(values):
                yield kind, value


@_role_check("iam.trust_lambda_only")
def trust_lambda_only(facts, ctx, role):
    others = [f"{k}:{v}" for k, v in _trust_principals(role) if v != "lambda.amazonaws.com"]
    if others:
        return fail(f"Role {role['name']} can also be assumed by {', '.join(others)}.")
    return ok(f"Role {role['name']} trusts only lambda.amazonaws.com.")


@_role_check("iam.no_cross_account_trust")
def no_cross_account_trust(facts, ctx, role):
    own = facts["account_id"]
    foreign = [
        v
        for k, v in _trust_principals(role)
        if k in {"AWS", "Federated"} and (v == "*" or (own not in v and v != own))
    ]
    if foreign:
        return fail(f"Role {role['name']} can be assumed from outside {own}: {', '.join(foreign)}.")
    return ok(f"Role {role['name']} cannot be assumed from another account.")
