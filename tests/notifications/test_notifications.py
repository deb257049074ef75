"""Who is told what, by e-mail and signed webhooks, and what they can choose."""

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from accounts.choices import Role
from audit.context import Actor
from audit.models import AuditEvent
from notifications import services
from notifications.choices import DeliveryStatus, Event
from notifications.models import Notification, Preference, Webhook, WebhookDelivery
from portal.errors import DomainError
from reviews import workflow
from reviews.drift import review_check_drift
from tests.factories import RoleGrantFactory, UserFactory, WaiverFactory
from tests.reviews.conftest import act, make_ready


def sent_to(event_subject_part):
    return sorted(a for m in mail.outbox if event_subject_part in m.subject for a in m.to)


# --- who gets what ------------------------------------------------------------------------


def test_submission_emails_only_the_reviewers_still_needed(
    draft, owner, teammate, sre, security, risk, django_capture_on_commit_callbacks
):
    RoleGrantFactory(user=teammate, role=Role.SRE)  # in the owning team: never asked
    make_ready(draft, owner)
    with django_capture_on_commit_callbacks(execute=True):
        workflow.review_submit(actor=act(owner), review=draft)
    assert sent_to("needs your sign-off") == ["security@example.com", "sre@example.com"]
    note = Notification.objects.get(event=Event.REVIEW_SUBMITTED)
    assert note.payload["review"]["id"] == draft.pk
    assert note.url.endswith(f"/reviews/{draft.pk}/")


def test_reviewer_who_opted_out_is_not_emailed(
    draft, owner, sre, security, django_capture_on_commit_callbacks
):
    Preference.objects.create(user=sre, event=Event.REVIEW_SUBMITTED, email=False)
    make_ready(draft, owner)
    with django_capture_on_commit_callbacks(execute=True):
        workflow.review_submit(actor=act(owner), review=draft)
    assert sent_to("needs your sign-off") == ["security@example.com"]


def test_approval_goes_to_owners_and_members_who_opted_in(
    submitted, teammate, sre, security, django_capture_on_commit_callbacks
):
    Preference.objects.create(user=teammate, event=Event.REVIEW_APPROVED, email=True)
    with django_capture_on_commit_callbacks(execute=True):
        workflow.signoff_record(actor=act(sre), review=submitted, role="sre")
        workflow.signoff_record(actor=act(security), review=submitted, role="security")
    assert sent_to("approved") == ["owner@example.com", "teammate@example.com"]
    assert "Approval hash" in next(m for m in mail.outbox if "approved" in m.subject).body


def test_nothing_is_sent_for_a_change_that_rolled_back(draft, owner, sre, security):
    make_ready(draft, owner)
    with pytest.raises(RuntimeError), __import__("django").db.transaction.atomic():
        workflow.review_submit(actor=act(owner), review=draft)
        raise RuntimeError("boom")
    assert not Notification.objects.exists() and not mail.outbox


def test_team_contact_address_gets_team_notifications(
    submitted, sre, security, team, django_capture_on_commit_callbacks
):
    team.contact_email = "payments-team@example.com"
    team.save()
    with django_capture_on_commit_callbacks(execute=True):
        workflow.review_request_changes(actor=act(sre), review=submitted, comment="Add runbook")
    assert sent_to("changes requested") == ["owner@example.com", "payments-team@example.com"]


# --- scheduled scans and drift ------------------------------------------------------------


def test_approval_expiring_in_14_days_is_announced_once(
    approved, django_capture_on_commit_callbacks
):
    approved.expires_at = timezone.now() + timedelta(days=10)
    approved.save(update_fields=["expires_at"])
    with django_capture_on_commit_callbacks(execute=True):
        assert services.approvals_expiring_scan() == 1
        assert services.approvals_expiring_scan() == 0  # the daily scan runs again
    assert sent_to("approval expires in 9 day(s)") == ["owner@example.com"] or sent_to(
        "approval expires in 10 day(s)"
    ) == ["owner@example.com"]


def test_waiver_expiring_tells_owners_and_the_requester(
    service, owner, risk, django_capture_on_commit_callbacks
):
    requester = UserFactory(username="former-member")
    WaiverFactory(
        service=service,
        requested_by=requester,
        status="approved",
        decided_by=risk,
        expires_at=timezone.now() + timedelta(days=3),
    )
    WaiverFactory(
        service=service, status="requested", expires_at=timezone.now() + timedelta(days=3)
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert services.waivers_expiring_scan() == 1
    assert sent_to("waiver for PRR-TST-001 expires") == [
        "former-member@example.com",
        "owner@example.com",
    ]


def test_drift_sends_one_drift_notice_instead_of_a_plain_revocation(
    approved, monkeypatch, django_capture_on_commit_callbacks
):
    from reviews import drift

    failing = type("R", (), {"status": "fail"})()
    monkeypatch.setattr(
        drift, "_latest_check_status", lambda service, ids: {"lambda_timeout_set": failing}
    )
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        review_check_drift(service=approved.service)
    subjects = [m.subject for m in mail.outbox]
    assert len(subjects) == 1 and "drift revoked approval" in subjects[0]
    assert Notification.objects.get(event=Event.DRIFT_DETECTED).payload["failing"] == [
        "PRR-RUN-001"
    ]


def test_gate_denial_is_announced_once_per_commit(
    service, owner, django_capture_on_commit_callbacks
):
    from gate.services import gate_check

    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(3):  # CI retries
            gate_check(
                actor=Actor.system("ci"), service=service, environment="prod", commit_sha="b" * 40
            )
        gate_check(
            actor=Actor.system("ci"), service=service, environment="prod", commit_sha="c" * 40
        )
    assert len(sent_to("the gate denied")) == 2
    assert "No review" in mail.outbox[0].body or "review" in mail.outbox[0].body.lower()


# --- webhooks -----------------------------------------------------------------------------


class Receiver(BaseHTTPRequestHandler):
    answers: list = []
    received: list = []

    def do_POST(self):  # noqa: N802 (http.server API)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Receiver.received.append((self.headers, body))
        code = Receiver.answers.pop(0) if Receiver.answers else 204
        self.send_response(code)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def endpoint(settings):
    settings.NOTIFICATIONS_WEBHOOK_ALLOW_HTTP = True
    Receiver.answers, Receiver.received = [], []
    server = HTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook"
    server.shutdown()


def _hook(owner, team, url, events=(Event.REVIEW_APPROVED,)):
    hook, secret = services.webhook_create(
        actor=act(owner), name="chat", url=url, events=list(events), team=team
    )
    return hook, secret


def test_webhook_receives_signed_json_that_verifies(
    submitted, owner, team, sre, security, endpoint, django_capture_on_commit_callbacks
):
    hook, secret = _hook(owner, team, endpoint)
    with django_capture_on_commit_callbacks(execute=True):
        workflow.signoff_record(actor=act(sre), review=submitted, role="sre")
        workflow.signoff_record(actor=act(security), review=submitted, role="security")
    headers, body = Receiver.received[0]
    payload = json.loads(body)
    assert payload["event"] == "review.approved" and payload["service"]["slug"] == "payments-api"
    assert headers["X-PRR-Event"] == "review.approved"
    assert services.verify(secret, headers["X-PRR-Signature-256"], body)
    assert not services.verify(secret, headers["X-PRR-Signature-256"], body + b" ")
    assert not services.verify("whsec_other", headers["X-PRR-Signature-256"], body)
    delivery = WebhookDelivery.objects.get(webhook=hook)
    assert delivery.status == DeliveryStatus.DELIVERED
    assert delivery.attempts[0]["status_code"] == 204


def test_failing_webhook_is_retried_with_backoff_then_marked_failed(
    submitted, owner, team, endpoint, settings, django_capture_on_commit_callbacks
):
    settings.NOTIFICATIONS_WEBHOOK_MAX_ATTEMPTS = 3
    hook, _ = _hook(owner, team, endpoint, events=[Event.CHANGES_REQUESTED])
    Receiver.answers = [500, 503, 502]
    sre = UserFactory(username="sre-x")
    RoleGrantFactory(user=sre, role=Role.SRE)
    with django_capture_on_commit_callbacks(execute=True):
        workflow.review_request_changes(actor=act(sre), review=submitted, comment="Fix it")
    delivery = WebhookDelivery.objects.get(webhook=hook)
    assert delivery.status == DeliveryStatus.RETRYING
    assert delivery.next_attempt_at > timezone.now() + timedelta(seconds=20)
    services.webhook_attempt(delivery.pk)
    delivery = services.webhook_attempt(delivery.pk)
    assert delivery.status == DeliveryStatus.FAILED
    assert [a["status_code"] for a in delivery.attempts] == [500, 503, 502]
    assert len(Receiver.received) == 3
    assert services.webhook_attempt(delivery.pk).attempts == delivery.attempts  # no 4th try


def test_backoff_grows_and_is_capped():
    assert 24 <= services.backoff_seconds(1) <= 36
    assert 96 <= services.backoff_seconds(3) <= 144
    assert services.backoff_seconds(20) <= 3600 * 1.2


def test_webhooks_must_be_https_and_for_your_own_team(owner, other_team, team, settings):
    settings.NOTIFICATIONS_WEBHOOK_ALLOW_HTTP = False
    with pytest.raises(DomainError, match="https"):
        _hook(owner, team, "http://chat.example/hook")
    with pytest.raises(DomainError) as exc:
        _hook(owner, other_team, "https://chat.example/hook")
    assert exc.value.code == "not_allowed"
    hook, secret = _hook(owner, team, "https://chat.example/hook")
    assert secret.startswith("whsec_") and hook.secret == secret
    assert AuditEvent.objects.filter(action="webhook.create").count() == 1


def test_webhook_pages_show_the_secret_once_and_the_delivery_log(
    owner, team, outsider, client_for, settings
):
    client = client_for(owner)
    response = client.post(
        reverse("notifications:webhook_create"),
        {
            "name": "Chat",
            "url": "https://chat.example/hook",
            "team": team.pk,
            "events": [Event.GATE_DENIED, Event.DRIFT_DETECTED],
        },
    )
    hook = Webhook.objects.get()
    assert hook.secret in response.content.decode()
    detail = client.get(hook.get_absolute_url()).content.decode()
    assert hook.secret not in detail and "Delivery log" in detail
    assert client_for(outsider).get(hook.get_absolute_url()).status_code == 404


# --- preferences --------------------------------------------------------------------------


def test_preferences_page_saves_each_choice(owner, teammate, client_for):
    defaults = services.preferences_for(teammate)
    assert defaults[Event.REVIEW_APPROVED] is False  # members opt in; owners opt out
    assert services.preferences_for(owner)[Event.REVIEW_APPROVED] is True
    client = client_for(owner)
    response = client.post(reverse("notifications:preferences"), {"events": [Event.GATE_DENIED]})
    assert response.status_code == 302
    chosen = services.preferences_for(owner)
    assert chosen[Event.GATE_DENIED] is True and chosen[Event.REVIEW_APPROVED] is False
    page = client.get(reverse("notifications:preferences")).content.decode()
    assert 'value="gate.denied" checked' in page
