"""POST /payments: validate a payment, store it once (idempotent on payment_id), return 201.

Powertools gives structured JSON logs with the API Gateway request id as correlation id,
X-Ray tracing, CloudWatch EMF metrics and idempotency backed by DynamoDB.
"""

from __future__ import annotations

import os
from decimal import Decimal, InvalidOperation

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.exceptions import BadRequestError
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)

logger = Logger()
tracer = Tracer()
metrics = Metrics()
app = APIGatewayRestResolver()

persistence = DynamoDBPersistenceLayer(table_name=os.environ["IDEMPOTENCY_TABLE"])
idempotency = IdempotencyConfig(event_key_jmespath="payment_id", expires_after_seconds=86400)
CURRENCIES = {"EUR", "GBP", "USD", "CHF"}


def parse_payment(body: dict | None) -> dict:
    """The payment in canonical form, or BadRequestError with a message a caller can act on."""
    if not isinstance(body, dict):
        raise BadRequestError("Body must be a JSON object")
    payment_id = body.get("payment_id")
    if not isinstance(payment_id, str) or not 8 <= len(payment_id) <= 64:
        raise BadRequestError("payment_id must be a string of 8 to 64 characters")
    try:
        amount = Decimal(str(body.get("amount")))
    except InvalidOperation:
        raise BadRequestError("amount must be a decimal number") from None
    if not amount.is_finite() or amount <= 0 or amount.as_tuple().exponent < -2:
        raise BadRequestError("amount must be positive with at most two decimals")
    currency = body.get("currency")
    if currency not in CURRENCIES:
        raise BadRequestError(f"currency must be one of {sorted(CURRENCIES)}")
    return {"payment_id": payment_id, "amount": str(amount), "currency": currency}


@idempotent_function(
    data_keyword_argument="payment", persistence_store=persistence, config=idempotency
)
@tracer.capture_method
def record_payment(*, payment: dict) -> dict:
    """Store the payment; a retried request with the same payment_id returns the first result."""
    table = boto3.resource("dynamodb").Table(os.environ["PAYMENTS_TABLE"])
    table.put_item(
        Item={**payment, "status": "ACCEPTED"},
        ConditionExpression="attribute_not_exists(payment_id)",
    )
    metrics.add_metric(name="PaymentAccepted", unit=MetricUnit.Count, value=1)
    logger.info("payment accepted", extra={"payment_id": payment["payment_id"]})
    return {"payment_id": payment["payment_id"], "status": "ACCEPTED"}


@app.post("/payments")
def create_payment() -> Response:
    payment = parse_payment(app.current_event.json_body)
    result = record_payment(payment=payment)
    return Response(status_code=201, content_type="application/json", body=result)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event, context):
    idempotency.register_lambda_context(context)
    return app.resolve(event, context)
