import io
import json
import logging

import boto3
from conftest import fresh


def api_event(body, request_id="req-1"):
    return {
        "resource": "/payments",
        "path": "/payments",
        "httpMethod": "POST",
        "headers": {"Content-Type": "application/json"},
        "multiValueHeaders": {},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": "/payments",
            "httpMethod": "POST",
            "stage": "prod",
            "requestId": request_id,
            "identity": {"sourceIp": "192.0.2.10"},
        },
        "body": json.dumps(body),
        "isBase64Encoded": False,
    }


PAYMENT = {"payment_id": "pay-00000001", "amount": "125.50", "currency": "EUR"}


def stored_payments():
    return boto3.client("dynamodb").scan(TableName="payments-api-payments")["Items"]


def test_valid_payment_is_accepted_and_stored(aws, context):
    api = fresh("payments.api")
    response = api.handler(api_event(PAYMENT), context)
    assert response["statusCode"] == 201
    assert json.loads(response["body"]) == {"payment_id": "pay-00000001", "status": "ACCEPTED"}
    [item] = stored_payments()
    assert item["amount"] == {"S": "125.50"}


def test_retried_request_is_idempotent(aws, context):
    api = fresh("payments.api")
    first = api.handler(api_event(PAYMENT, "req-1"), context)
    retry = api.handler(api_event(PAYMENT, "req-2"), context)
    assert retry["statusCode"] == 201
    assert json.loads(retry["body"]) == json.loads(first["body"])
    assert len(stored_payments()) == 1


def test_invalid_payment_is_rejected_with_a_reason(aws, context):
    api = fresh("payments.api")
    response = api.handler(api_event({**PAYMENT, "amount": "-3"}), context)
    assert response["statusCode"] == 400
    assert "amount" in json.loads(response["body"])["message"]
    assert stored_payments() == []


def test_logs_are_json_with_the_request_id_as_correlation_id(aws, context):
    api = fresh("payments.api")
    stream = io.StringIO()
    for log_handler in logging.getLogger("payments-api").handlers:
        log_handler.setStream(stream)
    api.handler(api_event(PAYMENT, request_id="corr-42"), context)
    lines = [json.loads(line) for line in stream.getvalue().splitlines() if line]
    accepted = [line for line in lines if line.get("message") == "payment accepted"]
    assert accepted and accepted[0]["correlation_id"] == "corr-42"
    assert accepted[0]["service"] == "payments-api"


STREAM_ARN = "arn:aws:dynamodb:eu-west-1:123456789012:table/payments-api-payments/stream/x"


def stream_record(sequence, payment_id, amount, event_name="INSERT"):
    return {
        "eventID": sequence,
        "eventName": event_name,
        "eventSource": "aws:dynamodb",
        "awsRegion": "eu-west-1",
        "dynamodb": {
            "Keys": {"payment_id": {"S": payment_id}},
            "NewImage": {
                "payment_id": {"S": payment_id},
                "amount": {"S": amount},
                "currency": {"S": "EUR"},
            },
            "SequenceNumber": sequence,
            "StreamViewType": "NEW_IMAGE",
        },
        "eventSourceARN": STREAM_ARN,
    }


def test_worker_reports_only_failed_records(aws, context):
    worker = fresh("payments.worker")
    event = {
        "Records": [
            stream_record("100", "pay-00000001", "10.00"),
            stream_record("200", "pay-00000002", "250000.00"),  # over the settlement limit
            stream_record("300", "pay-00000003", "99.99"),
        ]
    }
    response = worker.handler(event, context)
    assert response == {"batchItemFailures": [{"itemIdentifier": "200"}]}


def test_worker_succeeds_on_a_clean_batch(aws, context):
    worker = fresh("payments.worker")
    event = {"Records": [stream_record("100", "pay-00000001", "10.00")]}
    assert worker.handler(event, context) == {"batchItemFailures": []}
