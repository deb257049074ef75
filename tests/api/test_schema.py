"""The OpenAPI schema validates without a warning and describes exactly the API's URLs."""

import re

import yaml
from django.core.management import call_command
from django.urls import URLPattern, URLResolver, get_resolver

EXPECTED = {
    "/api/v1/gate",
    "/api/v1/jwks.json",
    "/api/v1/services/{slug}/ci-evidence",
    "/api/v1/teams/",
    "/api/v1/teams/{slug}/",
    "/api/v1/services/",
    "/api/v1/services/{slug}/",
    "/api/v1/aws-targets/",
    "/api/v1/aws-targets/{id}/",
    "/api/v1/catalog/versions/",
    "/api/v1/catalog/versions/{version}/",
    "/api/v1/catalog/controls/",
    "/api/v1/catalog/controls/{id}/",
    "/api/v1/catalog/frameworks/",
    "/api/v1/catalog/frameworks/{id}/",
    "/api/v1/catalog/requirements/",
    "/api/v1/catalog/requirements/{id}/",
    "/api/v1/reviews/",
    "/api/v1/reviews/{id}/",
    "/api/v1/reviews/{id}/submit/",
    "/api/v1/reviews/{id}/sign-off/",
    "/api/v1/reviews/{id}/reject/",
    "/api/v1/reviews/{id}/items/{item_id}/",
    "/api/v1/reviews/{id}/items/{item_id}/verdict/",
    "/api/v1/reviews/{id}/items/{item_id}/evidence/",
    "/api/v1/waivers/",
    "/api/v1/waivers/{id}/",
    "/api/v1/waivers/{id}/decide/",
    "/api/v1/waivers/{id}/revoke/",
    "/api/v1/evidence/",
    "/api/v1/evidence/{id}/",
    "/api/v1/evidence/{id}/download/",
    "/api/v1/collection/runs/",
    "/api/v1/collection/runs/{id}/",
    "/api/v1/audit/events/",
    "/api/v1/audit/events/{seq}/",
    "/api/v1/gate/decisions/",
    "/api/v1/gate/decisions/{decision_id}/",
    "/api/v1/gate/decisions/{decision_id}/replay/",
    "/api/v1/gate/break-glass/",
    "/api/v1/gate/break-glass/{id}/",
    "/api/v1/gate/break-glass/{id}/revoke/",
    "/api/v1/tokens/",
    "/api/v1/tokens/{id}/",
    "/api/v1/tokens/{id}/revoke/",
}


def _schema(tmp_path):
    out = tmp_path / "schema.yaml"
    # --fail-on-warn: any warning (unresolvable serializer, enum clash, ...) fails the test.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    return yaml.safe_load(out.read_text())


def test_the_schema_validates_without_warnings(tmp_path):
    schema = _schema(tmp_path)

    assert schema["openapi"].startswith("3.")
    assert EXPECTED - set(schema["paths"]) == set()


def _api_routes(resolver=None, prefix=""):
    """Every routable URL under /api/v1/, as OpenAPI-style paths."""
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        pattern = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from _api_routes(entry, pattern)
        elif isinstance(entry, URLPattern) and pattern.startswith(("api/v1/", "^api/v1/")):
            yield pattern


def _normal(pattern: str) -> str:
    path = pattern.replace("^", "").replace("$", "")
    path = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", path)
    path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", path)
    # drf-spectacular names a primary key parameter "id".
    return "/" + path.replace("\\.", ".").replace("{pk}", "{id}")


def test_every_api_url_is_in_the_schema(tmp_path):
    schema_paths = set(_schema(tmp_path)["paths"])
    skip = {"/api/v1/schema/", "/api/v1/docs/", "/api/v1/", "/api/v1/.{format}"}
    routes = {
        _normal(p)
        for p in _api_routes()
        if "{format}" not in _normal(p) and ".{format" not in _normal(p)
    } - skip

    assert routes >= EXPECTED  # the walk found the API's URLs
    assert routes - schema_paths == set()


def test_the_schema_and_docs_are_served_without_a_cdn(client, admin_user):
    client.force_login(admin_user)

    schema = client.get("/api/v1/schema/")
    docs = client.get("/api/v1/docs/")

    assert schema.status_code == 200
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "cdn.jsdelivr" not in html and "unpkg.com" not in html
    assert "/static/drf_spectacular_sidecar/" in html
