"""The custom AWS Config rules' handlers, on Config event fixtures, against moto (in-process)."""

import importlib.util
import io
import json
import sys
import zipfile
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "guardrails" / "config" / "rules"
EVENTS = Path(__file__).parent / "fixtures" / "config-events"
REGION = "eu-west-1"


def load_rule(name):
    """Import a rule module the way Lambda does: its folder on sys.path, by file name."""
    if str(RULES) not in sys.path:
        sys.path.insert(0, str(RULES))
    spec = importlib.util.spec_from_file_location(name, RULES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def config_event(name, **placeholders):
    text = (EVENTS / name).read_text()
    for key, value in placeholders.items():
        text = text.replace(key, value)
    return json.loads(text)


@pytest.fixture
def aws(monkeypatch):
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        yield


def _zip():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return event\n")
    return buffer.getvalue()


def make_function(name, *, env=None, kms_key_arn=None):
    iam = boto3.client("iam")
    try:
        role = iam.get_role(RoleName="fn-role")["Role"]
    except iam.exceptions.NoSuchEntityException:
        role = iam.create_role(
            RoleName="fn-role",
            AssumeRolePolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "lambda.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                }
            ),
        )["Role"]
    spec = {
        "FunctionName": name,
        "Runtime": "python3.13",
        "Role": role["Arn"],
        "Handler": "app.handler",
        "Code": {"ZipFile": _zip()},
    }
    if env is not None:
        spec["Environment"] = {"Variables": env}
    if kms_key_arn:
        spec["KMSKeyArn"] = kms_key_arn
    return boto3.client("lambda").create_function(**spec)


def customer_key(*, enabled=True):
    kms = boto3.client("kms")
    key = kms.create_key(Description="service key")["KeyMetadata"]
    if not enabled:
        kms.disable_key(KeyId=key["KeyId"])
    return key["Arn"]


# --- cmk-backing-lambda-env-vars ----------------------------------------------------------


@pytest.fixture
def cmk_rule():
    return load_rule("cmk_backing_lambda_env_vars")


def test_cmk_rule_compliant_with_customer_managed_key(aws, cmk_rule):
    make_function("payments", env={"TABLE": "payments"}, kms_key_arn=customer_key())
    [result] = cmk_rule.lambda_handler(
        config_event("lambda-change.json", FUNCTION_NAME="payments"), None
    )
    assert result["compliance"] == "COMPLIANT"
    assert result["resource_id"] == "payments"


def test_cmk_rule_non_compliant_with_default_aws_managed_key(aws, cmk_rule):
    make_function("payments", env={"TABLE": "payments"})
    [result] = cmk_rule.lambda_handler(
        config_event("lambda-change.json", FUNCTION_NAME="payments"), None
    )
    assert result["compliance"] == "NON_COMPLIANT"
    assert "aws/lambda" in result["annotation"]


def test_cmk_rule_non_compliant_with_disabled_key(aws, cmk_rule):
    make_function("payments", env={"TABLE": "payments"}, kms_key_arn=customer_key(enabled=False))
    [result] = cmk_rule.lambda_handler(
        config_event("lambda-change.json", FUNCTION_NAME="payments"), None
    )
    assert result["compliance"] == "NON_COMPLIANT"
    assert "Disabled" in result["annotation"]


def test_cmk_rule_non_compliant_with_missing_key(aws, cmk_rule):
    gone = "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-000000000000"
    result = cmk_rule.evaluate_configuration(
        "payments", {"Environment": {"Variables": {"A": "b"}}, "KMSKeyArn": gone}
    )
    assert result.compliance == "NON_COMPLIANT"
    assert "NotFoundException" in result.annotation


def test_cmk_rule_non_compliant_with_aws_managed_key(aws, cmk_rule, monkeypatch):
    """An AWS managed key (KeyManager AWS) in KMSKeyArn is not customer-managed."""
    key = customer_key()
    real_client = boto3.client

    def client(name, *args, **kwargs):
        made = real_client(name, *args, **kwargs)
        if name == "kms":
            describe = made.describe_key

            def as_aws_managed(**kw):
                response = describe(**kw)
                response["KeyMetadata"]["KeyManager"] = "AWS"
                return response

            made.describe_key = as_aws_managed
        return made

    monkeypatch.setattr(boto3, "client", client)
    result = cmk_rule.evaluate_configuration(
        "payments", {"Environment": {"Variables": {"A": "b"}}, "KMSKeyArn": key}
    )
    assert result.compliance == "NON_COMPLIANT"
    assert "not customer-managed" in result.annotation


def test_cmk_rule_not_applicable_without_environment_variables(aws, cmk_rule):
    make_function("no-env")
    [result] = cmk_rule.lambda_handler(
        config_event("lambda-change.json", FUNCTION_NAME="no-env"), None
    )
    assert result["compliance"] == "NOT_APPLICABLE"


def test_cmk_rule_not_applicable_for_deleted_resource(aws, cmk_rule):
    # The function does not exist in the emulator: the rule must not even look it up.
    [result] = cmk_rule.lambda_handler(
        config_event("lambda-deleted.json", FUNCTION_NAME="gone"), None
    )
    assert result["compliance"] == "NOT_APPLICABLE"
    assert "deleted" in result["annotation"]


def test_cmk_rule_not_applicable_when_function_vanished_before_evaluation(aws, cmk_rule):
    [result] = cmk_rule.lambda_handler(
        config_event("lambda-change.json", FUNCTION_NAME="vanished"), None
    )
    assert result["compliance"] == "NOT_APPLICABLE"


def test_cmk_rule_handles_oversized_configuration_items(aws, cmk_rule):
    make_function("big", env={"A": "b"})
    [result] = cmk_rule.lambda_handler(
        config_event("lambda-oversized.json", FUNCTION_NAME="big"), None
    )
    assert result["compliance"] == "NON_COMPLIANT"


def test_cmk_rule_scheduled_run_evaluates_every_function(aws, cmk_rule):
    make_function("good", env={"A": "b"}, kms_key_arn=customer_key())
    make_function("bad", env={"A": "b"})
    make_function("plain")
    results = cmk_rule.lambda_handler(config_event("scheduled.json"), None)
    assert {r["resource_id"]: r["compliance"] for r in results} == {
        "good": "COMPLIANT",
        "bad": "NON_COMPLIANT",
        "plain": "NOT_APPLICABLE",
    }


def test_cmk_rule_never_logs_environment_values(aws, cmk_rule, caplog):
    make_function("payments", env={"DB_PASSWORD": "hunter2-secret"})
    cmk_rule.lambda_handler(config_event("lambda-change.json", FUNCTION_NAME="payments"), None)
    assert "hunter2-secret" not in caplog.text


def test_rule_refuses_to_report_without_result_token(aws, cmk_rule):
    event = config_event("lambda-change.json", FUNCTION_NAME="x")
    event["resultToken"] = ""
    with pytest.raises(Exception, match="ResultToken|result token|InvalidResultToken"):
        cmk_rule.lambda_handler(event, None)


# --- api-gw-waf-associated ---------------------------------------------------------------


@pytest.fixture
def waf_rule():
    return load_rule("api_gw_waf_associated")


def make_stage(*, with_waf):
    apigw = boto3.client("apigateway")
    api = apigw.create_rest_api(name="payments")
    root = apigw.get_resources(restApiId=api["id"])["items"][0]["id"]
    apigw.put_method(
        restApiId=api["id"], resourceId=root, httpMethod="GET", authorizationType="NONE"
    )
    apigw.put_integration(restApiId=api["id"], resourceId=root, httpMethod="GET", type="MOCK")
    apigw.create_deployment(restApiId=api["id"], stageName="prod")
    arn = f"arn:aws:apigateway:{REGION}::/restapis/{api['id']}/stages/prod"
    if with_waf:
        wafv2 = boto3.client("wafv2")
        acl = wafv2.create_web_acl(
            Name="payments",
            Scope="REGIONAL",
            DefaultAction={"Allow": {}},
            VisibilityConfig={
                "SampledRequestsEnabled": True,
                "CloudWatchMetricsEnabled": True,
                "MetricName": "payments",
            },
        )["Summary"]
        wafv2.associate_web_acl(WebACLArn=acl["ARN"], ResourceArn=arn)
    return api["id"], arn


def test_waf_rule_compliant_when_stage_has_web_acl(aws, waf_rule):
    api_id, arn = make_stage(with_waf=True)
    [result] = waf_rule.lambda_handler(config_event("stage-change.json", REST_API_ID=api_id), None)
    assert result["compliance"] == "COMPLIANT"
    assert result["resource_id"] == arn


def test_waf_rule_non_compliant_without_web_acl(aws, waf_rule):
    api_id, _ = make_stage(with_waf=False)
    [result] = waf_rule.lambda_handler(config_event("stage-change.json", REST_API_ID=api_id), None)
    assert result["compliance"] == "NON_COMPLIANT"


def test_waf_rule_not_applicable_for_deleted_stage(aws, waf_rule):
    [result] = waf_rule.lambda_handler(
        config_event("stage-deleted.json", REST_API_ID="gone123"), None
    )
    assert result["compliance"] == "NOT_APPLICABLE"


def test_waf_rule_not_applicable_when_stage_vanished(aws, waf_rule):
    [result] = waf_rule.lambda_handler(
        config_event("stage-change.json", REST_API_ID="vanished1"), None
    )
    assert result["compliance"] == "NOT_APPLICABLE"


def test_waf_rule_ignores_other_resource_types(aws, waf_rule):
    event = config_event("lambda-change.json", FUNCTION_NAME="payments")
    [result] = waf_rule.lambda_handler(event, None)
    assert result["compliance"] == "NOT_APPLICABLE"


def test_waf_rule_scheduled_run_evaluates_every_stage(aws, waf_rule):
    protected, protected_arn = make_stage(with_waf=True)
    exposed, exposed_arn = make_stage(with_waf=False)
    results = waf_rule.lambda_handler(config_event("scheduled.json"), None)
    assert {r["resource_id"]: r["compliance"] for r in results} == {
        protected_arn: "COMPLIANT",
        exposed_arn: "NON_COMPLIANT",
    }
