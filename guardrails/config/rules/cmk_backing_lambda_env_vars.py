"""AWS Config custom rule ``cmk-backing-lambda-env-vars``.

A Lambda function that has environment variables must encrypt them with a customer-managed
KMS key (``KMSKeyArn`` set, ``KeyManager == CUSTOMER``, key enabled). Functions without
environment variables are NOT_APPLICABLE. Triggered by configuration changes to
``AWS::Lambda::Function`` and periodically (a key can be disabled without any change to the
function). Never reads or logs the variables' values: only whether there are any.

Handler: ``cmk_backing_lambda_env_vars.lambda_handler``. Permissions:
lambda:GetFunctionConfiguration, lambda:ListFunctions, kms:DescribeKey, config:PutEvaluations.
"""

from __future__ import annotations

from collections.abc import Iterator

import boto3
from botocore.exceptions import ClientError
from config_rule_base import COMPLIANT, NON_COMPLIANT, NOT_APPLICABLE, Result, handle

RESOURCE_TYPE = "AWS::Lambda::Function"


def evaluate(resource_id: str, item: dict | None = None) -> Result:
    """Evaluate one function (by name or ARN) against its current configuration."""
    lambda_client = boto3.client("lambda")
    try:
        config = lambda_client.get_function_configuration(FunctionName=resource_id)
    except ClientError as error:
        if error.response["Error"]["Code"] == "ResourceNotFoundException":
            return _result(resource_id, NOT_APPLICABLE, "The function no longer exists")
        raise
    return evaluate_configuration(resource_id, config)


def evaluate_configuration(resource_id: str, config: dict) -> Result:
    environment = config.get("Environment") or {}
    if not environment.get("Variables") and not environment.get("Error"):
        return _result(resource_id, NOT_APPLICABLE, "The function has no environment variables")
    key_arn = config.get("KMSKeyArn")
    if not key_arn:
        return _result(
            resource_id,
            NON_COMPLIANT,
            "Environment variables are encrypted with the AWS managed key aws/lambda",
        )
    try:
        key = boto3.client("kms").describe_key(KeyId=key_arn)["KeyMetadata"]
    except ClientError as error:
        code = error.response["Error"]["Code"]
        return _result(resource_id, NON_COMPLIANT, f"Cannot describe key {key_arn}: {code}")
    if key.get("KeyManager") != "CUSTOMER":
        return _result(resource_id, NON_COMPLIANT, f"Key {key_arn} is not customer-managed")
    if key.get("KeyState") != "Enabled":
        return _result(resource_id, NON_COMPLIANT, f"Key {key_arn} is {key.get('KeyState')}")
    return _result(resource_id, COMPLIANT, "Encrypted with a customer-managed KMS key")


def all_resources() -> Iterator[tuple[str, dict]]:
    """Every function in the account and region (for periodic evaluation)."""
    paginator = boto3.client("lambda").get_paginator("list_functions")
    for page in paginator.paginate():
        for function in page["Functions"]:
            yield function["FunctionName"], {}


def _result(resource_id: str, compliance: str, annotation: str) -> Result:
    return Result(RESOURCE_TYPE, resource_id, compliance, annotation)


def lambda_handler(event, context):
    results = handle(
        event, resource_type=RESOURCE_TYPE, evaluate=evaluate, all_resources=all_resources
    )
    return [r.__dict__ for r in results]
