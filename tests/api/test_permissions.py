"""The permission matrix: every resource, list and detail, for every role, an anonymous
caller and a service token bound to the other team's service. An object the caller may not
see is a 404, never a 403 that leaks it."""

from datetime import timedelta

import pytest
from django.utils import timezone

from audit.context import Actor
from audit.models import AuditEvent
from collection.models import CollectionRun
from controls.models import Framework, Requirement
from evidence.models import Evidence
from gate import services as gate_services
from gate.models import BreakGlass, GateDecision
from reviews.models import Review, Waiver
from services.models import AwsTarget
from tests.factories import AwsTargetFactory, EvidenceFactory, WaiverFactory
from tests.gate.helpers import COMMIT, all_passing, approve, bearer, service_token

ALL = ["owner", "teammate", "outsider", "sre", "security", "risk", "auditor", "admin"]
SEES_ALL = {"sre", "security", "risk", "auditor", "admin"}
PAYMENTS = {"owner", "teammate"}


@pytest.fixture
def world(cast, service, other_service, catalog):
    """One of everything for each of the two teams' services."""
    version, controls = catalog
    framework = Framework.objects.create(
        catalog_version=version, code="PCI-DSS-4.0", name="PCI DSS"
    )
    requirement = Requirement.objects.create(framework=framework, ref="6.2.4", title="SAST")
    found = {"framework": framework, "requirement": requirement}
    for key, svc in (("mine", service), ("theirs", other_service)):
        target = AwsTargetFactory(service=svc)
        approve(svc, version, controls, opened_by=cast["owner"])
        run = all_passing(svc)
        waiver = WaiverFactory(service=svc, control_code="PRR-OBS-001", requested_by=cast["owner"])
        evidence = EvidenceFactory(service=svc)
        decision = gate_services.gate_check(
            actor=Actor.system("test"), service=svc, environment="prod", commit_sha=COMMIT
        )
        glass = gate_services.break_glass_issue(
            actor=Actor.for_user(cast["admin"]),
            service=svc,
            environment="prod",
            commit_sha=COMMIT,
            reason="Emergency change for INC-9",
            hours=1,
        )
        found[key] = {
            "service": svc,
            "target": target,
            "review": Review.objects.filter(service=svc).order_by("created_at").first(),
            "run": run,
            "waiver": waiver,
            "evidence": evidence,
            "decision": decision,
            "glass": glass,
        }
    return found


def _client(client, cast, admin_user, other_service, who):
    if who == "anonymous":
        return client, {}
    if who == "token_other":
        return client, bearer(service_token(admin_user, [other_service], scopes=["read"])[1])
    client.force_login(cast[who])
    return client, {}


SERVICE_SCOPED = {
    # resource: (list URL, detail URL of an object, key in the world's per-service dict)
    "services": ("/api/v1/services/", lambda o: f"/api/v1/services/{o['service'].slug}/"),
    "aws-targets": ("/api/v1/aws-targets/", lambda o: f"/api/v1/aws-targets/{o['target'].pk}/"),
    "reviews": ("/api/v1/reviews/", lambda o: f"/api/v1/reviews/{o['review'].pk}/"),
    "waivers": ("/api/v1/waivers/", lambda o: f"/api/v1/waivers/{o['waiver'].pk}/"),
    "evidence": ("/api/v1/evidence/", lambda o: f"/api/v1/evidence/{o['evidence'].pk}/"),
    "collection-runs": (
        "/api/v1/collection/runs/",
        lambda o: f"/api/v1/collection/runs/{o['run'].pk}/",
    ),
    "gate-decisions": (
        "/api/v1/gate/decisions/",
        lambda o: f"/api/v1/gate/decisions/{o['decision'].decision_id}/",
    ),
    "break-glass": (
        "/api/v1/gate/break-glass/",
        lambda o: f"/api/v1/gate/break-glass/{o['glass'].pk}/",
    ),
}
MODELS = {
    "services": None,
    "aws-targets": AwsTarget,
    "reviews": Review,
    "waivers": Waiver,
    "evidence": Evidence,
    "collection-runs": CollectionRun,
    "gate-decisions": GateDecision,
    "break-glass": BreakGlass,
}


def _sees(who):
    if who in SEES_ALL:
        return {"mine", "theirs"}
    if who in PAYMENTS:
        return {"mine"}
    if who in ("outsider", "token_other"):
        return {"theirs"}
    return set()


def _service_of(row: dict) -> str:
    value = row.get("service")
    return value if isinstance(value, str) else row.get("slug")


@pytest.mark.parametrize("resource", sorted(SERVICE_SCOPED))
@pytest.mark.parametrize("who", [*ALL, "anonymous", "token_other"])
def test_service_scoped_lists_and_details(
    client, cast, admin_user, other_service, world, resource, who
):
    api, headers = _client(client, cast, admin_user, other_service, who)
    list_url, detail_url = SERVICE_SCOPED[resource]

    listed = api.get(list_url, {"page_size": 200}, **headers)

    if who == "anonymous":
        assert listed.status_code == 401
        assert listed.json()["error"]["code"] == "not_authenticated"
        return
    assert listed.status_code == 200
    expected = {world[key]["service"].slug for key in _sees(who)}
    assert {_service_of(row) for row in listed.json()["results"]} == expected
    for key in ("mine", "theirs"):
        detail = api.get(detail_url(world[key]), **headers)
        if key in _sees(who):
            assert detail.status_code == 200
            assert _service_of(detail.json()) == world[key]["service"].slug
        else:
            assert detail.status_code == 404
            assert detail.json()["error"]["code"] == "not_found"


CATALOG = {
    "catalog-versions": ("/api/v1/catalog/versions/", lambda w: "/api/v1/catalog/versions/2026.1/"),
    "controls": (
        "/api/v1/catalog/controls/",
        lambda w: f"/api/v1/catalog/controls/{w['mine']['review'].items.first().control_id}/",
    ),
    "frameworks": (
        "/api/v1/catalog/frameworks/",
        lambda w: f"/api/v1/catalog/frameworks/{w['framework'].pk}/",
    ),
    "requirements": (
        "/api/v1/catalog/requirements/",
        lambda w: f"/api/v1/catalog/requirements/{w['requirement'].pk}/",
    ),
}


@pytest.mark.parametrize("resource", sorted(CATALOG))
@pytest.mark.parametrize("who", [*ALL, "anonymous", "token_other"])
def test_every_authenticated_caller_reads_the_catalog(
    client, cast, admin_user, other_service, world, resource, who
):
    api, headers = _client(client, cast, admin_user, other_service, who)
    list_url, detail_url = CATALOG[resource]

    listed = api.get(list_url, **headers)
    detail = api.get(detail_url(world), **headers)

    if who == "anonymous":
        assert (listed.status_code, detail.status_code) == (401, 401)
        return
    assert listed.status_code == 200 and listed.json()["count"] >= 1
    assert detail.status_code == 200


@pytest.mark.parametrize("who", [*ALL, "anonymous", "token_other"])
def test_teams(client, cast, admin_user, other_service, world, who):
    api, headers = _client(client, cast, admin_user, other_service, who)

    listed = api.get("/api/v1/teams/", **headers)
    mine = api.get("/api/v1/teams/payments/", **headers)

    if who == "anonymous":
        assert listed.status_code == 401
        return
    slugs = {row["slug"] for row in listed.json()["results"]}
    expected = {"payments" if k == "mine" else "lending" for k in _sees(who)}
    assert slugs == expected
    assert mine.status_code == (200 if "payments" in expected else 404)


@pytest.mark.parametrize("who", [*ALL, "anonymous", "token_other"])
def test_audit_events_are_for_auditors_and_admins(
    client, cast, admin_user, other_service, world, who
):
    api, headers = _client(client, cast, admin_user, other_service, who)
    seq = AuditEvent.objects.order_by("seq").first().seq

    listed = api.get("/api/v1/audit/events/", **headers)
    detail = api.get(f"/api/v1/audit/events/{seq}/", **headers)

    expected = {"anonymous": 401, "auditor": 200, "admin": 200}.get(who, 403)
    assert listed.status_code == expected
    assert detail.status_code == expected
    if expected == 200:
        assert listed.json()["count"] == AuditEvent.objects.count()
        assert detail.json()["seq"] == seq


@pytest.mark.parametrize("who", [*ALL, "anonymous", "token_other"])
def test_token_lists(client, cast, admin_user, other_service, world, who):
    api, headers = _client(client, cast, admin_user, other_service, who)

    response = api.get("/api/v1/tokens/", **headers)

    expected = {"anonymous": 401, "token_other": 403}.get(who, 200)
    assert response.status_code == expected


def test_the_jwks_is_public(client, world):
    response = client.get("/api/v1/jwks.json")

    assert response.status_code == 200
    assert response.json()["keys"][0]["alg"] == "EdDSA"
    assert response.json()["keys"][0]["kty"] == "OKP"


def test_expired_break_glass_reads_as_expired(client_for, admin_user, world):
    glass = world["mine"]["glass"]
    BreakGlass.objects.filter(pk=glass.pk).update(
        created_at=timezone.now() - timedelta(hours=5),
        expires_at=timezone.now() - timedelta(hours=1),
    )

    body = client_for(admin_user).get(f"/api/v1/gate/break-glass/{glass.pk}/").json()

    assert body["status"] == "expired"
