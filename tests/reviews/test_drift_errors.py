"""Drift beyond failures: collection errors and targets that stopped matching functions keep
the approval but tell the owners once, and the gate denies until evidence is collected."""

from datetime import timedelta
from itertools import count

import pytest
from django.core import mail
from django.utils import timezone

from audit.context import Actor
from audit.models import AuditEvent
from collection.choices import RunStatus
from collection.models import CollectionRun
from collection.selectors import latest_check_status
from collection.signals import run_finished
from gate.services import gate_check
from notifications.choices import Event
from notifications.models import Notification
from reviews.choices import ReviewStatus
from reviews.models import Review
from tests.factories import (
    AwsTargetFactory,
    CheckResultFactory,
    CollectionRunFactory,
    WaiverFactory,
)

CHECK = "lambda_timeout_set"  # PRR-RUN-001 in tests/reviews/conftest.py: mandatory, automated
COMMIT = "0123456789abcdef0123456789abcdef01234567"
ASSUME_ROLE_ERROR = (
    "eu-west-1: the portal cannot assume role arn:aws:iam::123456789012:role/prr-collector: "
    "check its trust policy and external id"
)


@pytest.fixture
def target(service):
    return AwsTargetFactory(
        service=service,
        function_name_prefix="payments-",
        function_tags={"team": "payments"},
    )


@pytest.fixture
def finish(target, django_capture_on_commit_callbacks):
    """Record a finished run of ``target`` and announce it as the collector does."""
    minutes = count()
    start = timezone.now() - timedelta(hours=2)

    def _finish(status=RunStatus.SUCCEEDED, functions=2, result="pass", error_summary=""):
        at = start + timedelta(minutes=next(minutes))
        run = CollectionRunFactory(
            aws_target=target,
            status=status,
            started_at=at,
            finished_at=at,
            functions_discovered=functions,
            functions_collected=functions,
            error_summary=error_summary,
        )
        for n in range(functions if result else 0):
            CheckResultFactory(
                run=run,
                check_id=CHECK,
                status=result,
                evaluated_at=at,
                resource=f"arn:aws:lambda:eu-west-1:123456789012:function:payments-{n}",
            )
        run = CollectionRun.objects.select_related("service", "aws_target").get(pk=run.pk)
        with django_capture_on_commit_callbacks(execute=True):
            run_finished.send(sender=CollectionRun, run=run)
        return run

    return _finish


def broken_role(finish):
    return finish(
        status=RunStatus.FAILED, functions=0, result=None, error_summary=ASSUME_ROLE_ERROR
    )


def notices():
    return list(Notification.objects.filter(event=Event.EVIDENCE_UNAVAILABLE).order_by("id"))


def drift_events(action="review.drift_alert"):
    return list(AuditEvent.objects.filter(action=action).order_by("seq"))


def ask_gate(service):
    decision = gate_check(
        actor=Actor.system("test-ci"), service=service, environment="prod", commit_sha=COMMIT
    )
    return decision.decision, [(r["code"], r.get("control")) for r in decision.reasons]


# --- the gate's answer ---------------------------------------------------------------------


def test_gate_denies_an_approval_whose_mandatory_control_errors(approved, finish):
    finish()
    assert ask_gate(approved.service) == ("allow", [])

    broken_role(finish)
    assert latest_check_status(approved.service, check_ids=[CHECK])[CHECK].status == "error"
    assert ask_gate(approved.service) == ("deny", [("control_error", "PRR-RUN-001")])

    finish(result="error")  # the run succeeded but the check could not be evaluated
    assert ask_gate(approved.service) == ("deny", [("control_error", "PRR-RUN-001")])


def test_a_run_matching_no_function_leaves_no_result_and_the_gate_denies(approved, finish):
    finish()
    finish(functions=0, result=None)

    assert latest_check_status(approved.service, check_ids=[CHECK]) == {}
    assert ask_gate(approved.service) == ("deny", [("control_no_result", "PRR-RUN-001")])


# --- collection errors -----------------------------------------------------------------------


def test_a_broken_collector_role_keeps_the_approval_and_tells_the_owners_once(
    approved, finish, owner
):
    finish()
    mail.outbox.clear()

    broken_role(finish)

    approved.refresh_from_db()
    assert approved.status == ReviewStatus.APPROVED
    [note] = notices()
    assert note.key == f"drift_error:{approved.pk}:1"
    assert note.subject == (
        f"Payments API (prod): automated evidence cannot be collected for PRR-RUN-001 "
        f"(approval #{approved.pk})"
    )
    assert "PRR-RUN-001" in note.body
    assert ASSUME_ROLE_ERROR in note.body
    assert "the gate denies deployments to prod until evidence can be collected" in note.body
    assert note.payload["controls"] == ["PRR-RUN-001"]
    assert note.payload["condition"] == "collection_error"
    assert note.payload["review"] == {"id": approved.pk, "environment": "prod"}
    [message] = mail.outbox
    assert owner.email in message.to
    assert "cannot be collected" in message.subject
    [event] = drift_events()
    assert event.actor_label == "drift-detector"
    assert event.actor_type == "system"
    assert event.object_id == str(approved.pk)
    assert event.service_slug == "payments-api"
    assert event.details["condition"] == "collection_error"
    assert event.details["controls"] == ["PRR-RUN-001"]

    broken_role(finish)  # the next scheduled run fails the same way
    finish(result="error")

    assert len(notices()) == 1
    assert len(drift_events()) == 1
    assert len(mail.outbox) == 1
    approved.refresh_from_db()
    assert approved.status == ReviewStatus.APPROVED


def test_recovery_is_announced_once_and_a_new_outage_again(approved, finish):
    finish()
    broken_role(finish)
    finish()  # role fixed: results again

    opened, resolved = notices()
    assert resolved.key == f"drift_error:{approved.pk}:1:resolved"
    assert resolved.subject == (
        f"Payments API (prod): automated evidence collected again (approval #{approved.pk})"
    )
    assert "PRR-RUN-001" in resolved.body
    assert resolved.payload["state"] == "resolved"
    [event] = drift_events("review.drift_resolve")
    assert event.details["controls"] == ["PRR-RUN-001"]

    finish()
    assert len(notices()) == 2

    broken_role(finish)
    assert [n.key for n in notices()][-1] == f"drift_error:{approved.pk}:2"
    assert len(drift_events()) == 2
    approved.refresh_from_db()
    assert approved.status == ReviewStatus.APPROVED


def test_a_failing_control_still_revokes_and_sends_only_the_drift_notice(approved, finish):
    finish()
    finish(result="fail")

    approved.refresh_from_db()
    assert approved.status == ReviewStatus.REVOKED
    assert approved.revoked_reason == "drift: PRR-RUN-001 failing"
    assert Notification.objects.filter(event=Event.DRIFT_DETECTED).count() == 1
    assert notices() == []


def test_an_error_on_a_waived_control_is_not_announced(approved, finish, owner, risk):
    WaiverFactory(
        service=approved.service,
        control_code="PRR-RUN-001",
        requested_by=owner,
        status="approved",
        decided_by=risk,
    )
    finish()
    broken_role(finish)

    assert notices() == []
    assert drift_events() == []


def test_no_notice_without_an_approved_review(submitted, target, finish):
    finish()
    broken_role(finish)
    finish(functions=0, result=None)

    assert notices() == []
    assert drift_events() == []


# --- a run that matched no function ----------------------------------------------------------


def test_a_target_that_stops_matching_functions_is_announced_once(approved, finish, owner):
    before = finish(functions=3)
    mail.outbox.clear()

    empty = finish(functions=0, result=None)

    approved.refresh_from_db()
    assert approved.status == ReviewStatus.APPROVED
    [note] = notices()
    assert note.key == f"drift_no_functions:{approved.pk}:{empty.pk}"
    assert note.subject == (
        f"Payments API (prod): collection found no Lambda functions (approval #{approved.pk})"
    )
    assert f"run #{empty.pk} of AWS account 123456789012 (eu-west-1)" in note.body
    assert f"run #{before.pk} matched 3" in note.body
    assert "name prefix 'payments-' and tags team=payments" in note.body
    assert "PRR-RUN-001 now have no result" in note.body
    assert "the gate denies deployments to prod until evidence can be collected" in note.body
    assert note.payload["condition"] == "no_functions"
    assert note.payload["controls"] == ["PRR-RUN-001"]
    assert [m.subject for m in mail.outbox] == [f"[PRR] {note.subject}"]
    assert owner.email in mail.outbox[0].to
    [event] = drift_events()
    assert event.details["condition"] == "no_functions"
    assert event.details["previous_run"] == before.pk

    # The signal delivered again for the same run, and the next empty run: nothing new.
    run_finished.send(sender=CollectionRun, run=empty)
    finish(functions=0, result=None)
    assert len(notices()) == 1
    assert len(drift_events()) == 1

    # Functions found again, then lost again: a new notice.
    finish(functions=3)
    again = finish(functions=0, result=None)
    assert [n.key for n in notices()] == [
        note.key,
        f"drift_no_functions:{approved.pk}:{again.pk}",
    ]


def test_a_failed_run_in_between_does_not_hide_an_emptied_target(approved, finish):
    finish(functions=3)
    broken_role(finish)
    empty = finish(functions=0, result=None)

    keys = [n.key for n in notices()]
    assert keys == [f"drift_error:{approved.pk}:1", f"drift_no_functions:{approved.pk}:{empty.pk}"]
    # No result is not evidence collected again: the error episode stays open.
    assert drift_events("review.drift_resolve") == []


def test_a_target_that_never_matched_functions_is_not_announced(approved, finish):
    finish(functions=0, result=None)
    finish(functions=0, result=None)

    assert notices() == []


def test_an_approval_past_its_expiry_gets_no_evidence_notice(approved, finish):
    finish()
    Review.objects.filter(pk=approved.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    broken_role(finish)

    assert notices() == []
