"""AWS Config custom rule ``api-gw-waf-associated``.

Every API Gateway REST API stage (``AWS::ApiGateway::Stage``) must have an AWS WAF web ACL.
HTTP APIs (API Gateway v2) cannot be associated with WAF and are outside this rule: put them
behind CloudFront with WAF, or use a REST API. Triggered by configuration changes to stages
and periodically. A stage that no longer exists is NOT_APPLICABLE.

Handler: ``api_gw_waf_associated.lambda_handler``. Permissions: apigateway:GET,
wafv2:GetWebACLForResource, config:PutEvaluations.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import boto3
from botocore.exceptions import ClientError
from config_rule_base import COMPLIANT, NON_COMPLIANT, NOT_APPLICABLE, Result, handle

RESOURCE_TYPE = "AWS::ApiGateway::Stage"
STAGE_ARN = re.compile(
    r"^arn:(?P<partition>aws[a-z-]*):apigateway:(?P<region>[a-z0-9-]+)::"
    r"/restapis/(?P<api>[^/]+)/stages/(?P<stage>[^/]+)$"
)


def stage_arn(api_id: str, stage: str) -> str:
    session = boto3.session.Session()
    partition = session.get_partition_for_region(session.region_name)
    return f"arn:{partition}:apigateway:{session.region_name}::/restapis/{api_id}/stages/{stage}"


def evaluate(resource_id: str, item: dict | None = None) -> Result:
    """Evaluate one stage, named by its ARN (the configuration item's ARN or resourceId)."""
    arn = (item or {}).get("ARN") or resource_id
    match = STAGE_ARN.match(arn)
    if not match:
        return _result(resource_id, NOT_APPLICABLE, f"Not a REST API stage ARN: {arn}")
    try:
        stage = boto3.client("apigateway").get_stage(
            restApiId=match["api"], stageName=match["stage"]
        )
    except ClientError as error:
        if error.response["Error"]["Code"] == "NotFoundException":
            return _result(resource_id, NOT_APPLICABLE, "The stage no longer exists")
        raise
    web_acl = stage.get("webAclArn")
    if not web_acl:
        found = boto3.client("wafv2").get_web_acl_for_resource(ResourceArn=arn)
        web_acl = (found.get("WebACL") or {}).get("ARN")
    if web_acl:
        return _result(resource_id, COMPLIANT, f"Protected by web ACL {web_acl}")
    return _result(resource_id, NON_COMPLIANT, "No AWS WAF web ACL is associated with the stage")


def all_resources() -> Iterator[tuple[str, dict]]:
    """Every REST API stage in the account and region (for periodic evaluation)."""
    client = boto3.client("apigateway")
    for page in client.get_paginator("get_rest_apis").paginate():
        for api in page["items"]:
            for stage in client.get_stages(restApiId=api["id"])["item"]:
                arn = stage_arn(api["id"], stage["stageName"])
                yield arn, {"ARN": arn}


def _result(resource_id: str, compliance: str, annotation: str) -> Result:
    return Result(RESOURCE_TYPE, resource_id, compliance, annotation)


def lambda_handler(event, context):
    results = handle(
        event, resource_type=RESOURCE_TYPE, evaluate=evaluate, all_resources=all_resources
    )
    return [r.__dict__ for r in results]
