"""Small functions that call AWS and return plain data (dicts, lists, sets).

Region-wide (bulk) calls come first: one listing serves every function. Per-function calls
are only those AWS offers nothing in bulk for. Nothing here evaluates a check.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import yaml
from botocore.exceptions import BotoCoreError, ClientError

from collection.aws import clients
from collection.aws.errors import describe, error_code, is_missing  # noqa: F401
from collection.policy import as_doc, live_alias, unqualified

AWS_ERRORS = (ClientError, BotoCoreError)


@dataclass
class RegionContext:
    account_id: str
    region: str
    role_arn: str
    credentials: clients.Credentials

    def client(self, service: str):
        return clients.client(
            service, region=self.region, account_id=self.account_id, credentials=self.credentials
        )

    def lambda_reads(self):
        """The per-function Lambda reads (lean when allowed, see collection/aws/lean.py),
        chosen once per context: it is asked for once per function."""
        reads = self.__dict__.get("_reads")
        if reads is None:
            reads = self.__dict__["_reads"] = clients.lambda_reads(
                region=self.region, account_id=self.account_id, credentials=self.credentials
            )
        return reads

    def explain(self, exc: BaseException) -> str:
        return describe(exc, role_arn=self.role_arn, region=self.region)


def connect(*, account_id: str, region: str, role_arn: str, external_id: str, session_name: str):
    creds = clients.assume_role(
        role_arn=role_arn, external_id=external_id, session_name=session_name, region=region
    )
    return RegionContext(account_id, region, role_arn, creds)


def _pages(client, operation: str, key: str, page_size: int | None = None, **kwargs) -> list:
    out: list = []
    if client.can_paginate(operation):
        config = {"PageSize": page_size} if page_size else {}
        for page in client.get_paginator(operation).paginate(**kwargs, PaginationConfig=config):
            out.extend(page.get(key, []))
        return out
    return list(getattr(client, operation)(**kwargs).get(key, []))


def _marker_pages(client, operation: str, key: str, **kwargs) -> list:
    """A Lambda listing (Marker / NextMarker, at most 50 items a page), paged by hand: the
    lean reads have no paginators, and per-function listings are nearly always one page, where
    a botocore paginator costs more CPU than the call (it runs thousands of times a run)."""
    call = getattr(client, operation)
    out: list = []
    request = {**kwargs, "MaxItems": 50}
    while True:
        page = call(**request)
        out.extend(page.get(key, []))
        marker = page.get("NextMarker")
        if not marker or marker == request.get("Marker"):
            return out
        request["Marker"] = marker


# --- Lambda (bulk) ---------------------------------------------------------------------------


def list_functions(ctx: RegionContext) -> list[dict]:
    """Every function's $LATEST configuration (environment values already redacted)."""
    return _marker_pages(ctx.lambda_reads(), "list_functions", "Functions")


def tagged_function_arns(ctx: RegionContext, tags: dict[str, str]) -> set[str]:
    filters = [{"Key": k, "Values": [v]} for k, v in tags.items()]
    items = _pages(
        ctx.client("resourcegroupstaggingapi"),
        "get_resources",
        "ResourceTagMappingList",
        None,
        TagFilters=filters,
        ResourceTypeFilters=["lambda:function"],
    )
    return {unqualified(item["ResourceARN"]) for item in items}


def stack_function_names(ctx: RegionContext, stack: str) -> set[str]:
    items = _pages(
        ctx.client("cloudformation"),
        "list_stack_resources",
        "StackResourceSummaries",
        None,
        StackName=stack,
    )
    return {
        i["PhysicalResourceId"] for i in items if i.get("ResourceType") == "AWS::Lambda::Function"
    }


def code_signing_by_function(ctx: RegionContext) -> dict[str, dict]:
    """Function ARN -> its code-signing config, from two listings instead of one call each."""
    lam = ctx.client("lambda")
    out: dict[str, dict] = {}
    for csc in _pages(lam, "list_code_signing_configs", "CodeSigningConfigs", 50):
        summary = {
            "arn": csc["CodeSigningConfigArn"],
            "untrusted_artifact_on_deployment": csc.get("CodeSigningPolicies", {}).get(
                "UntrustedArtifactOnDeployment", "Warn"
            ),
            "allowed_publishers": csc.get("AllowedPublishers", {}).get(
                "SigningProfileVersionArns", []
            ),
        }
        arns = _pages(
            lam,
            "list_functions_by_code_signing_config",
            "FunctionArns",
            50,
            CodeSigningConfigArn=csc["CodeSigningConfigArn"],
        )
        for arn in arns:
            out[unqualified(arn)] = summary
    return out


def event_source_mappings(ctx: RegionContext) -> dict[str, list[dict]]:
    """Unqualified function ARN -> its event source mappings (one account-wide listing)."""
    out: dict[str, list[dict]] = {}
    for m in _pages(ctx.client("lambda"), "list_event_source_mappings", "EventSourceMappings", 100):
        dest = (m.get("DestinationConfig") or {}).get("OnFailure") or {}
        out.setdefault(unqualified(m.get("FunctionArn", "")), []).append(
            {
                "uuid": m.get("UUID", ""),
                "event_source_arn": m.get("EventSourceArn", ""),
                "state": m.get("State", ""),
                "on_failure_destination": dest.get("Destination", ""),
                "function_response_types": m.get("FunctionResponseTypes", []),
                "maximum_retry_attempts": m.get("MaximumRetryAttempts"),
                "maximum_record_age": m.get("MaximumRecordAgeInSeconds"),
                "bisect_on_error": m.get("BisectBatchOnFunctionError"),
                "starting_position": m.get("StartingPosition", ""),
            }
        )
    return out


# --- CloudWatch and logs -------------------------------------------------------------------


def metric_alarms(ctx: RegionContext) -> list[dict]:
    """Alarms on Lambda function metrics and on SQS queue depth, summarized."""
    out = []
    for a in _pages(
        ctx.client("cloudwatch"), "describe_alarms", "MetricAlarms", 100, AlarmTypes=["MetricAlarm"]
    ):
        namespace = a.get("Namespace", "")
        if namespace not in {"AWS/Lambda", "AWS/SQS"}:
            continue
        out.append(
            {
                "name": a["AlarmName"],
                "namespace": namespace,
                "metric": a.get("MetricName", ""),
                "dimensions": {d["Name"]: d["Value"] for d in a.get("Dimensions", [])},
                "actions_enabled": bool(a.get("ActionsEnabled", True)),
                "has_actions": bool(a.get("AlarmActions")),
            }
        )
    return out


def log_groups(ctx: RegionContext, prefix: str, extra_names: set[str]) -> dict[str, dict]:
    """Log groups by name: one listing by prefix, plus any custom group outside it."""
    logs = ctx.client("logs")

    def fetch(name_prefix: str) -> list[dict]:
        return _pages(logs, "describe_log_groups", "logGroups", 50, logGroupNamePrefix=name_prefix)

    found = {g["logGroupName"]: g for g in fetch(f"/aws/lambda/{prefix}")}
    for name in sorted(extra_names - set(found)):
        found.update({g["logGroupName"]: g for g in fetch(name) if g["logGroupName"] == name})
    return {
        name: {
            "name": name,
            "retention_days": g.get("retentionInDays"),
            "kms_key_id": g.get("kmsKeyId", ""),
        }
        for name, g in found.items()
    }


# --- IAM, KMS, EC2 ---------------------------------------------------------------------------


# An AWS-managed policy's ARN, in any partition (aws, aws-cn, aws-us-gov).
AWS_MANAGED_POLICY = re.compile(r"^arn:aws[a-z-]*:iam::aws:policy/")


def iam_roles(ctx: RegionContext) -> dict[str, dict]:
    """Every role with its policies: GetAccountAuthorizationDetails (once per account) for the
    roles and the account's own policies, then the document of each distinct AWS-managed policy
    attached to a role (``aws_managed_documents``). GAAD's own AWSManagedPolicy filter is not
    used: it lists every AWS-managed policy there is, megabytes, to read a handful.

    An attached policy whose document could not be read keeps ``document`` None and says why
    in ``unavailable``: the checks that read documents are then ``error``, never ``pass``."""
    iam = ctx.client("iam")
    roles: list = []
    policies: list = []
    kwargs = {"Filter": ["Role", "LocalManagedPolicy"], "MaxItems": 1000}
    while True:
        page = iam.get_account_authorization_details(**kwargs)
        roles.extend(page.get("RoleDetailList", []))
        policies.extend(page.get("Policies", []))
        if not page.get("IsTruncated"):
            break
        kwargs["Marker"] = page["Marker"]
    documents = {}
    for p in policies:
        default = next((v for v in p.get("PolicyVersionList", []) if v.get("IsDefaultVersion")), {})
        documents[p["Arn"]] = as_doc(default.get("Document"))
    aws_arns = {
        p["PolicyArn"]
        for r in roles
        for p in r.get("AttachedManagedPolicies", [])
        if AWS_MANAGED_POLICY.match(p["PolicyArn"])
    }
    aws_documents, aws_failed = aws_managed_documents(ctx, aws_arns)
    documents.update(aws_documents)
    out = {}
    for r in roles:
        out[r["Arn"]] = {
            "arn": r["Arn"],
            "name": r["RoleName"],
            "trust_policy": as_doc(r.get("AssumeRolePolicyDocument")),
            "permission_boundary_arn": (r.get("PermissionsBoundary") or {}).get(
                "PermissionsBoundaryArn", ""
            ),
            "inline_policies": [
                {"name": p["PolicyName"], "document": as_doc(p.get("PolicyDocument"))}
                for p in r.get("RolePolicyList", [])
            ],
            "attached_policies": [
                _attached(p["PolicyName"], p["PolicyArn"], documents, aws_failed)
                for p in r.get("AttachedManagedPolicies", [])
            ],
        }
    return out


def _attached(name: str, arn: str, documents: dict, failed: dict) -> dict:
    policy = {
        "name": name,
        "arn": arn,
        "aws_managed": bool(AWS_MANAGED_POLICY.match(arn)),
        "document": documents.get(arn),
    }
    if policy["document"] is None:
        policy["unavailable"] = failed.get(arn) or "IAM did not return its document."
    return policy


def aws_managed_documents(ctx: RegionContext, arns: set[str]) -> tuple[dict, dict[str, str]]:
    """The default version's document of each AWS-managed policy in ``arns``: IAM GetPolicy
    (for DefaultVersionId) then GetPolicyVersion, once per distinct ARN, through the recorded
    IAM client. Returns (ARN -> document, ARN -> why it could not be read)."""
    iam = ctx.client("iam")
    documents: dict[str, dict] = {}
    failed: dict[str, str] = {}
    for arn in sorted(arns):
        try:
            version = (iam.get_policy(PolicyArn=arn).get("Policy") or {}).get("DefaultVersionId")
            if not version:
                failed[arn] = f"IAM GetPolicy gave no default version for {arn}."
                continue
            answer = iam.get_policy_version(PolicyArn=arn, VersionId=version)
        except AWS_ERRORS as exc:
            failed[arn] = ctx.explain(exc)
            continue
        document = (answer.get("PolicyVersion") or {}).get("Document")
        if document is None:
            failed[arn] = f"IAM GetPolicyVersion gave no document for {arn} ({version})."
            continue
        documents[arn] = as_doc(document)
    return documents, failed


def kms_keys(ctx: RegionContext, key_ids: set[str]) -> tuple[dict[str, dict], dict[str, str]]:
    """DescribeKey once per distinct key (and rotation status of customer-managed ones)."""
    kms = ctx.client("kms")
    out: dict[str, dict] = {}
    failed: dict[str, str] = {}
    for key_id in sorted(key_ids):
        try:
            meta = kms.describe_key(KeyId=key_id)["KeyMetadata"]
            info = {
                "arn": meta["Arn"],
                "manager": meta.get("KeyManager", ""),
                "state": meta.get("KeyState", ""),
                "rotation_enabled": None,
            }
            if info["manager"] == "CUSTOMER" and meta.get("KeySpec", "SYMMETRIC_DEFAULT") == (
                "SYMMETRIC_DEFAULT"
            ):
                info["rotation_enabled"] = bool(
                    kms.get_key_rotation_status(KeyId=meta["Arn"]).get("KeyRotationEnabled")
                )
            out[key_id] = info
        except AWS_ERRORS as exc:
            failed[key_id] = ctx.explain(exc)
    return out, failed


def _chunks(items: list, size: int):
    for i in range(0, len(items), size):
        yield items[i : i + size]


def subnets(ctx: RegionContext, subnet_ids: set[str]) -> dict[str, dict]:
    ec2 = ctx.client("ec2")
    out = {}
    for chunk in _chunks(sorted(subnet_ids), 200):
        for s in _pages(
            ec2,
            "describe_subnets",
            "Subnets",
            None,
            Filters=[{"Name": "subnet-id", "Values": chunk}],
        ):
            out[s["SubnetId"]] = {"id": s["SubnetId"], "az": s.get("AvailabilityZone", "")}
    return out


def security_groups(ctx: RegionContext, group_ids: set[str]) -> dict[str, dict]:
    ec2 = ctx.client("ec2")
    out = {}
    for chunk in _chunks(sorted(group_ids), 200):
        for g in _pages(
            ec2,
            "describe_security_groups",
            "SecurityGroups",
            None,
            Filters=[{"Name": "group-id", "Values": chunk}],
        ):
            egress = []
            for perm in g.get("IpPermissionsEgress", []):
                egress.append(
                    {
                        "protocol": perm.get("IpProtocol", ""),
                        "from_port": perm.get("FromPort"),
                        "to_port": perm.get("ToPort"),
                        "cidrs": [r["CidrIp"] for r in perm.get("IpRanges", [])]
                        + [r["CidrIpv6"] for r in perm.get("Ipv6Ranges", [])],
                    }
                )
            out[g["GroupId"]] = {
                "id": g["GroupId"],
                "name": g.get("GroupName", ""),
                "egress": egress,
            }
    return out


# --- CodeDeploy, API Gateway, Secrets Manager, Config, Security Hub ---------------------------

_BUILTIN_CONFIG = re.compile(r"^CodeDeployDefault\.Lambda(Canary|Linear|AllAtOnce)")


def codedeploy_groups(
    ctx: RegionContext, app_prefix: str, function_names: set[str] | None = None
) -> dict[str, dict]:
    """Function name -> the Lambda deployment group that deploys it (batch calls).

    A group is matched to the functions named in the AppSpec of its last deployment (how
    CodeDeploy knows which function it shifts traffic on: SAM and CDK name groups
    ``<stack>-<Function>DeploymentGroup-<suffix>``, not after the function); a group that has
    never deployed is matched by name (group name = function name). Applications whose name
    starts with ``app_prefix`` are read first; when some of ``function_names`` is still
    unmatched, the account's other applications are read too, so a prefix that does not fit
    the application names costs calls, never a false "no deployment group"."""
    cd = ctx.client("codedeploy")
    names = _pages(cd, "list_applications", "applications", None)
    first = [n for n in names if n.startswith(app_prefix)] if app_prefix else names
    groups = _lambda_groups(cd, first)
    out = _by_function(cd, groups)
    read = set(first)
    rest = [n for n in names if n not in read]
    if rest and function_names and not function_names <= out.keys():
        more = _lambda_groups(cd, rest)
        for fn, group in _by_function(cd, more).items():
            out.setdefault(fn, group)
    return out


def _lambda_groups(cd, app_names: list[str]) -> list[dict]:
    """Every deployment group of the Lambda applications among ``app_names``."""
    apps = []
    for chunk in _chunks(app_names, 100):
        apps += cd.batch_get_applications(applicationNames=chunk).get("applicationsInfo", [])
    groups: list[dict] = []
    custom_configs: set[str] = set()
    for app in apps:
        if app.get("computePlatform") != "Lambda":
            continue
        group_names = _pages(
            cd,
            "list_deployment_groups",
            "deploymentGroups",
            None,
            applicationName=app["applicationName"],
        )
        for chunk in _chunks(group_names, 100):
            infos = cd.batch_get_deployment_groups(
                applicationName=app["applicationName"], deploymentGroupNames=chunk
            ).get("deploymentGroupsInfo", [])
            for g in infos:
                config_name = g.get("deploymentConfigName", "")
                rollback = g.get("autoRollbackConfiguration") or {}
                alarms = g.get("alarmConfiguration") or {}
                last = g.get("lastSuccessfulDeployment") or g.get("lastAttemptedDeployment") or {}
                groups.append(
                    {
                        "application": app["applicationName"],
                        "name": g["deploymentGroupName"],
                        "deployment_config": config_name,
                        "traffic_routing": _builtin_routing(config_name),
                        "auto_rollback_enabled": bool(rollback.get("enabled")),
                        "auto_rollback_events": rollback.get("events", []),
                        "alarms_enabled": bool(alarms.get("enabled")),
                        "alarms": [a["name"] for a in alarms.get("alarms", [])],
                        "last_deployment": last.get("deploymentId", ""),
                    }
                )
                if groups[-1]["traffic_routing"] is None:
                    custom_configs.add(config_name)
    routing = {}
    for name in sorted(c for c in custom_configs if c):
        info = cd.get_deployment_config(deploymentConfigName=name).get("deploymentConfigInfo", {})
        routing[name] = (info.get("trafficRoutingConfig") or {}).get("type", "AllAtOnce")
    for g in groups:
        if g["traffic_routing"] is None:
            g["traffic_routing"] = routing.get(g["deployment_config"], "AllAtOnce")
    return groups


def _by_function(cd, groups: list[dict]) -> dict[str, dict]:
    """Function name -> group: by the AppSpec of each group's last deployment
    (BatchGetDeployments, 25 a call), else by the group's own name."""
    ids = sorted({g["last_deployment"] for g in groups if g["last_deployment"]})
    targets: dict[str, list[str]] = {}
    for chunk in _chunks(ids, 25):
        for d in cd.batch_get_deployments(deploymentIds=chunk).get("deploymentsInfo", []):
            targets[d.get("deploymentId", "")] = appspec_functions(d.get("revision") or {})
    out: dict[str, dict] = {}
    by_name: dict[str, dict] = {}
    for g in groups:
        functions = targets.get(g["last_deployment"]) or []
        for fn in functions:
            out.setdefault(fn, {**g, "matched_by": "last deployment"})
        if not functions:
            by_name.setdefault(g["name"], {**g, "matched_by": "name"})
    for fn, group in by_name.items():
        out.setdefault(fn, group)
    return out


def appspec_functions(revision: dict) -> list[str]:
    """Names of the Lambda functions an AppSpec revision deploys (JSON or YAML content; a
    revision stored in S3 is not read and gives none)."""
    content = (revision.get("appSpecContent") or revision.get("string") or {}).get("content")
    if not content:
        return []
    try:
        # BaseLoader keeps every value a string (YAML 1.1 would read `Name: 0123` as 83 and
        # `yes` as True); JSON is YAML too.
        spec = yaml.load(content, Loader=yaml.BaseLoader)  # noqa: S506 - builds plain data only
    except yaml.YAMLError:
        return []
    resources = spec.get("Resources") if isinstance(spec, dict) else None
    names = []
    for resource in resources if isinstance(resources, list) else []:
        for body in resource.values() if isinstance(resource, dict) else []:
            if not isinstance(body, dict) or body.get("Type") != "AWS::Lambda::Function":
                continue
            properties = body.get("Properties")
            name = properties.get("Name") if isinstance(properties, dict) else None
            name = name if isinstance(name, str) else ""
            if ":function:" in name:  # an ARN, possibly qualified
                name = name.split(":function:", 1)[1].split(":", 1)[0]
            if name:
                names.append(name)
    return names


def _builtin_routing(config_name: str) -> str | None:
    match = _BUILTIN_CONFIG.match(config_name or "")
    if not match:
        return None
    return {"Canary": "TimeBasedCanary", "Linear": "TimeBasedLinear"}.get(
        match.group(1), "AllAtOnce"
    )


def api_stages(ctx: RegionContext, api_id: str) -> list[dict]:
    """GetStages of one REST API: throttling, WAF web ACL and access logging per stage."""
    stages = ctx.client("apigateway").get_stages(restApiId=api_id).get("item", [])
    out = []
    for s in stages:
        settings = (s.get("methodSettings") or {}).get("*/*", {})
        out.append(
            {
                "api_id": api_id,
                "stage": s.get("stageName", ""),
                "throttling_rate_limit": settings.get("throttlingRateLimit"),
                "throttling_burst_limit": settings.get("throttlingBurstLimit"),
                "web_acl_arn": s.get("webAclArn", ""),
                "access_log_destination": (s.get("accessLogSettings") or {}).get(
                    "destinationArn", ""
                ),
            }
        )
    return out


_RATE = re.compile(r"^rate\((\d+) (day|days|hour|hours)\)$")


def _rotation_days(rules: dict) -> float | None:
    """The rotation period in days (AutomaticallyAfterDays or a ``rate()`` schedule), or None
    for a ``cron()`` schedule, whose period this does not work out."""
    if rules.get("AutomaticallyAfterDays"):
        return float(rules["AutomaticallyAfterDays"])
    match = _RATE.match((rules.get("ScheduleExpression") or "").strip())
    if not match:
        return None
    amount = int(match.group(1))
    return float(amount) if match.group(2).startswith("day") else amount / 24


def secrets(ctx: RegionContext) -> list[dict]:
    """Every secret's rotation settings (ListSecrets carries them: no call per secret)."""
    out = []
    for s in _pages(ctx.client("secretsmanager"), "list_secrets", "SecretList", 100):
        last = s.get("LastRotatedDate")
        out.append(
            {
                "arn": s["ARN"],
                "name": s.get("Name", ""),
                "rotation_enabled": bool(s.get("RotationEnabled")),
                "rotation_days": _rotation_days(s.get("RotationRules") or {}),
                "last_rotated": last.date().isoformat() if last else "",
            }
        )
    return out


def config_compliance(ctx: RegionContext) -> dict[str, str]:
    """Function name -> AWS Config compliance (COMPLIANT, NON_COMPLIANT, ...)."""
    items = _pages(
        ctx.client("config"),
        "describe_compliance_by_resource",
        "ComplianceByResources",
        100,
        ResourceType="AWS::Lambda::Function",
    )
    return {
        i["ResourceId"]: (i.get("Compliance") or {}).get("ComplianceType", "INSUFFICIENT_DATA")
        for i in items
    }


def security_hub_findings(ctx: RegionContext) -> dict[str, list[dict]]:
    """Unqualified function ARN -> active CRITICAL/HIGH findings."""
    filters = {
        "ResourceType": [{"Value": "AwsLambdaFunction", "Comparison": "EQUALS"}],
        "SeverityLabel": [
            {"Value": "CRITICAL", "Comparison": "EQUALS"},
            {"Value": "HIGH", "Comparison": "EQUALS"},
        ],
        "RecordState": [{"Value": "ACTIVE", "Comparison": "EQUALS"}],
        "WorkflowStatus": [
            {"Value": "NEW", "Comparison": "EQUALS"},
            {"Value": "NOTIFIED", "Comparison": "EQUALS"},
        ],
    }
    out: dict[str, list[dict]] = {}
    for f in _pages(ctx.client("securityhub"), "get_findings", "Findings", 100, Filters=filters):
        severity = (f.get("Severity") or {}).get("Label", "")
        if severity not in {"CRITICAL", "HIGH"} or f.get("RecordState", "ACTIVE") != "ACTIVE":
            continue
        for r in f.get("Resources", []):
            if r.get("Type") == "AwsLambdaFunction":
                out.setdefault(unqualified(r.get("Id", "")), []).append(
                    {"id": f.get("Id", ""), "title": f.get("Title", ""), "severity": severity}
                )
    return out


# --- Per function (only what AWS offers nothing in bulk for) -------------------------------


def _call(ctx, unavailable, family, fn, *, missing=None, **kwargs):
    try:
        return fn(**kwargs)
    except AWS_ERRORS as exc:
        if is_missing(exc):
            return missing
        unavailable[family] = ctx.explain(exc)
        return missing


def function_details(ctx: RegionContext, name: str, *, reuse: dict | None = None) -> dict:
    """GetFunction (concurrency, tags), ListAliases, provisioned concurrency (only when an
    alias exists), the async invoke config and the resource policy (unless ``reuse`` holds
    a still-valid copy). Returns plain data plus ``unavailable`` family -> plain words."""
    lam = ctx.lambda_reads()
    unavailable: dict[str, str] = {}
    got = _call(ctx, unavailable, "get_function", lam.get_function, FunctionName=name) or {}
    aliases = _call(
        ctx,
        unavailable,
        "aliases",
        lambda **kw: _marker_pages(lam, "list_aliases", "Aliases", **kw),
        missing=[],
        FunctionName=name,
    )
    provisioned: list = []
    if aliases:
        provisioned = _call(
            ctx,
            unavailable,
            "provisioned_concurrency",
            lambda **kw: _marker_pages(
                lam, "list_provisioned_concurrency_configs", "ProvisionedConcurrencyConfigs", **kw
            ),
            missing=[],
            FunctionName=name,
        )
    invoke_configs = _call(
        ctx,
        unavailable,
        "invoke_config",
        lambda **kw: _marker_pages(
            lam, "list_function_event_invoke_configs", "FunctionEventInvokeConfigs", **kw
        ),
        missing=[],
        FunctionName=name,
    )
    if reuse is not None and "policy" in reuse:
        policy = reuse["policy"]
    else:
        answer = _call(ctx, unavailable, "policy", lam.get_policy, FunctionName=name)
        policy = as_doc(answer.get("Policy")) if answer else None
    alias_facts = [
        {
            "name": a["Name"],
            "version": a.get("FunctionVersion", ""),
            "routing": (a.get("RoutingConfig") or {}).get("AdditionalVersionWeights", {}),
        }
        for a in aliases or []
    ]
    return {
        "reserved_concurrency": (got.get("Concurrency") or {}).get("ReservedConcurrentExecutions"),
        "tags": got.get("Tags", {}) if got else None,
        "aliases": alias_facts,
        "provisioned_concurrency": [
            {
                "qualifier": p.get("FunctionArn", "").rsplit(":", 1)[-1],
                "requested": p.get("RequestedProvisionedConcurrentExecutions"),
                "allocated": p.get("AllocatedProvisionedConcurrentExecutions"),
                "status": p.get("Status", ""),
            }
            for p in provisioned or []
        ],
        "invoke_config": _invoke_config(*_applicable_invoke_config(invoke_configs, alias_facts)),
        "policy": policy,
        "unavailable": unavailable,
    }


def _applicable_invoke_config(configs: list | None, aliases: list[dict]) -> tuple:
    """The async invoke config that applies, and its qualifier: the live alias's
    (``policy.live_alias``, the one the release checks judge) when the function has aliases
    (fact-shaped), else the unqualified function's. A config applies to its own qualifier only, so
    an alias without one has none, whatever its version or the function has (no false pass).
    ListFunctionEventInvokeConfigs returns every qualifier's config in the call
    GetFunctionEventInvokeConfig spends on the unqualified one (SAM puts ``EventInvokeConfig``
    on the alias when ``AutoPublishAlias`` is set)."""
    by_qualifier = {}
    for config in configs or []:
        tail = config.get("FunctionArn", "").split(":function:", 1)[-1]
        by_qualifier[tail.split(":", 1)[1] if ":" in tail else "$LATEST"] = config
    live = live_alias(aliases)
    qualifier = live["name"] if live else "$LATEST"
    if qualifier in by_qualifier:
        return by_qualifier[qualifier], qualifier
    return None, qualifier


def _invoke_config(raw: dict | None, qualifier: str = "") -> dict | None:
    if not raw:
        return None
    dest = raw.get("DestinationConfig") or {}
    return {
        "qualifier": qualifier,
        "maximum_retry_attempts": raw.get("MaximumRetryAttempts"),
        "maximum_event_age_seconds": raw.get("MaximumEventAgeInSeconds"),
        "on_failure_destination": (dest.get("OnFailure") or {}).get("Destination", ""),
        "on_success_destination": (dest.get("OnSuccess") or {}).get("Destination", ""),
    }
