"""Collection paths moto cannot emulate, with botocore Stubber answers.

What is checked against botocore's service model, and how:
* every stubbed answer: ``Stubber.add_response`` validates it against the operation's output
  shape (a malformed response fails when the test sets it up);
* every request: the collector's clients are made with ``parameter_validation=False`` in
  production (collection/aws/clients.py), so here ``client_config`` is patched to turn it on
  (the ``ctx`` fixture) and each request is validated against the operation's input shape
  before the Stubber answers it;
* every stubbed request also names its exact expected parameters (``expected_params``), so a
  request the collector builds differently fails too.
"""

import datetime

import pytest
from botocore.config import Config
from botocore.exceptions import ParamValidationError
from botocore.stub import Stubber

from collection.aws import clients, collect
from collection.aws.redaction import secret_verdict
from collection.facts import function_summary

CREDS = clients.Credentials("AKIDSTUB", "secret", "token", 4102444800.0)
ACCOUNT = "123456789012"
REGION = "eu-west-1"
FN_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:payments-api"


def validating_client_config() -> Config:
    """The production client configuration with request validation turned on."""
    return PRODUCTION_CLIENT_CONFIG().merge(Config(parameter_validation=True))


PRODUCTION_CLIENT_CONFIG = clients.client_config


@pytest.fixture
def ctx(settings, monkeypatch):
    settings.AWS_ENDPOINT_URL = ""
    monkeypatch.setattr(clients, "client_config", validating_client_config)
    # Stubber answers through the botocore client; the lean reads have their own tests
    # against the emulator (test_lean_reads.py).
    settings.COLLECTION_LEAN_READS = False
    clients.clear_cache()
    yield collect.RegionContext(ACCOUNT, REGION, f"arn:aws:iam::{ACCOUNT}:role/c", CREDS)
    clients.clear_cache()


def stub(ctx, service):
    client = ctx.client(service)
    stubber = Stubber(client)
    stubber.activate()
    return stubber


def fn_config(name, **extra):
    return {
        "FunctionName": name,
        "FunctionArn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}",
        "Runtime": "python3.12",
        "Role": f"arn:aws:iam::{ACCOUNT}:role/{name}",
        **extra,
    }


def test_list_functions_follows_pages_and_keeps_dead_letter_config(ctx):
    s = stub(ctx, "lambda")
    s.add_response(
        "list_functions",
        {"Functions": [fn_config("a")], "NextMarker": "m1"},
        {"MaxItems": 50},
    )
    s.add_response(
        "list_functions",
        {"Functions": [fn_config("b", DeadLetterConfig={"TargetArn": "arn:aws:sqs:x:1:dlq"})]},
        {"MaxItems": 50, "Marker": "m1"},
    )
    found = collect.list_functions(ctx)
    s.assert_no_pending_responses()
    assert [f["FunctionName"] for f in found] == ["a", "b"]
    assert function_summary(found[1])["dead_letter_target"] == "arn:aws:sqs:x:1:dlq"


def test_environment_values_are_redacted_at_the_boto3_boundary(ctx):
    s = stub(ctx, "lambda")
    s.add_response(
        "list_functions",
        {
            "Functions": [
                fn_config(
                    "a",
                    Environment={"Variables": {"API_TOKEN": "tok-9f8e7d6c5b4a", "MODE": "prod"}},
                )
            ]
        },
        {"MaxItems": 50},
    )
    [config] = collect.list_functions(ctx)
    env = config["Environment"]
    assert "Variables" not in env
    assert env["VariableNames"] == ["API_TOKEN", "MODE"]
    assert set(env["VariableDigests"]) == {"API_TOKEN", "MODE"}
    assert env["SecretLikeValues"] == {"API_TOKEN": "a secret-named variable holds a literal value"}
    assert "tok-9f8e7d6c5b4a" not in repr(config)


def test_code_signing_configs_map_to_functions_with_two_listings(ctx):
    s = stub(ctx, "lambda")
    csc_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:code-signing-config:csc-0123456789abcdef0"
    s.add_response(
        "list_code_signing_configs",
        {
            "CodeSigningConfigs": [
                {
                    "CodeSigningConfigId": "csc-0123456789abcdef0",
                    "CodeSigningConfigArn": csc_arn,
                    "AllowedPublishers": {
                        "SigningProfileVersionArns": [
                            f"arn:aws:signer:{REGION}:{ACCOUNT}:/signing-profiles/p/abc"
                        ]
                    },
                    "CodeSigningPolicies": {"UntrustedArtifactOnDeployment": "Enforce"},
                    "LastModified": "2026-01-01T00:00:00.000+0000",
                }
            ]
        },
        {"MaxItems": 50},
    )
    s.add_response(
        "list_functions_by_code_signing_config",
        {"FunctionArns": [FN_ARN]},
        {"CodeSigningConfigArn": csc_arn, "MaxItems": 50},
    )
    found = collect.code_signing_by_function(ctx)
    s.assert_no_pending_responses()
    assert found[FN_ARN]["untrusted_artifact_on_deployment"] == "Enforce"


def test_provisioned_concurrency_is_listed_only_for_functions_with_aliases(ctx):
    s = stub(ctx, "lambda")
    s.add_response(
        "get_function",
        {"Concurrency": {"ReservedConcurrentExecutions": 5}, "Tags": {"owner": "x"}},
        {"FunctionName": "payments-api"},
    )
    s.add_response(
        "list_aliases",
        {"Aliases": [{"Name": "live", "FunctionVersion": "4", "AliasArn": FN_ARN + ":live"}]},
        {"FunctionName": "payments-api", "MaxItems": 50},
    )
    s.add_response(
        "list_provisioned_concurrency_configs",
        {
            "ProvisionedConcurrencyConfigs": [
                {
                    "FunctionArn": FN_ARN + ":live",
                    "RequestedProvisionedConcurrentExecutions": 4,
                    "AllocatedProvisionedConcurrentExecutions": 4,
                    "Status": "READY",
                }
            ]
        },
        {"FunctionName": "payments-api", "MaxItems": 50},
    )
    s.add_response(
        "list_function_event_invoke_configs",
        {"FunctionEventInvokeConfigs": []},
        {"FunctionName": "payments-api", "MaxItems": 50},
    )
    s.add_client_error(
        "get_policy",
        "AccessDeniedException",
        http_status_code=403,
        expected_params={"FunctionName": "payments-api"},
    )
    details = collect.function_details(ctx, "payments-api")
    s.assert_no_pending_responses()
    assert details["provisioned_concurrency"] == [
        {"qualifier": "live", "requested": 4, "allocated": 4, "status": "READY"}
    ]
    assert details["invoke_config"] is None  # missing is an answer, not a failure
    assert "not allowed to call GetPolicy" in details["unavailable"]["policy"]


def test_codedeploy_batch_calls_read_alarm_configuration(ctx):
    s = stub(ctx, "codedeploy")
    s.add_response("list_applications", {"applications": ["payments-app", "other"]}, {})
    s.add_response(
        "batch_get_applications",
        {"applicationsInfo": [{"applicationName": "payments-app", "computePlatform": "Lambda"}]},
        {"applicationNames": ["payments-app"]},
    )
    s.add_response(
        "list_deployment_groups",
        {"applicationName": "payments-app", "deploymentGroups": ["payments-api"]},
        {"applicationName": "payments-app"},
    )
    s.add_response(
        "batch_get_deployment_groups",
        {
            "deploymentGroupsInfo": [
                {
                    "applicationName": "payments-app",
                    "deploymentGroupName": "payments-api",
                    "deploymentConfigName": "custom-canary",
                    "alarmConfiguration": {"enabled": True, "alarms": [{"name": "errors"}]},
                    "autoRollbackConfiguration": {
                        "enabled": True,
                        "events": ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"],
                    },
                }
            ]
        },
        {"applicationName": "payments-app", "deploymentGroupNames": ["payments-api"]},
    )
    s.add_response(
        "get_deployment_config",
        {
            "deploymentConfigInfo": {
                "deploymentConfigName": "custom-canary",
                "computePlatform": "Lambda",
                "trafficRoutingConfig": {"type": "TimeBasedCanary"},
            }
        },
        {"deploymentConfigName": "custom-canary"},
    )
    groups = collect.codedeploy_groups(ctx, "payments")
    s.assert_no_pending_responses()
    assert groups["payments-api"]["traffic_routing"] == "TimeBasedCanary"
    assert groups["payments-api"]["alarms"] == ["errors"]


def test_config_compliance_and_security_hub_filters(ctx):
    cfg = stub(ctx, "config")
    cfg.add_response(
        "describe_compliance_by_resource",
        {
            "ComplianceByResources": [
                {
                    "ResourceType": "AWS::Lambda::Function",
                    "ResourceId": "payments-api",
                    "Compliance": {"ComplianceType": "NON_COMPLIANT"},
                }
            ]
        },
        {"ResourceType": "AWS::Lambda::Function", "Limit": 100},
    )
    assert collect.config_compliance(ctx) == {"payments-api": "NON_COMPLIANT"}
    sh = stub(ctx, "securityhub")
    now = datetime.datetime(2026, 1, 1).isoformat() + "Z"
    finding = {
        "SchemaVersion": "2018-10-08",
        "Id": "f1",
        "ProductArn": "arn:p",
        "GeneratorId": "g",
        "AwsAccountId": ACCOUNT,
        "CreatedAt": now,
        "UpdatedAt": now,
        "Title": "Public function",
        "Description": "d",
        "Severity": {"Label": "CRITICAL"},
        "RecordState": "ACTIVE",
        "Resources": [{"Type": "AwsLambdaFunction", "Id": FN_ARN}],
    }
    sh.add_response(
        "get_findings",
        {"Findings": [finding]},
        {
            "Filters": {
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
            },
            "MaxResults": 100,
        },
    )
    found = collect.security_hub_findings(ctx)
    cfg.assert_no_pending_responses()
    sh.assert_no_pending_responses()
    assert found[FN_ARN][0]["title"] == "Public function"


@pytest.mark.parametrize(
    ("name", "value", "flagged"),
    [
        ("AWS_KEY", "AKIAABCDEFGHIJKLMNOP", True),
        ("DB_URL", "postgres://app:hunter22@db:5432/x", True),
        ("DB_PASSWORD", "arn:aws:secretsmanager:eu-west-1:1:secret:db", False),
        ("LOG_LEVEL", "INFO", False),
        ("SIGNING_KEY", "-----BEGIN RSA PRIVATE KEY-----abc", True),
    ],
)
def test_secret_verdict_names_the_kind_never_the_value(name, value, flagged):
    verdict = secret_verdict(name, value)
    assert bool(verdict) is flagged
    assert value not in verdict


def test_per_function_aliases_follow_next_marker_across_pages(ctx):
    s = stub(ctx, "lambda")
    s.add_response("get_function", {"Tags": {}}, {"FunctionName": "payments-api"})
    s.add_response(
        "list_aliases",
        {
            "Aliases": [{"Name": "blue", "FunctionVersion": "3", "AliasArn": FN_ARN + ":blue"}],
            "NextMarker": "page-2",
        },
        {"FunctionName": "payments-api", "MaxItems": 50},
    )
    s.add_response(
        "list_aliases",
        {"Aliases": [{"Name": "live", "FunctionVersion": "4", "AliasArn": FN_ARN + ":live"}]},
        {"FunctionName": "payments-api", "MaxItems": 50, "Marker": "page-2"},
    )
    s.add_response(
        "list_provisioned_concurrency_configs",
        {"ProvisionedConcurrencyConfigs": []},
        {"FunctionName": "payments-api", "MaxItems": 50},
    )
    s.add_response(
        "list_function_event_invoke_configs",
        {
            "FunctionEventInvokeConfigs": [
                {"FunctionArn": FN_ARN + ":$LATEST", "MaximumRetryAttempts": 2},
                {"FunctionArn": FN_ARN + ":live", "MaximumRetryAttempts": 0},
            ]
        },
        {"FunctionName": "payments-api", "MaxItems": 50},
    )
    s.add_response("get_policy", {"Policy": "{}"}, {"FunctionName": "payments-api"})
    details = collect.function_details(ctx, "payments-api")
    s.assert_no_pending_responses()
    assert [a["name"] for a in details["aliases"]] == ["blue", "live"]
    # The live alias's async config applies, not the unqualified function's.
    assert details["invoke_config"]["qualifier"] == "live"
    assert details["invoke_config"]["maximum_retry_attempts"] == 0
    assert details["unavailable"] == {}


def test_stubbed_requests_are_validated_against_the_service_model(ctx):
    """The fixture's clients validate requests (production ones do not): a request that the
    model refuses fails before the Stubber is even asked for an answer."""
    lam = ctx.client("lambda")
    assert lam.meta.config.parameter_validation is True
    assert clients.client_config is validating_client_config
    assert PRODUCTION_CLIENT_CONFIG().parameter_validation is False  # production unchanged
    s = stub(ctx, "lambda")
    # The Stubber matches the call first (these are the parameters it expects), then the
    # client validates them and refuses before the stubbed answer is taken.
    s.add_response("list_functions", {"Functions": []}, {"MaxItems": "fifty"})
    with pytest.raises(ParamValidationError, match="MaxItems"):
        lam.list_functions(MaxItems="fifty")
    with pytest.raises(AssertionError):
        s.assert_no_pending_responses()
    with pytest.raises(ParamValidationError):  # answers are checked against the model too
        s.add_response("get_function", {"Concurrency": {"ReservedConcurrentExecutions": "x"}})
