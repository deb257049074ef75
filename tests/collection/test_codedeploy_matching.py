"""CodeDeploy deployment groups are matched to functions by what they deploy (the AppSpec of
their last deployment), as SAM and CDK name groups after the stack, not the function. Stubbed
(moto has no Lambda deployments); every request and answer is checked against botocore's
model."""

import json

import botocore.session
import pytest
from botocore.stub import Stubber

from collection.aws import collect

APP = "payments-ServerlessDeploymentApplication-1A2B"
SAM_GROUP = "payments-ApiFunctionDeploymentGroup-9Z8Y"
APPSPEC_YAML = """version: 0.0
Resources:
  - ApiFunction:
      Type: AWS::Lambda::Function
      Properties:
        Name: payments-ApiFunction-X1Y2
        Alias: live
        CurrentVersion: "3"
        TargetVersion: "4"
"""


class _Ctx:
    def __init__(self, client):
        self._client = client

    def client(self, service):
        return self._client


@pytest.fixture
def codedeploy():
    client = botocore.session.get_session().create_client(
        "codedeploy", region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="b"
    )
    with Stubber(client) as stub:
        yield client, stub
        stub.assert_no_pending_responses()


def group_info(
    name, app=APP, deployment=None, config="CodeDeployDefault.LambdaCanary10Percent5Minutes"
):
    info = {
        "applicationName": app,
        "deploymentGroupName": name,
        "deploymentConfigName": config,
        "computePlatform": "Lambda",
        "autoRollbackConfiguration": {
            "enabled": True,
            "events": ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"],
        },
        "alarmConfiguration": {"enabled": True, "alarms": [{"name": "errors"}]},
    }
    if deployment:
        info["lastSuccessfulDeployment"] = {"deploymentId": deployment, "status": "Succeeded"}
    return info


def stub_app(stub, app, groups):
    stub.add_response(
        "batch_get_applications",
        {"applicationsInfo": [{"applicationName": app, "computePlatform": "Lambda"}]},
        {"applicationNames": [app]},
    )
    stub.add_response(
        "list_deployment_groups",
        {"applicationName": app, "deploymentGroups": [g["deploymentGroupName"] for g in groups]},
        {"applicationName": app},
    )
    stub.add_response(
        "batch_get_deployment_groups",
        {"deploymentGroupsInfo": groups},
        {
            "applicationName": app,
            "deploymentGroupNames": [g["deploymentGroupName"] for g in groups],
        },
    )


def test_a_sam_named_group_is_matched_to_the_function_its_last_deployment_shifted(codedeploy):
    client, stub = codedeploy
    stub.add_response("list_applications", {"applications": [APP]}, {})
    stub_app(stub, APP, [group_info(SAM_GROUP, deployment="d-ABC"), group_info("payments-worker")])
    stub.add_response(
        "batch_get_deployments",
        {
            "deploymentsInfo": [
                {
                    "deploymentId": "d-ABC",
                    "revision": {
                        "revisionType": "AppSpecContent",
                        "appSpecContent": {"content": APPSPEC_YAML},
                    },
                }
            ]
        },
        {"deploymentIds": ["d-ABC"]},
    )

    groups = collect.codedeploy_groups(_Ctx(client), "payments")

    assert groups["payments-ApiFunction-X1Y2"]["name"] == SAM_GROUP
    assert groups["payments-ApiFunction-X1Y2"]["matched_by"] == "last deployment"
    assert groups["payments-ApiFunction-X1Y2"]["traffic_routing"] == "TimeBasedCanary"
    # A group that never deployed keeps the old rule: its name is the function's name.
    assert groups["payments-worker"]["matched_by"] == "name"
    assert SAM_GROUP not in groups


def test_applications_outside_the_prefix_are_read_when_a_function_is_still_unmatched(codedeploy):
    client, stub = codedeploy
    other = "shared-deployments"
    stub.add_response("list_applications", {"applications": [APP, other]}, {})
    stub_app(stub, APP, [group_info("payments-api")])
    stub_app(stub, other, [group_info("payments-ledger", app=other)])

    groups = collect.codedeploy_groups(
        _Ctx(client), "payments", function_names={"payments-api", "payments-ledger"}
    )

    assert groups["payments-ledger"]["application"] == other
    assert groups["payments-api"]["application"] == APP


def test_no_second_pass_when_every_function_is_matched(codedeploy):
    client, stub = codedeploy
    stub.add_response("list_applications", {"applications": [APP, "shared-deployments"]}, {})
    stub_app(stub, APP, [group_info("payments-api")])

    groups = collect.codedeploy_groups(_Ctx(client), "payments", function_names={"payments-api"})

    assert list(groups) == ["payments-api"]  # no call for "shared-deployments" was stubbed


@pytest.mark.parametrize(
    "content, expected",
    [
        (APPSPEC_YAML, ["payments-ApiFunction-X1Y2"]),
        (
            json.dumps(
                {
                    "version": 0.0,
                    "Resources": [
                        {
                            "Fn": {
                                "Type": "AWS::Lambda::Function",
                                "Properties": {
                                    "Name": "arn:aws:lambda:us-east-1:1:function:orders:live"
                                },
                            }
                        }
                    ],
                }
            ),
            ["orders"],
        ),
        ("version: 0.0\nResources: nonsense\n", []),
        # Unquoted YAML values stay strings (YAML 1.1 would read 0123 as 83).
        (
            "Resources:\n  - Fn:\n      Type: AWS::Lambda::Function\n"
            "      Properties:\n        Name: 0123\n",
            ["0123"],
        ),
        ("Resources:\n  - Fn:\n      Type: AWS::Lambda::Function\n      Properties: x\n", []),
        ("{not yaml: [", []),
        ("", []),
    ],
)
def test_appspec_functions(content, expected):
    assert collect.appspec_functions({"appSpecContent": {"content": content}}) == expected


def test_an_appspec_in_s3_is_not_read():
    revision = {"revisionType": "S3", "s3Location": {"bucket": "b", "key": "k"}}
    assert collect.appspec_functions(revision) == []
