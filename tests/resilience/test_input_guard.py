"""Input the database cannot store or compare is refused with a 400 before any query runs, on
SQLite as on PostgreSQL (where it used to be a 500: psycopg DataError), and valid input,
however unusual, is stored exactly as sent.

NUL characters and lone surrogates: portal/input_guard.py. Date-time filters with a UTC offset
PostgreSQL refuses (beyond ±15:59): portal/filters.py.
"""

from __future__ import annotations

import json
from datetime import UTC, timedelta, timezone
from urllib.parse import quote, urlencode

import pytest

from audit.models import AuditEvent
from services.models import AwsTarget, Service

pytestmark = pytest.mark.django_db

NEW_SERVICE = {
    "slug": "card-vault",
    "name": "Card Vault",
    "team": "payments",
    "tier": 1,
    "environments": ["staging", "prod"],
    "repository": "acme/card-vault",
}


def post_raw_json(client, url, raw: str, method="post"):
    return getattr(client, method)(url, data=raw.encode(), content_type="application/json")


def assert_refused(response, place: str) -> dict:
    assert response.status_code == 400, response.content
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == "invalid"
    assert "cannot store" in body["error"]["message"]
    assert list(body["error"]["details"]) == [place]
    return body


def _audit_actions() -> list[str]:
    return list(AuditEvent.objects.order_by("pk").values_list("action", flat=True))


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/services/?team=pay%00ments",
        "/api/v1/services/?ordering=name%00",
        "/api/v1/evidence/?check_id=%00",
        "/api/v1/audit/events/?action=%00&page=1",
        "/api/v1/services/?na%00me=x",
    ],
)
def test_a_nul_in_a_query_parameter_is_refused_in_the_api_error_shape(client_for, admin_user, url):
    assert_refused(client_for(admin_user).get(url), "query")


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/services/payments%00api/",
        "/api/v1/aws-targets/%00/",
        "/api/v1/catalog/controls/%00/",
    ],
)
def test_a_nul_in_the_path_is_refused_in_the_api_error_shape(client_for, admin_user, url):
    assert_refused(client_for(admin_user).get(url), "path")


@pytest.mark.parametrize(
    "raw",
    [
        # Escapes a JSON parser decodes into NUL or a lone surrogate, in values, lists and keys.
        '"name": "Card\\u0000Vault"',
        '"environments": ["prod\\u0000"]',
        '"environments": ["prod\\ud800"]',
        '"description": "x\\uDFFF"',
        '"\\u0000": 1',
    ],
)
def test_an_unstorable_json_body_is_refused_and_creates_nothing(client_for, owner, team, raw):
    api = client_for(owner)
    before = _audit_actions()
    body = json.dumps(NEW_SERVICE)[:-1] + ", " + raw + "}"

    response = post_raw_json(api, "/api/v1/services/", body)

    assert_refused(response, "body")
    assert not Service.objects.filter(slug="card-vault").exists()
    assert _audit_actions() == before


def test_an_unstorable_update_leaves_the_row_and_the_audit_trail_unchanged(
    client_for, admin_user, service
):
    target = AwsTarget.objects.create(
        service=service,
        account_id="123456789012",
        regions=["eu-west-1"],
        role_arn="arn:aws:iam::123456789012:role/prr-collector",
        function_name_prefix="payments",
    )
    api = client_for(admin_user)
    before = _audit_actions()

    response = post_raw_json(
        api,
        f"/api/v1/aws-targets/{target.pk}/",
        '{"function_tags": {"team\\u0000": "payments"}, "regions": ["eu-west-1\\u0000"]}',
        method="patch",
    )

    assert_refused(response, "body")
    target.refresh_from_db()
    assert (target.function_tags, target.regions) == ({}, ["eu-west-1"])
    assert _audit_actions() == before


def test_a_nul_in_a_form_body_is_refused_with_a_plain_400_page(client_for, owner, team):
    form = {**NEW_SERVICE, "team": team.pk, "environments": "prod", "name": "Card\x00Vault"}

    response = client_for(owner).post(
        "/services/new/", urlencode(form), content_type="application/x-www-form-urlencoded"
    )

    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/plain")
    assert "cannot store" in response.content.decode()
    assert not Service.objects.filter(slug="card-vault").exists()


def test_a_raw_nul_byte_in_a_json_body_is_refused(client_for, owner, team):
    body = json.dumps({**NEW_SERVICE, "name": "Card Vault"}).encode().replace(b"Card ", b"\x00")

    response = client_for(owner).post("/api/v1/services/", body, content_type="application/json")

    assert_refused(response, "body")
    assert not Service.objects.filter(slug="card-vault").exists()


def test_a_body_the_api_does_not_parse_keeps_its_own_answer(client_for, owner, team):
    response = client_for(owner).post(
        "/api/v1/services/", b"card\x00vault", content_type="application/octet-stream"
    )

    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"


def test_unusual_but_storable_text_is_stored_exactly_as_sent(client_for, owner, team):
    # An escaped backslash before "u0000" is the six characters \u0000, a surrogate *pair* is
    # one emoji, and other control characters are storable: none of them is refused.
    raw = json.dumps({**NEW_SERVICE, "environments": ["prod"]})[:-1] + (
        ', "name": "Zahlungs\\\\u0000 \\ud83d\\ude00 \\u00fc\\u20ac", '
        '"description": "tab\\there\\u0001"}'
    )

    response = post_raw_json(client_for(owner), "/api/v1/services/", raw)

    assert response.status_code == 201, response.json()
    service = Service.objects.get(slug="card-vault")
    assert service.name == "Zahlungs\\u0000 \U0001f600 \u00fc\u20ac"
    assert service.description == "tab\there\x01"
    assert "service.create" in _audit_actions()


def test_a_query_without_unstorable_characters_answers_as_before(client_for, admin_user, service):
    response = client_for(admin_user).get("/api/v1/services/?team=payments&ordering=name")

    assert response.status_code == 200
    assert [s["slug"] for s in response.json()["results"]] == ["payments-api"]


# --- date-time filters --------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/evidence/?collected_before=2000-01-01T00:00:00%2B16:00",
        "/api/v1/gate/decisions/?evaluated_after=2000-01-01T00:00:00%2B23:59",
        "/api/v1/audit/events/?before=2000-01-01T00:00:00-20:00",
    ],
)
def test_a_utc_offset_postgresql_refuses_still_filters(client_for, admin_user, url):
    response = client_for(admin_user).get(url)

    assert response.status_code == 200, response.content
    assert "results" in response.json()


def test_a_date_time_filter_compares_the_same_instant_whatever_its_offset(
    client_for, admin_user, owner
):
    from audit.context import Actor
    from audit.services import audit_record

    api = client_for(admin_user)
    event = audit_record(actor=Actor.for_user(owner), action="test.offset")
    # The event's instant plus a minute, written at +16:00 (and at -18:30 for "after").
    later = (event.occurred_at + timedelta(minutes=1)).astimezone(timezone(timedelta(hours=16)))
    earlier = (event.occurred_at - timedelta(minutes=1)).astimezone(
        timezone(-timedelta(hours=18, minutes=30))
    )

    def actions(query: str) -> list[str]:
        response = api.get(f"/api/v1/audit/events/?action_prefix=test.&{query}")
        assert response.status_code == 200, response.content
        return [e["action"] for e in response.json()["results"]]

    assert actions(f"before={quote(later.isoformat())}") == ["test.offset"]
    assert actions(f"after={quote(earlier.isoformat())}") == ["test.offset"]
    assert actions(f"after={quote(later.isoformat())}") == []
    assert actions(f"before={quote(earlier.astimezone(UTC).isoformat())}") == []


def test_a_date_time_outside_the_calendar_in_utc_is_invalid(client_for, admin_user):
    response = client_for(admin_user).get("/api/v1/audit/events/?after=0001-01-01T00:00:00%2B10:00")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert list(response.json()["error"]["details"]) == ["after"]
