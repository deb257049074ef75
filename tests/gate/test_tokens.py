"""API tokens: shown once, stored hashed, scoped, bound to services, expiring, revocable."""

import hashlib
from datetime import timedelta

import pytest
from django.utils import timezone

from audit.context import Actor
from audit.models import AuditEvent
from gate import services as gate_services
from gate.models import ApiToken
from portal.errors import DomainError
from tests.gate.helpers import bearer, post_json, service_token, user_token

TOKENS = "/api/v1/tokens/"


def create(client, **body):
    body.setdefault("name", "laptop")
    body.setdefault("scopes", ["read"])
    body.setdefault("expires_in_days", 30)
    return post_json(client, TOKENS, body)


def test_a_user_creates_a_token_shown_once_and_stored_hashed(client_for, owner, service):
    response = create(client_for(owner), scopes=["read", "gate:check"], services=["payments-api"])

    assert response.status_code == 201, response.json()
    body = response.json()
    raw = body["token"]
    assert raw.startswith(f"prr_{body['prefix']}_")
    token = ApiToken.objects.get()
    assert token.token_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in str(ApiToken.objects.values().get())
    assert token.user == owner and token.scopes == ["gate:check", "read"]
    listed = client_for(owner).get(TOKENS).json()["results"][0]
    assert "token" not in listed and listed["prefix"] == body["prefix"]
    event = AuditEvent.objects.get(action="api_token.create")
    assert raw not in str(event.after) and event.after["prefix"] == body["prefix"]


def test_a_token_acts_as_its_user_within_its_services(client, owner, service, other_service):
    raw = user_token(owner, scopes=["read"], services=[service])[1]

    listed = client.get("/api/v1/services/", **bearer(raw)).json()["results"]

    assert [s["slug"] for s in listed] == ["payments-api"]
    token = ApiToken.objects.get()
    assert token.last_used_at is not None


def test_last_used_is_recorded_at_most_once_a_minute(client, owner, service):
    token, raw = user_token(owner)
    client.get("/api/v1/services/", **bearer(raw))
    first = ApiToken.objects.get().last_used_at

    client.get("/api/v1/services/", **bearer(raw))
    assert ApiToken.objects.get().last_used_at == first

    ApiToken.objects.filter(pk=token.pk).update(last_used_at=first - timedelta(minutes=2))
    client.get("/api/v1/services/", **bearer(raw))
    assert ApiToken.objects.get().last_used_at > first


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda raw: raw[:-1] + ("A" if raw[-1] != "A" else "B"), "Invalid API token."),
        (lambda raw: "prr_short", "Malformed API token."),
    ],
)
def test_a_wrong_token_is_401(client, owner, service, mutate, message):
    raw = user_token(owner)[1]

    response = client.get("/api/v1/services/", **bearer(mutate(raw)))

    assert response.status_code == 401
    assert response.json()["error"]["message"] == message


def test_an_expired_token_is_401(client, owner, service):
    token, raw = user_token(owner)
    ApiToken.objects.filter(pk=token.pk).update(
        created_at=timezone.now() - timedelta(days=10), expires_at=timezone.now()
    )

    response = client.get("/api/v1/services/", **bearer(raw))

    assert response.status_code == 401
    assert "expired" in response.json()["error"]["message"]


def test_a_revoked_token_is_refused_at_once(client, client_for, owner, service):
    token, raw = user_token(owner)
    assert client.get("/api/v1/services/", **bearer(raw)).status_code == 200

    revoked = post_json(client_for(owner), f"{TOKENS}{token.pk}/revoke/", {"reason": "lost"})
    client.logout()

    assert revoked.json()["status"] == "revoked"
    response = client.get("/api/v1/services/", **bearer(raw))
    assert response.status_code == 401
    assert "revoked" in response.json()["error"]["message"]
    assert AuditEvent.objects.filter(action="api_token.revoke").exists()


def test_scopes_limit_what_a_token_may_do(client, owner, service):
    raw = user_token(owner, scopes=["read"])[1]

    response = post_json(
        client,
        "/api/v1/reviews/",
        {"service": "payments-api", "environment": "prod"},
        **bearer(raw),
    )

    assert response.status_code == 403
    assert "'write'" in response.json()["error"]["message"]


def test_a_write_token_acts_as_its_user(client, owner, service, catalog):
    raw = user_token(owner, scopes=["read", "write"])[1]

    response = post_json(
        client,
        "/api/v1/reviews/",
        {"service": "payments-api", "environment": "prod"},
        **bearer(raw),
    )

    assert response.status_code == 201, response.json()
    event = AuditEvent.objects.get(action="review.open")
    assert event.actor_type == "api_token" and event.actor_user == owner


def test_tokens_cannot_create_tokens(client, owner, service):
    raw = user_token(owner, scopes=["read", "write"])[1]

    response = post_json(
        client, TOKENS, {"name": "x", "scopes": ["read"], "expires_in_days": 1}, **bearer(raw)
    )

    assert response.status_code == 403
    assert ApiToken.objects.count() == 1


def test_expiry_is_required_and_at_most_a_year(client_for, owner):
    client = client_for(owner)

    missing = post_json(client, TOKENS, {"name": "x", "scopes": ["read"]})
    too_long = create(client, expires_in_days=400)

    assert missing.status_code == 400 and "expires_at" in missing.json()["error"]["details"]
    assert too_long.status_code == 400 and "365 days" in too_long.json()["error"]["message"]
    assert not ApiToken.objects.exists()


def test_a_user_cannot_bind_a_token_to_a_service_they_cannot_see(client_for, owner, other_service):
    response = create(client_for(owner), services=["loan-engine"])

    assert response.status_code == 400
    assert not ApiToken.objects.exists()


def test_only_admins_create_service_tokens(client_for, owner, admin_user, service):
    refused = create(
        client_for(owner), services=["payments-api"], service_token=True, scopes=["gate:check"]
    )
    created = create(
        client_for(admin_user),
        services=["payments-api"],
        service_token=True,
        scopes=["gate:check", "evidence:write"],
    )

    assert refused.status_code == 403
    assert created.status_code == 201
    assert created.json()["user"] is None
    assert created.json()["services"] == ["payments-api"]


def test_service_tokens_cannot_get_write_scope(admin_user, service):
    with pytest.raises(DomainError, match="write"):
        gate_services.api_token_create(
            actor=Actor.for_user(admin_user),
            name="ci",
            scopes=["write"],
            expires_at=timezone.now() + timedelta(days=1),
            services=[service],
            service_token=True,
        )


def test_a_service_token_sees_only_its_services(client, admin_user, service, other_service):
    raw = service_token(admin_user, [service])[1]

    services = client.get("/api/v1/services/", **bearer(raw)).json()["results"]
    other = client.get("/api/v1/services/loan-engine/", **bearer(raw))

    assert [s["slug"] for s in services] == ["payments-api"]
    assert other.status_code == 404


def test_a_user_token_without_services_sees_what_its_user_sees(
    client, admin_user, service, other_service
):
    raw = user_token(admin_user)[1]

    services = client.get("/api/v1/services/", **bearer(raw)).json()["results"]

    assert sorted(s["slug"] for s in services) == ["loan-engine", "payments-api"]


def test_a_token_narrowed_to_a_service_lists_only_that_services_team(
    client, admin_user, service, other_service
):
    raw = user_token(admin_user, services=[service])[1]

    teams = client.get("/api/v1/teams/", **bearer(raw)).json()["results"]
    other = client.get("/api/v1/services/loan-engine/", **bearer(raw))

    assert [t["slug"] for t in teams] == ["payments"]
    assert other.status_code == 404


@pytest.mark.parametrize(
    ("role", "sees"), [("owner", 1), ("teammate", 0), ("admin", 2), ("auditor", 2), ("sre", 0)]
)
def test_token_lists_show_own_tokens_unless_admin_or_auditor(client_for, cast, service, role, sees):
    user_token(cast["owner"])
    service_token(cast["admin"], [service])

    response = client_for(cast[role]).get(TOKENS)

    assert response.status_code == 200
    assert response.json()["count"] == sees


def test_others_cannot_revoke_my_token(client_for, owner, teammate, service):
    token = user_token(owner)[0]

    response = post_json(client_for(teammate), f"{TOKENS}{token.pk}/revoke/", {})

    assert response.status_code == 404
    assert ApiToken.objects.get().revoked_at is None
