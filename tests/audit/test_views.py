"""The audit log pages: auditors and admins only, filters, keyset pages, event detail, and the
chain status box."""

import datetime as dt

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from audit.choices import Outcome
from audit.context import Actor
from audit.models import AuditEvent
from audit.services import audit_checkpoint_write, audit_record
from audit.views import PAGE_SIZE


@pytest.fixture
def events(owner, sre, service, other_service):
    audit_record(actor=Actor.for_user(owner), action="review.submit", service_slug=service.slug)
    audit_record(actor=Actor.for_user(sre), action="review.approve", service_slug=service.slug)
    audit_record(
        actor=Actor.for_user(sre),
        action="waiver.grant",
        service_slug=other_service.slug,
        before={"status": "requested"},
        after={"status": "granted", "note": "<script>alert(1)</script>"},
    )
    audit_record(
        actor=Actor.for_user(owner),
        action="review.approve",
        outcome=Outcome.DENIED,
        service_slug=service.slug,
    )


def _actions(response):
    """Listed actions, leaving out the sign-in the test client itself just made."""
    return [e.action for e in response.context["events"] if e.action != "auth.login"]


@pytest.mark.parametrize("role", ["auditor", "admin"])
def test_auditors_and_admins_see_the_log(cast, client_for, events, role):
    response = client_for(cast[role]).get(reverse("audit:list"))
    assert response.status_code == 200
    assert _actions(response) == [
        "review.approve",
        "waiver.grant",
        "review.approve",
        "review.submit",
    ]
    assert b"Verified" in response.content


@pytest.mark.parametrize("role", ["owner", "teammate", "outsider", "sre", "security", "risk"])
def test_others_get_404_and_the_attempt_is_audited(cast, client_for, events, role):
    client = client_for(cast[role])
    assert client.get(reverse("audit:list")).status_code == 404
    assert client.get(reverse("audit:detail", args=[1])).status_code == 404
    denials = AuditEvent.objects.filter(action="audit.view", outcome=Outcome.DENIED)
    assert list(denials.values_list("actor_label", flat=True)) == [role, role]


def test_anonymous_is_sent_to_login(client):
    response = client.get(reverse("audit:list"))
    assert response.status_code == 302


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"service": "payments-api"}, ["review.approve", "review.approve", "review.submit"]),
        ({"actor": "sre"}, ["waiver.grant", "review.approve"]),
        ({"action": "review."}, ["review.approve", "review.approve", "review.submit"]),
        ({"action": "waiver"}, ["waiver.grant"]),
        ({"outcome": "denied"}, ["review.approve"]),
        ({"service": "payments-api", "actor": "owner"}, ["review.approve", "review.submit"]),
        ({"since": "2000-01-01", "until": "2000-01-02"}, []),
    ],
)
def test_filters(client_for, auditor, events, params, expected):
    response = client_for(auditor).get(reverse("audit:list"), params)
    assert _actions(response) == expected


def test_date_filter_is_inclusive_in_utc(client_for, auditor, events):
    today = timezone.now().astimezone(dt.UTC).date().isoformat()
    response = client_for(auditor).get(reverse("audit:list"), {"since": today, "until": today})
    assert len(_actions(response)) == 4


def test_invalid_filter_shows_the_error_and_no_events(client_for, auditor, events):
    response = client_for(auditor).get(
        reverse("audit:list"), {"since": "2030-01-02", "until": "2030-01-01"}
    )
    assert response.context["events"] == []
    assert b"The end date is before the start date." in response.content


def test_pages_walk_older_and_back_newer(client_for, auditor):
    for i in range(PAGE_SIZE * 2 + 5):
        audit_record(actor=Actor.system("bulk"), action=f"bulk.{i}")
    client = client_for(auditor)
    first = client.get(reverse("audit:list"), {"actor": "bulk"})
    seqs = [e.seq for e in first.context["events"]]
    assert seqs[0] == PAGE_SIZE * 2 + 5 and len(seqs) == PAGE_SIZE
    assert first.context["newer"] is None
    second = client.get(reverse("audit:list"), {"actor": "bulk", "before": first.context["older"]})
    third = client.get(reverse("audit:list"), {"actor": "bulk", "before": second.context["older"]})
    assert [e.seq for e in third.context["events"]] == [5, 4, 3, 2, 1]
    assert third.context["older"] is None
    back = client.get(reverse("audit:list"), {"actor": "bulk", "after": third.context["newer"]})
    assert [e.seq for e in back.context["events"]] == [e.seq for e in second.context["events"]]
    assert b"after=" in third.content and b"actor=bulk" in third.content


def test_event_detail_shows_escaped_change_and_chain(client_for, auditor, events):
    event = AuditEvent.objects.get(action="waiver.grant")
    response = client_for(auditor).get(reverse("audit:detail", args=[event.seq]))
    body = response.content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "<script>alert(1)" not in body
    assert event.hash in body and event.prev_hash in body
    assert response.context["hash_ok"] is True


def test_status_box_reports_checkpoint_and_tampering(client_for, auditor, events):
    client = client_for(auditor)
    audit_checkpoint_write()
    audit_record(actor=Actor.system("late"), action="late.event")
    body = client.get(reverse("audit:list")).content.decode()
    assert "Latest signed checkpoint" in body and "signature valid" in body
    assert "2 events checked, from the last checkpoint on" in body
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER USER")
        cursor.execute("UPDATE audit_auditevent SET actor_label = 'x' WHERE seq = 5")
    body = client.get(reverse("audit:list")).content.decode()
    assert "Verification failed" in body and "event #5" in body
    detail = client.get(reverse("audit:detail", args=[5]))
    assert detail.context["hash_ok"] is False


def test_selectors_for_object_and_service(owner, service):
    from audit.selectors import events_for_object, events_for_service

    audit_record(actor=Actor.for_user(owner), action="service.touch", obj=service)
    audit_record(actor=Actor.for_user(owner), action="other", service_slug=service.slug)
    assert [e.action for e in events_for_object(service)] == ["service.touch"]
    assert [e.action for e in events_for_service(service.slug)] == ["other"]


def test_log_page_work_does_not_grow_with_the_trail(client_for, auditor):
    """Keyset pages and a status verified from the last checkpoint on: the same queries and
    the same handful of events checked with 10 or 300 events in the trail."""
    from django.test.utils import CaptureQueriesContext

    client = client_for(auditor)

    def load():
        audit_checkpoint_write()  # Celery beat signs the head every 15 minutes
        audit_record(actor=Actor.system("late"), action="late.event")
        with CaptureQueriesContext(connection) as queries:
            response = client.get(reverse("audit:list"))
        return len(queries), response

    for i in range(10):
        audit_record(actor=Actor.system("bulk"), action=f"bulk.{i}")
    small, response = load()
    assert response.context["status"].result.checked == 2
    for i in range(290):
        audit_record(actor=Actor.system("bulk"), action=f"bulk.{i}")
    large, response = load()
    assert large == small
    assert response.context["status"].result.checked == 2
    assert len(response.context["events"]) == PAGE_SIZE
    assert "older" in response.context and response.context["older"] is not None
