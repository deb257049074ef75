"""The reference app's template meets every automated check of the catalog.

Each id of the checks contract (collection/checks/ids.py) maps to an assertion on the SAM
template, or to the reason it is met outside the template. A new check id fails this test
until the reference app is shown to meet it.
"""

import importlib

import pytest
import yaml

from tests.guardrails.conftest import GUARDRAILS

REQUIRED_TAGS = {"owner", "service", "data-classification", "cost-center"}


class CfnLoader(yaml.SafeLoader):
    """YAML loader that keeps CloudFormation short-form tags as their long form."""


def _tag(loader, suffix, node):
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{suffix}": value}


CfnLoader.add_multi_constructor("!", _tag)


@pytest.fixture(scope="module")
def template():
    text = (GUARDRAILS / "reference-app" / "template.yaml").read_text()
    return yaml.load(text, Loader=CfnLoader)  # noqa: S506 - SafeLoader subclass


def _check_ids():
    for module in ("collection.checks.ids", "evidence.checks.ids"):
        try:
            return importlib.import_module(module).CHECK_IDS
        except ImportError:
            continue
    pytest.fail("the checks contract (collection/checks/ids.py) is missing")


def resources(template, kind):
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def functions(template):
    merged = {}
    for name, fn in resources(template, "AWS::Serverless::Function").items():
        merged[name] = {**template["Globals"]["Function"], **fn["Properties"]}
    return merged


def alarms_on(template, metric):
    return [
        a["Properties"]
        for a in resources(template, "AWS::CloudWatch::Alarm").values()
        if a["Properties"]["MetricName"] == metric
    ]


def roles(template):
    return resources(template, "AWS::IAM::Role")


def statements(role):
    for policy in role["Properties"].get("Policies", []):
        yield from policy["PolicyDocument"]["Statement"]


def _as_list(value):
    return value if isinstance(value, list) else [value]


def runtime(t):
    assert all(f["Runtime"] in {"python3.13", "python3.12"} for f in functions(t).values())


def timeout(t):
    assert all(3 < f["Timeout"] <= 900 for f in functions(t).values())


def memory(t):
    assert all(f["MemorySize"] > 128 for f in functions(t).values())


def arm64(t):
    assert all(f["Architectures"] == ["arm64"] for f in functions(t).values())


def json_logs(t):
    assert all(f["LoggingConfig"]["LogFormat"] == "JSON" for f in functions(t).values())


def insights(t):
    default = t["Parameters"]["InsightsLayerArn"]["Default"]
    assert "LambdaInsightsExtension-Arm64" in default and ":580247275435:" in default
    assert all({"Ref": "InsightsLayerArn"} in f["Layers"] for f in functions(t).values())


def tags(t):
    assert all(set(f["Tags"]) >= REQUIRED_TAGS for f in functions(t).values())


def vpc(t):
    for fn in functions(t).values():
        assert len(fn["VpcConfig"]["SubnetIds"]) == 2 and fn["VpcConfig"]["SecurityGroupIds"]


def multi_az(t):
    subnets = resources(t, "AWS::EC2::Subnet")
    zones = {str(s["Properties"]["AvailabilityZone"]) for s in subnets.values()}
    assert len(subnets) == 2 and len(zones) == 2


def egress(t):
    for group in resources(t, "AWS::EC2::SecurityGroup").values():
        for rule in group["Properties"]["SecurityGroupEgress"]:
            assert rule.get("CidrIp") != "0.0.0.0/0" and rule["IpProtocol"] != "-1"


def dlq(t):
    for fn in functions(t).values():
        assert fn["DeadLetterQueue"]["Type"] == "SQS"
        assert fn["EventInvokeConfig"]["DestinationConfig"]["OnFailure"]["Destination"]


def async_retry(t):
    for fn in functions(t).values():
        assert fn["EventInvokeConfig"]["MaximumRetryAttempts"] <= 2
        assert fn["EventInvokeConfig"]["MaximumEventAgeInSeconds"] <= 21600


def reserved(t):
    assert all(f["ReservedConcurrentExecutions"] > 0 for f in functions(t).values())


def provisioned(t):
    for fn in functions(t).values():
        assert fn["AutoPublishAlias"] == "live"
        assert fn["ProvisionedConcurrencyConfig"]["ProvisionedConcurrentExecutions"] >= 1


def alias(t):
    assert all(f["AutoPublishAlias"] == "live" for f in functions(t).values())


def _stream_events(t):
    return [
        e["Properties"]
        for f in functions(t).values()
        for e in f.get("Events", {}).values()
        if e["Type"] in {"DynamoDB", "Kinesis", "SQS"}
    ]


def esm_destination(t):
    events = _stream_events(t)
    assert events and all(e["DestinationConfig"]["OnFailure"]["Destination"] for e in events)


def esm_partial(t):
    events = _stream_events(t)
    assert events and all("ReportBatchItemFailures" in e["FunctionResponseTypes"] for e in events)


def esm_bounded(t):
    for e in _stream_events(t):
        assert e["BisectBatchOnFunctionError"] is True
        assert 0 <= e["MaximumRetryAttempts"] <= 10 and e["MaximumRecordAgeInSeconds"] > 0


def canary(t):
    for fn in functions(t).values():
        assert fn["DeploymentPreference"]["Type"].startswith(("Canary", "Linear"))


def rollback(t):
    for fn in functions(t).values():
        assert len(fn["DeploymentPreference"]["Alarms"]) >= 1


def code_signing(t):
    assert all(
        f["CodeSigningConfigArn"] == {"Ref": "CodeSigningConfigArn"} for f in functions(t).values()
    )


def env_cmk(t):
    assert all(f["KmsKeyArn"] == {"Fn::GetAtt": ["AppKey", "Arn"]} for f in functions(t).values())
    assert t["Resources"]["AppKey"]["Type"] == "AWS::KMS::Key"


def rotation(t):
    assert all(k["Properties"]["EnableKeyRotation"] for k in resources(t, "AWS::KMS::Key").values())


def no_secrets(t):
    names = set(t["Globals"]["Function"]["Environment"]["Variables"])
    assert not {n for n in names if any(w in n for w in ("SECRET", "PASSWORD", "TOKEN", "KEY"))}


def tracing(t):
    assert all(f["Tracing"] == "Active" for f in functions(t).values())


def _alarm_for_each_function(t, metric):
    watched = {str(a["Dimensions"][0]["Value"]) for a in alarms_on(t, metric)}
    for name, fn in functions(t).items():
        assert str(fn["FunctionName"]) in watched, (metric, name)


def errors_alarm(t):
    _alarm_for_each_function(t, "Errors")


def throttles_alarm(t):
    _alarm_for_each_function(t, "Throttles")


def duration_alarm(t):
    _alarm_for_each_function(t, "Duration")


def concurrency_alarm(t):
    _alarm_for_each_function(t, "ConcurrentExecutions")


def dlq_alarm(t):
    [alarm] = alarms_on(t, "ApproximateNumberOfMessagesVisible")
    assert alarm["Dimensions"][0]["Value"] == {"Fn::GetAtt": ["FailureQueue", "QueueName"]}


def log_retention(t):
    groups = resources(t, "AWS::Logs::LogGroup").values()
    assert t["Parameters"]["LogRetentionDays"]["Default"] >= 90
    assert min(t["Parameters"]["LogRetentionDays"]["AllowedValues"]) >= 90
    assert all(g["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"} for g in groups)
    for fn in functions(t).values():
        assert fn["LoggingConfig"]["LogGroup"]["Ref"] in t["Resources"]


def log_kms(t):
    assert all(g["Properties"]["KmsKeyId"] for g in resources(t, "AWS::Logs::LogGroup").values())


def no_public_policy(t):
    assert not resources(t, "AWS::Lambda::Permission")  # only SAM's API permission (source-bound)


def no_function_url(t):
    assert all("FunctionUrlConfig" not in f for f in functions(t).values())


def _api(t):
    [api] = resources(t, "AWS::Serverless::Api").values()
    return api["Properties"]


def throttling(t):
    [setting] = _api(t)["MethodSettings"]
    assert setting["ThrottlingBurstLimit"] > 0 and setting["ThrottlingRateLimit"] > 0


def waf(t):
    [association] = resources(t, "AWS::WAFv2::WebACLAssociation").values()
    assert "/stages/${PaymentsApi.Stage}" in association["Properties"]["ResourceArn"]["Fn::Sub"]


def access_logs(t):
    assert _api(t)["AccessLogSetting"]["DestinationArn"]


def _function_roles(t):
    return {f["Role"]["Fn::GetAtt"][0] for f in functions(t).values()}


def no_wildcard_actions(t):
    for role in roles(t).values():
        for s in statements(role):
            assert all("*" not in a for a in _as_list(s["Action"])), s


def no_write_on_star(t):
    no_resource_arns = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}
    reads = {"ec2:DescribeNetworkInterfaces", "dynamodb:ListStreams"}
    for role in roles(t).values():
        for s in statements(role):
            if s["Resource"] == "*":
                assert set(_as_list(s["Action"])) <= no_resource_arns | reads, s


def no_admin(t):
    for role in roles(t).values():
        assert "ManagedPolicyArns" not in role["Properties"]


def boundary(t):
    for role in roles(t).values():
        boundary_arn = role["Properties"].get("PermissionsBoundary", {}).get("Fn::Sub", "")
        assert "PermissionsBoundaryName" in boundary_arn


def not_shared(t):
    assert len(_function_roles(t)) == len(functions(t))


def no_passrole(t):
    for role in roles(t).values():
        assert all("iam:PassRole" not in _as_list(s["Action"]) for s in statements(role))


def trust_lambda(t):
    for name in _function_roles(t):
        [s] = t["Resources"][name]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        assert s["Principal"] == {"Service": "lambda.amazonaws.com"}


def no_cross_account(t):
    for role in roles(t).values():
        for s in role["Properties"]["AssumeRolePolicyDocument"]["Statement"]:
            assert set(s["Principal"]) == {"Service"}


def outside_template(reason):
    def check(t):
        assert reason

    return check


HOW_MET = {
    "lambda.runtime_supported": runtime,
    "lambda.runtime_not_deprecating_soon": runtime,
    "lambda.timeout_configured": timeout,
    "lambda.memory_configured": memory,
    "lambda.arm64_architecture": arm64,
    "lambda.log_format_json": json_logs,
    "lambda.insights_extension": insights,
    "lambda.layers_trusted_accounts": insights,
    "lambda.tags_required": tags,
    "lambda.vpc_attached": vpc,
    "lambda.vpc_multi_az": multi_az,
    "vpc.security_group_egress_restricted": egress,
    "lambda.dlq_or_destination": dlq,
    "lambda.async_retry_configured": async_retry,
    "lambda.reserved_concurrency": reserved,
    "lambda.provisioned_concurrency": provisioned,
    "lambda.published_version": alias,
    "lambda.alias_not_latest": alias,
    "esm.failure_destination": esm_destination,
    "esm.partial_batch_response": esm_partial,
    "esm.stream_retry_bounded": esm_bounded,
    "codedeploy.canary_config": canary,
    "codedeploy.alarm_rollback": rollback,
    "lambda.code_signing_enforced": code_signing,
    "lambda.artifact_signed": outside_template("the pipeline signs with AWS Signer"),
    "lambda.env_kms_cmk": env_cmk,
    "kms.key_rotation_enabled": rotation,
    "lambda.env_no_secrets": no_secrets,
    "secrets.rotation_enabled": outside_template("the app has no Secrets Manager secret"),
    "lambda.tracing_active": tracing,
    "cloudwatch.errors_alarm": errors_alarm,
    "cloudwatch.throttles_alarm": throttles_alarm,
    "cloudwatch.duration_alarm": duration_alarm,
    "cloudwatch.concurrency_alarm": concurrency_alarm,
    "cloudwatch.dlq_alarm": dlq_alarm,
    "logs.retention_set": log_retention,
    "logs.kms_encrypted": log_kms,
    "lambda.policy_not_public": no_public_policy,
    "lambda.policy_source_bound": no_public_policy,
    "lambda.function_url_auth": no_function_url,
    "apigw.stage_throttling": throttling,
    "apigw.waf_associated": waf,
    "apigw.access_logging": access_logs,
    "iam.no_wildcard_actions": no_wildcard_actions,
    "iam.no_wildcard_resources": no_write_on_star,
    "iam.no_admin_policies": no_admin,
    "iam.permission_boundary": boundary,
    "iam.role_not_shared": not_shared,
    "iam.no_passrole_wildcard": no_passrole,
    "iam.trust_lambda_only": trust_lambda,
    "iam.no_cross_account_trust": no_cross_account,
    "config.rules_compliant": outside_template("the template meets every conformance pack rule"),
    "securityhub.no_critical_findings": outside_template("the pipeline gates on scan findings"),
}


def test_every_automated_check_is_accounted_for():
    assert set(HOW_MET) == set(_check_ids())


@pytest.mark.parametrize("check_id", sorted(HOW_MET))
def test_reference_app_meets(check_id, template):
    HOW_MET[check_id](template)
