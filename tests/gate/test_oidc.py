"""GitHub Actions OIDC tokens as CI identity: accepted when everything holds, refused with a
reason for each thing that does not. Keys and JWKS are generated locally."""

import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from audit.models import AuditEvent
from gate.models import CiBinding, GateDecision, OidcJti
from tests.gate.helpers import all_passing, approve, bearer, gate_body, post_json

GATE = "/api/v1/gate"


@pytest.fixture
def ready(service, catalog):
    version, controls = catalog
    approve(service, version, controls)
    all_passing(service)
    return service


def ask(client, token):
    return post_json(client, GATE, gate_body(), **bearer(token))


def refused(client, token, fragment):
    before = GateDecision.objects.count()
    response = ask(client, token)
    assert response.status_code == 401, response.json()
    assert fragment in response.json()["error"]["message"]
    assert GateDecision.objects.count() == before
    return response


def test_a_valid_token_of_the_registered_repository_is_accepted(client, issuer, ready):
    response = ask(client, issuer.token())

    assert response.status_code == 200
    assert response.json()["decision"] == "allow"
    decision = GateDecision.objects.get()
    assert decision.caller_type == "ci"
    assert decision.caller_label == "github:acme/payments-api run 777"
    assert decision.caller_details["ref"] == "refs/heads/main"
    event = AuditEvent.objects.get(action="gate.decision")
    assert event.actor_type == "ci" and event.details["repository"] == "acme/payments-api"


def test_the_jwks_is_cached(client, issuer, ready):
    ask(client, issuer.token())
    ask(client, issuer.token())

    assert issuer.fetches == 1


def test_a_replayed_token_is_refused(client, issuer, ready):
    token = issuer.token()
    assert ask(client, token).status_code == 200

    response = ask(client, token)

    assert response.status_code == 401
    assert "replayed" in response.json()["error"]["message"]
    assert OidcJti.objects.count() == 1


def test_a_token_signed_by_another_key_is_refused(client, issuer, ready):
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    refused(client, issuer.token(key=stranger), "signature does not verify")


def test_an_unknown_kid_refetches_the_jwks_once(client, issuer, ready, settings):
    settings.GATE_OIDC_JWKS_MIN_REFRESH_SECONDS = 0
    ask(client, issuer.token())
    issuer.add_key("key-2")  # the provider rotated its keys

    response = ask(client, issuer.token(kid="key-2"))

    assert response.status_code == 200
    assert issuer.fetches == 2


def test_an_unknown_kid_that_stays_unknown_is_refused(client, issuer, ready):
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    refused(client, issuer.token(kid="nope", key=stranger), "unknown key")


def test_unknown_kids_do_not_cause_a_fetch_storm(client, issuer, ready):
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ask(client, issuer.token())

    for n in range(5):
        refused(client, issuer.token(kid=f"random-{n}", key=stranger), "unknown key")

    assert issuer.fetches == 1


def test_fails_closed_when_the_jwks_cannot_be_fetched(client, issuer, ready):
    issuer.available = False

    refused(client, issuer.token(), "cannot be fetched")


@pytest.mark.parametrize("algorithm", ["HS256", "none"])
def test_algorithms_outside_the_allow_list_are_refused(client, issuer, ready, algorithm):
    key = "shared-secret-shared-secret-32bytes!" if algorithm == "HS256" else None
    token = jwt.encode(issuer.claims(), key, algorithm=algorithm, headers={"kid": "key-1"})

    refused(client, token, "is not accepted")


def test_rs512_is_refused_too(client, issuer, ready):
    refused(client, issuer.token(algorithm="RS512"), "is not accepted")


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"iss": "https://evil.example.com"}, "not issued by"),
        ({"aud": "https://other-portal.example.com"}, "audience"),
        (
            {
                "exp": int(time.time()) - 300,
                "iat": int(time.time()) - 600,
                "nbf": int(time.time()) - 600,
            },
            "expired",
        ),
        ({"nbf": int(time.time()) + 600}, "not valid yet"),
        ({"iat": int(time.time()) + 600}, "not valid yet"),
        ({"exp": int(time.time()) + 86400 * 2}, "lives too long"),
        ({"jti": None}, "'jti'"),
        ({"repository": None}, "'repository'"),
        ({"repository_id": None}, "'repository_id'"),
        ({"exp": None}, "'exp'"),
    ],
)
def test_bad_claims_are_refused(client, issuer, ready, overrides, fragment):
    refused(client, issuer.token(**overrides), fragment)


def test_a_repository_with_no_service_is_refused(client, issuer, ready):
    refused(client, issuer.token(repository="acme/other-repo"), "No service is registered")


def test_a_recreated_repository_with_another_id_is_refused(client, issuer, ready):
    response = ask(client, issuer.token(repository_id="9999"))

    assert response.status_code == 403
    assert "repository_id 9999" in response.json()["error"]["message"]
    assert not GateDecision.objects.exists()


def test_a_token_bound_to_one_service_cannot_ask_for_another(client, issuer, ready, other_service):
    response = post_json(client, GATE, gate_body(service="loan-engine"), **bearer(issuer.token()))

    assert response.status_code == 404


@pytest.mark.parametrize(
    ("pin", "claims", "accepted"),
    [
        ({"allowed_refs": ["refs/heads/main"]}, {}, True),
        ({"allowed_refs": ["refs/heads/main"]}, {"ref": "refs/heads/feature"}, False),
        ({"allowed_refs": ["refs/tags/v*"]}, {"ref": "refs/tags/v1.2.0"}, True),
        ({"allowed_environments": ["prod"]}, {"environment": "dev"}, False),
        ({"allowed_environments": ["prod"]}, {"environment": None}, False),
        ({"allowed_workflow_refs": ["acme/payments-api/.github/workflows/deploy.yml@*"]}, {}, True),
        ({"allowed_workflow_refs": ["acme/platform/.github/workflows/deploy.yml@*"]}, {}, False),
    ],
)
def test_per_service_pinning(client, issuer, ready, pin, claims, accepted):
    CiBinding.objects.create(service=ready, **pin)

    response = ask(client, issuer.token(**claims))

    if accepted:
        assert response.status_code == 200, response.json()
    else:
        assert response.status_code == 403
        assert "is not allowed" in response.json()["error"]["message"]


def test_a_ci_identity_uploads_evidence_for_its_commit(client, issuer, ready):
    sarif = {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "CodeQL"}}, "results": []}]}

    response = post_json(
        client,
        "/api/v1/services/payments-api/ci-evidence",
        {"format": "sarif", "content": sarif},
        **bearer(issuer.token()),
    )

    assert response.status_code == 201, response.json()
    assert response.json()["commit_sha"] == issuer.claims()["sha"]


def test_a_ci_identity_cannot_read_or_write_other_resources(client, issuer, ready):
    response = client.get("/api/v1/reviews/", **bearer(issuer.token()))

    assert response.status_code == 403


def test_not_a_jwt_is_refused(client, ready):
    response = ask(client, "definitely-not-a-token")

    assert response.status_code == 401
    assert "neither" in response.json()["error"]["message"]
