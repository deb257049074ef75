"""Check IAM policies in guardrails/ against the IAM service authorization reference.

Runs in the guardrails venv (scripts/guardrails-venv.sh), offline:

* every action (and every ``service:Prefix*`` pattern) exists in policy_sentry's IAM database;
* every condition key is global or is documented for *every* action of its statement (a key
  that an action does not carry is always absent, so ``Null: true`` would deny every call
  and ``StringEquals`` would never match: either way the statement does not do what it says);
* parliament (the IAM policy linter) reports nothing;
* service control policies fit the 5,120-character limit, deny only, and name no principal.

Policies are read from JSON files and from the IAM resources of CloudFormation/SAM templates
(intrinsic functions are resolved to example values). Prints a JSON report; exits 1 on any
finding. Usage: ``python guardrails/tools/iam_lint.py PATH...`` (files or directories).
"""

from __future__ import annotations

import argparse
import fnmatch
import functools
import json
import re
import sys
from pathlib import Path

SCP_MAX_CHARS = 5120
ACCOUNT = "111122223333"
REGION = "eu-west-1"

# Global condition keys: available in every request context (IAM User Guide, "AWS global
# condition context keys"). aws:RequestTag/, aws:ResourceTag/ and aws:TagKeys are not here on
# purpose: they exist only for actions that document them.
GLOBAL_KEYS = {
    k.lower()
    for k in [
        "aws:CalledVia",
        "aws:CalledViaFirst",
        "aws:CalledViaLast",
        "aws:CurrentTime",
        "aws:EpochTime",
        "aws:FederatedProvider",
        "aws:MultiFactorAuthAge",
        "aws:MultiFactorAuthPresent",
        "aws:PrincipalAccount",
        "aws:PrincipalArn",
        "aws:PrincipalIsAWSService",
        "aws:PrincipalOrgID",
        "aws:PrincipalOrgPaths",
        "aws:PrincipalServiceName",
        "aws:PrincipalServiceNamesList",
        "aws:PrincipalType",
        "aws:Referer",
        "aws:RequestedRegion",
        "aws:ResourceAccount",
        "aws:ResourceOrgID",
        "aws:ResourceOrgPaths",
        "aws:SecureTransport",
        "aws:SourceAccount",
        "aws:SourceArn",
        "aws:SourceIdentity",
        "aws:SourceIp",
        "aws:SourceOrgID",
        "aws:SourceOrgPaths",
        "aws:SourceVpc",
        "aws:SourceVpcArn",
        "aws:SourceVpce",
        "aws:TokenIssueTime",
        "aws:UserAgent",
        "aws:userid",
        "aws:username",
        "aws:ViaAWSService",
        "aws:VpcSourceIp",
        "aws:Ec2InstanceSourceVpc",
        "aws:Ec2InstanceSourcePrivateIPv4",
    ]
}
GLOBAL_PREFIXES = ("aws:principaltag/",)
# Claims AWS accepts as condition keys for a custom OIDC provider (<provider-host>:<claim>).
OIDC_CLAIMS = {"aud", "sub", "azp", "amr", "oaud", "email"}
# parliament findings that are wrong for the policy kind or the value, each with the reason.
# (policy kind, file name or resource, issue, text in the detail, why it is accepted)
ACCEPTED = [
    ("trust", "MALFORMED", "neither Resource", "a role trust policy has no Resource element"),
    (
        "trust",
        "UNKNOWN_FEDERATION_SOURCE",
        "token.actions.githubusercontent.com",
        "parliament knows only a fixed list of IdPs; GitHub's OIDC provider is a custom one",
    ),
    (
        "cicd-deploy-boundary.json",
        "MISMATCHED_TYPE_BUT_USABLE",
        "StringNotEquals",
        "iam:PermissionsBoundary is a String key (service authorization reference); AWS's own "
        "examples compare it with StringEquals",
    ),
    (
        "cicd-deploy-boundary.json",
        "RESOURCE_STAR",
        "",
        "a permission boundary is a ceiling: the role's own policy scopes resources",
    ),
    (
        "application-role-boundary.json",
        "RESOURCE_STAR",
        "",
        "a permission boundary is a ceiling: each execution role's own policy scopes resources",
    ),
    (
        "collector-role.yaml",
        "RESOURCE_STAR",
        "",
        "the collector reads configuration of every function in the account by design; "
        "secret-reading actions are denied explicitly",
    ),
    (
        "CloudFormationExecutionRole",
        "RESOURCE_STAR",
        "",
        "CloudFormation provisions every resource type of an application stack; the CI/CD "
        "boundary is the ceiling and forces the application boundary on the roles it creates",
    ),
    (
        "github-oidc-deploy-role.yaml",
        "INVALID_ARN",
        "Account expected",
        "the SAM transform's ARN has the account field 'aws' (arn:aws:cloudformation:"
        "<region>:aws:transform/Serverless-2016-10-31)",
    ),
]
# Least-privilege examples also get parliament's community auditors (RESOURCE_STAR,
# privilege escalation, credentials exposure...). Boundaries, SCPs and the read-only collector
# are ceilings or account-wide readers by design, so those auditors do not apply to them.
STRICT_FILES = ("lambda-execution-role-example.json", "reference-app/", "custom-rules.yaml")
CONDITION_OPERATOR = re.compile(r"^(ForAllValues:|ForAnyValue:)?[A-Za-z]+?(IfExists)?$")


# --- the IAM database --------------------------------------------------------------------


@functools.cache
def _service_actions(service: str) -> dict[str, dict]:
    """Lower-case action name -> privilege info, for one service prefix ({} if unknown)."""
    from policy_sentry.querying.actions import get_actions_for_service, get_privilege_info

    actions = get_actions_for_service(service.lower())
    result = {}
    for full in actions:
        name = full.split(":", 1)[1]
        result[name.lower()] = {"name": full, **get_privilege_info(service.lower(), name)}
    return result


def expand_action(pattern: str) -> list[str]:
    """The actions a pattern names (``lambda:Get*`` -> every Get action); [] if none."""
    if pattern == "*":
        return ["*"]
    service, _, name = pattern.partition(":")
    known = _service_actions(service)
    return [info["name"] for a, info in known.items() if fnmatch.fnmatchcase(a, name.lower())]


def condition_keys_for(action: str) -> set[str]:
    """Condition keys documented for an action: its own and those of its resource types."""
    service, _, name = action.partition(":")
    info = _service_actions(service).get(name.lower())
    if not info:
        return set()
    keys: set[str] = set()
    for resource_type, row in info.get("resource_types", {}).items():
        keys.update(row.get("condition_keys", []))
        resource = info.get("service_resources", {}).get(resource_type.rstrip("*"), {})
        keys.update(resource.get("condition_keys", []))
    return {k.lower() for k in keys}


def key_supported(key: str, supported: set[str]) -> bool:
    key = key.lower()
    if key in supported:
        return True
    # Templated keys: aws:ResourceTag/${TagKey}, lambda:... /${...}
    return any(s.endswith("}") and key.startswith(s.split("${", 1)[0]) for s in supported)


# --- reading policies ----------------------------------------------------------------------


class Template:
    """Resolves CloudFormation intrinsic functions to example values."""

    def __init__(self, doc: dict):
        self.doc = doc
        self.params = doc.get("Parameters", {}) or {}
        self.resources = doc.get("Resources", {}) or {}

    def _ref(self, name: str) -> str:
        pseudo = {
            "AWS::Partition": "aws",
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT,
            "AWS::StackName": "example-stack",
            "AWS::URLSuffix": "amazonaws.com",
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.params and name.endswith("Arn") and "Default" not in self.params[name]:
            return "arn:aws:iam::444455556666:role/example"
        if name in self.params:
            default = self.params[name].get("Default", f"example-{name.lower()}")
            return ",".join(default) if isinstance(default, list) else str(default)
        if name in self.resources:
            return self._arn(name)
        return f"example-{name.lower()}"

    def _arn(self, name: str, attribute: str = "Arn") -> str:
        kind = self.resources.get(name, {}).get("Type", "")
        n = name.lower()
        arns = {
            "AWS::DynamoDB::Table": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{n}",
            "AWS::SQS::Queue": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{n}",
            "AWS::SNS::Topic": f"arn:aws:sns:{REGION}:{ACCOUNT}:{n}",
            "AWS::KMS::Key": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{n}",
            "AWS::Logs::LogGroup": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{n}:*",
            "AWS::IAM::Role": f"arn:aws:iam::{ACCOUNT}:role/{n}",
            "AWS::IAM::ManagedPolicy": f"arn:aws:iam::{ACCOUNT}:policy/{n}",
            "AWS::Serverless::Function": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{n}",
            "AWS::Lambda::Function": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{n}",
            "AWS::Kinesis::Stream": f"arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/{n}",
            "AWS::EC2::Subnet": f"subnet-0{abs(hash(n)) % 10**16:016x}",
            "AWS::EC2::SecurityGroup": f"sg-0{abs(hash(n)) % 10**16:016x}",
        }
        arn = arns.get(kind, "*")
        if attribute == "StreamArn":
            arn += "/stream/2025-01-01T00-00-00.000"  # real labels have colons parliament misreads
        return arn

    def resolve(self, value):
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((fn, arg),) = value.items()
            if fn == "Ref":
                return self._ref(arg)
            if fn == "Fn::GetAtt":
                name, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
                return self._arn(name, attribute)
            if fn == "Fn::Sub":
                text, variables = (arg, {}) if isinstance(arg, str) else arg
                variables = {k: self.resolve(v) for k, v in variables.items()}

                def substitute(match):
                    token = match.group(1)
                    if token in variables:
                        return str(variables[token])
                    if token.startswith("aws:"):  # an IAM policy variable: keep it
                        return match.group(0)
                    if "." in token:
                        return self._arn(*token.split(".", 1))
                    return self._ref(token)

                return re.sub(r"\$\{([^}!]+)\}", substitute, text)
            if fn == "Fn::Join":
                sep, parts = arg
                return sep.join(str(self.resolve(p)) for p in parts)
            if fn == "Fn::If":
                return self.resolve(arg[1])
            if fn in ("Fn::Select", "Fn::GetAZs", "Fn::ImportValue", "Fn::Split"):
                return "*"
        return {k: self.resolve(v) for k, v in value.items()}

    def policies(self):
        """(where, kind, policy document) for every IAM policy in the template."""
        for name, resource in self.resources.items():
            kind = resource.get("Type", "")
            props = resource.get("Properties", {}) or {}
            if kind == "AWS::IAM::Role":
                yield f"{name}.AssumeRolePolicyDocument", "trust", props["AssumeRolePolicyDocument"]
                for policy in props.get("Policies", []) or []:
                    yield (
                        f"{name}.Policies.{policy['PolicyName']}",
                        "identity",
                        policy["PolicyDocument"],
                    )
            elif kind in ("AWS::IAM::ManagedPolicy", "AWS::IAM::Policy"):
                yield f"{name}.PolicyDocument", "identity", props["PolicyDocument"]


def load_template(path: Path) -> dict:
    from cfnlint.decode import decode

    doc, matches = decode(str(path))
    if matches:
        raise ValueError(f"{path}: cannot parse: {matches}")
    return doc


def policies_in(path: Path):
    """(where, kind, policy dict) for every policy in a file."""
    if path.suffix == ".json":
        doc = json.loads(path.read_text())
        parts = set(path.parts)
        if "scp" in parts:
            kind = "scp"
        elif any("Principal" in s for s in _statements(doc)):
            kind = "trust"
        else:
            kind = "identity"
        yield "", kind, doc
        return
    template = Template(load_template(path))
    for where, kind, document in template.policies():
        yield where, kind, template.resolve(document)


def _statements(doc: dict) -> list[dict]:
    statements = doc.get("Statement", [])
    return statements if isinstance(statements, list) else [statements]


def _as_list(value) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


# --- checks ---------------------------------------------------------------------------------


def check_policy(doc: dict, kind: str) -> list[dict]:
    findings = []

    def finding(sid, issue, detail):
        findings.append({"statement": sid, "issue": issue, "detail": detail})

    for index, statement in enumerate(_statements(doc)):
        sid = statement.get("Sid", f"#{index}")
        actions = _as_list(statement.get("Action")) + _as_list(statement.get("NotAction"))
        expanded: list[str] = []
        for pattern in actions:
            matched = expand_action(pattern)
            if not matched:
                finding(sid, "UNKNOWN_ACTION", f"{pattern} is not in the IAM database")
            expanded.extend(matched)
        principal = statement.get("Principal") or {}
        federated = _as_list(principal.get("Federated")) if isinstance(principal, dict) else []
        applies_to = [] if "NotAction" in statement else expanded
        for operator, block in (statement.get("Condition") or {}).items():
            if not CONDITION_OPERATOR.match(operator):
                finding(sid, "BAD_CONDITION_OPERATOR", operator)
            for key in block:
                _check_key(key, applies_to, federated, statement, sid, finding)
        if kind == "scp":
            if "Principal" in statement or "NotPrincipal" in statement:
                finding(sid, "SCP_PRINCIPAL", "an SCP cannot name a principal")
            if statement.get("Effect") != "Deny":
                finding(sid, "SCP_NOT_DENY", "guardrail SCPs only deny (FullAWSAccess allows)")
    return findings


def _check_key(key, actions, federated, statement, sid, finding):
    lower = key.lower()
    if lower in GLOBAL_KEYS or lower.startswith(GLOBAL_PREFIXES):
        return
    service = lower.split(":", 1)[0]
    if "." in service:  # an identity provider's claim, e.g. token.actions.githubusercontent.com:sub
        claim = lower.split(":", 1)[1]
        providers = [f.split("oidc-provider/", 1)[-1].lower() for f in federated]
        ok_action = {a.lower() for a in actions} <= {"sts:assumerolewithwebidentity"} and actions
        if service not in providers or claim not in OIDC_CLAIMS or not ok_action:
            finding(
                sid,
                "UNKNOWN_CONDITION_KEY",
                f"{key} needs sts:AssumeRoleWithWebIdentity "
                f"from the oidc-provider/{service} principal",
            )
        return
    if not actions:
        finding(
            sid,
            "SERVICE_KEY_WITH_NOTACTION",
            f"{key} cannot be checked against a NotAction statement",
        )
        return
    for action in actions:
        if not key_supported(key, condition_keys_for(action)):
            finding(
                sid,
                "CONDITION_KEY_NOT_FOR_ACTION",
                f"{key} is not a condition key of {action}: it is always absent there",
            )


def parliament_findings(
    doc: dict, kind: str, path: Path, where: str = ""
) -> tuple[list[dict], list[dict]]:
    """(findings, accepted findings) from parliament."""
    from parliament import analyze_policy_string

    strict = kind == "identity" and any(s in str(path) for s in STRICT_FILES)
    policy = analyze_policy_string(json.dumps(doc), include_community_auditors=strict)
    findings, accepted = [], []
    for f in policy.findings:
        item = {
            "statement": (f.location or {}).get("sid") or "",
            "issue": f"parliament:{f.issue}",
            "detail": json.dumps(f.detail, default=str),
        }
        reason = next(
            (
                why
                for scope, issue, text, why in ACCEPTED
                if scope in (kind, path.name, where.split(".")[0])
                and issue == f.issue
                and text in item["detail"]
            ),
            None,
        )
        if reason:
            accepted.append({**item, "reason": reason})
        else:
            findings.append(item)
    return findings, accepted


def check_file(path: Path) -> tuple[list[dict], list[dict], int]:
    findings, accepted = [], []
    count = 0
    if path.suffix == ".json" and "scp" in path.parts:
        raw = path.read_text()
        minified = json.dumps(json.loads(raw), separators=(",", ":"))
        if len(raw) > SCP_MAX_CHARS or len(minified) > SCP_MAX_CHARS:
            findings.append(
                {
                    "where": "",
                    "statement": "",
                    "issue": "SCP_TOO_LARGE",
                    "detail": f"{len(raw)} characters (minified {len(minified)}), "
                    f"limit {SCP_MAX_CHARS}",
                }
            )
    for where, kind, doc in policies_in(path):
        count += 1
        problems, fine = parliament_findings(doc, kind, path, where)
        findings += [{"where": where, **f} for f in check_policy(doc, kind) + problems]
        accepted += [{"file": str(path), "where": where, **f} for f in fine]
    return [{"file": str(path), **f} for f in findings], accepted, count


def collect(paths: list[str]) -> list[Path]:
    files = []
    for p in map(Path, paths):
        if p.is_dir():
            files += sorted(q for q in p.rglob("*") if q.suffix in (".json", ".yaml", ".yml"))
        else:
            files.append(p)
    return files


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("paths", nargs="+")
    args = parser.parse_args(argv)
    report = {"files": [], "policies": 0, "findings": [], "accepted": []}
    for path in collect(args.paths):
        findings, accepted, count = check_file(path)
        report["files"].append(str(path))
        report["policies"] += count
        report["findings"] += findings
        report["accepted"] += accepted
    json.dump(report, sys.stdout, indent=2)
    print()
    return 1 if report["findings"] else 0


if __name__ == "__main__":
    sys.exit(main())
