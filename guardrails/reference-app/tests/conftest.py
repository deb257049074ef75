import importlib
import sys
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

SRC = Path(__file__).resolve().parents[1] / "src"


@pytest.fixture
def aws(monkeypatch):
    env = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "POWERTOOLS_SERVICE_NAME": "payments-api",
        "POWERTOOLS_METRICS_NAMESPACE": "prr/payments-api",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "PAYMENTS_TABLE": "payments-api-payments",
        "IDEMPOTENCY_TABLE": "payments-api-idempotency",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.syspath_prepend(str(SRC))
    with mock_aws():
        dynamodb = boto3.client("dynamodb")
        for table, key in (
            ("payments-api-payments", "payment_id"),
            ("payments-api-idempotency", "id"),
        ):
            dynamodb.create_table(
                TableName=table,
                BillingMode="PAY_PER_REQUEST",
                AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
                KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
            )
        yield


def fresh(module):
    """Import a handler module inside the emulator, as a cold start would."""
    for name in [m for m in sys.modules if m == module or m.startswith("payments")]:
        del sys.modules[name]
    return importlib.import_module(module)


class LambdaContext:
    function_name = "payments-api-api"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:payments-api-api:live"
    aws_request_id = "3f5e9d1c-0000-4000-8000-000000000001"

    @staticmethod
    def get_remaining_time_in_millis():
        return 10_000


@pytest.fixture
def context():
    return LambdaContext()
