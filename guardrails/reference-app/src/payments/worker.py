"""Settle payments from the payments table's DynamoDB stream, reporting partial batch failures.

Each failed record is returned in ``batchItemFailures`` so that Lambda retries only from that
record (with bisect-on-error and bounded retries); records that keep failing go to the
on-failure destination (SQS) configured on the event source mapping.
"""

from __future__ import annotations

from decimal import Decimal

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import (
    DynamoDBRecord,
)

logger = Logger()
tracer = Tracer()
metrics = Metrics()
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)
SETTLEMENT_LIMIT = Decimal("100000")


class SettlementError(Exception):
    """The payment cannot be settled automatically."""


@tracer.capture_method
def settle(record: DynamoDBRecord) -> None:
    if record.event_name is None or record.event_name.name != "INSERT":
        return
    image = record.dynamodb.new_image
    payment_id = image["payment_id"]
    amount = Decimal(str(image["amount"]))
    if amount > SETTLEMENT_LIMIT:
        raise SettlementError(f"payment {payment_id} exceeds the automatic settlement limit")
    metrics.add_metric(name="PaymentSettled", unit=MetricUnit.Count, value=1)
    logger.info("payment settled", extra={"payment_id": payment_id})


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event, context):
    return process_partial_response(
        event=event, record_handler=settle, processor=processor, context=context
    )
