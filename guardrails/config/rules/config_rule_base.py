"""Plumbing shared by the custom AWS Config rules in this folder (no third-party imports).

A rule module supplies ``RESOURCE_TYPE``, ``evaluate(resource_id, item)`` for one resource and
``all_resources()`` for periodic runs; :func:`handle` turns a Config invocation event into
evaluations and reports them with ``config:PutEvaluations``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

import boto3

logger = logging.getLogger(__name__)
logger.setLevel(logging.INFO)

COMPLIANT = "COMPLIANT"
NON_COMPLIANT = "NON_COMPLIANT"
NOT_APPLICABLE = "NOT_APPLICABLE"
DELETED_STATUSES = {"ResourceDeleted", "ResourceDeletedNotRecorded"}
MAX_ANNOTATION = 256
BATCH = 100  # PutEvaluations accepts at most 100 evaluations per call


@dataclass(frozen=True)
class Result:
    resource_type: str
    resource_id: str
    compliance: str
    annotation: str

    def as_evaluation(self, timestamp: datetime) -> dict:
        return {
            "ComplianceResourceType": self.resource_type,
            "ComplianceResourceId": self.resource_id,
            "ComplianceType": self.compliance,
            "Annotation": self.annotation[:MAX_ANNOTATION],
            "OrderingTimestamp": timestamp,
        }


def _timestamp(invoking: dict) -> datetime:
    raw = invoking.get("notificationCreationTime")
    if raw:
        return datetime.fromisoformat(raw.replace("Z", "+00:00"))
    return datetime.now(UTC)


def handle(
    event: dict,
    *,
    resource_type: str,
    evaluate: Callable[[str, dict], Result],
    all_resources: Callable[[], Iterable[tuple[str, dict]]],
) -> list[Result]:
    """Evaluate what the event asks for and report it to AWS Config.

    Change-triggered events evaluate the one resource of the configuration item; deleted or
    out-of-scope resources are NOT_APPLICABLE without calling AWS. Scheduled events evaluate
    every resource of the type in the account and region.
    """
    invoking = json.loads(event["invokingEvent"])
    message_type = invoking.get("messageType", "")
    if message_type == "ScheduledNotification":
        results = [evaluate(resource_id, item) for resource_id, item in all_resources()]
    else:
        item = invoking.get("configurationItem") or invoking.get("configurationItemSummary")
        if not item:
            raise ValueError(f"unsupported Config event: {message_type!r}")
        results = [_evaluate_item(item, event, resource_type, evaluate)]
    _report(results, event, _timestamp(invoking))
    return results


def _evaluate_item(item, event, resource_type, evaluate) -> Result:
    kind, resource_id = item["resourceType"], item["resourceId"]
    if kind != resource_type:
        return Result(kind, resource_id, NOT_APPLICABLE, f"{kind} is not evaluated by this rule")
    if item.get("configurationItemStatus") in DELETED_STATUSES:
        return Result(kind, resource_id, NOT_APPLICABLE, "The resource was deleted")
    if event.get("eventLeftScope"):
        return Result(kind, resource_id, NOT_APPLICABLE, "The resource left the rule's scope")
    return evaluate(resource_id, item)


def _report(results: list[Result], event: dict, timestamp: datetime) -> None:
    for result in results:
        # Resource ids and verdicts only: never configuration values.
        logger.info(json.dumps({"resource": result.resource_id, "result": result.compliance}))
    token = event["resultToken"]
    client = boto3.client("config")
    evaluations = [r.as_evaluation(timestamp) for r in results]
    for start in range(0, len(evaluations), BATCH):
        response = client.put_evaluations(
            Evaluations=evaluations[start : start + BATCH],
            ResultToken=token,
            # "TESTMODE" is the token AWS Config's rule development kit uses for local runs.
            TestMode=token == "TESTMODE",
        )
        if response.get("FailedEvaluations"):
            raise RuntimeError(f"Config rejected evaluations: {response['FailedEvaluations']}")
