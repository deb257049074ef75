import json
from unittest import mock

from django.db import connection


def test_healthz_answers_without_database(client, db, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.json() == {"status": "ok"}


def test_readyz_reports_ready_when_database_and_broker_answer(client, db):
    response = client.get("/readyz")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "ready"


def test_readyz_is_503_when_the_database_is_down(client, db):
    def broken_cursor(*args, **kwargs):
        raise connection.Database.OperationalError("connection refused")

    with mock.patch.object(connection, "cursor", broken_cursor):
        response = client.get("/readyz")
    assert response.status_code == 503
    body = json.loads(response.content)
    assert body["status"] == "unavailable"
    assert body["problems"] == ["database unreachable: OperationalError"]


def test_readyz_is_503_when_the_broker_is_down(client, db, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {}
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["problems"][0].startswith("broker unreachable")


def test_every_response_carries_a_request_id_and_csp(client):
    response = client.get("/healthz", HTTP_X_REQUEST_ID="abc12345-trace")
    assert response["X-Request-ID"] == "abc12345-trace"
    generated = client.get("/healthz", HTTP_X_REQUEST_ID="bad id\r\nx")["X-Request-ID"]
    assert len(generated) == 32 and generated.isalnum()
    csp = response["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "cdn" not in csp


def test_csp_script_source_is_a_real_per_request_nonce(rf):
    from csp.middleware import CSPMiddleware
    from django.http import HttpResponse

    def view(request):
        return HttpResponse(f"<script nonce='{request.csp_nonce}'></script>")

    middleware = CSPMiddleware(view)
    headers = [middleware(rf.get("/"))["Content-Security-Policy"] for _ in range(2)]
    script_src = [next(d for d in h.split(";") if "script-src" in d) for h in headers]
    assert all("'nonce-" in src for src in script_src)
    assert all("'nonce'" not in src for src in script_src)
    assert script_src[0] != script_src[1]


def test_public_keys_are_published_at_the_well_known_address(client, db):
    keys = client.get("/.well-known/jwks.json").json()["keys"]
    assert keys == client.get("/api/v1/jwks.json").json()["keys"]
    assert keys[0]["kty"] == "OKP" and keys[0]["crv"] == "Ed25519"
    assert "d" not in keys[0]
