"""The permission matrix, generated from the URL configuration.

Every route Django resolves (HTML pages, the REST API, the admin) is requested by every role,
an anonymous caller and an API token bound to the payments service only; path parameters are
filled with real ids of objects of the *lending* team (``other_service``), so for the payments
team's owner and teammate every detail is someone else's. A new route fails this test until it
is given a policy below.

Zero unauthorized successes:

* GET: a 2xx answer only for a caller the route's policy admits; any 2xx answer to a caller who
  may not see lending's service never contains its slug (lists leak nothing either).
* POST (empty body): a caller the policy does not admit never causes a successful audit event
  (every state change in the portal is audited in its own transaction).
* Anonymous: nothing but the allow-list (sign-in, health, JWKS and the export signing key)
  answers 2xx.

Reuses tests/api/test_permissions.py's idea for the API, extended to every HTML view.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from audit.choices import Outcome
from audit.context import Actor
from audit.models import AuditEvent
from controls.models import Framework, Requirement, Runbook
from gate import services as gate_services
from reviews.models import ItemEvidence
from tests.factories import (
    AwsTargetFactory,
    EvidenceFactory,
    WaiverFactory,
)
from tests.gate.helpers import COMMIT, all_passing, approve, make_catalog, service_token

MARKER = b"loan-engine"  # lending's service slug: must never reach payments' people
THEIRS = {"outsider", "sre", "security", "risk", "auditor", "admin"}
SIGNED_IN = {"owner", "teammate", "outsider", "sre", "security", "risk", "auditor", "admin"}
CALLERS = [*sorted(SIGNED_IN), "anonymous", "token_mine"]

# Route name (regex, first match wins) -> who may get a 2xx answer.
PUBLIC = {"anonymous", "token_mine", *SIGNED_IN}
POLICIES: list[tuple[str, set[str]]] = [
    # The allow-list: reachable without signing in.
    (r"^(healthz|readyz|well_known_jwks|login|admin:login|api:jwks)$", PUBLIC),
    (r"^(exports:public_key|api:exports-api:public-key)$", PUBLIC),  # verification key
    (r"^admin:", {"admin"}),
    # Lending's objects: its team and everyone who sees every service.
    (
        r"^(services:(detail|edit|aws_target_create)|reviews:(service_reviews|open|"
        r"waiver_request|detail|comment|submit|request_changes|signoff|revoke|reopen|item.*|"
        r"evidence_preview|waiver_detail|waiver_decide|waiver_revoke)|evidence:.*|collection:.*|"
        r"exports:(review_export|review_download|service_export|download)|api:(ci-evidence|"
        r"exports-api:review-now|team-detail|service-detail|aws-target-detail|collection-run-detail|"
        r"(review|waiver|evidence|gate-decision|break-glass)-(?!list).*))$",
        THEIRS,
    ),
    (r"^(audit:.*|api:audit-event-.*)$", {"auditor", "admin", "sre", "security", "risk"}),
    # Objects of the lending owner (auditors read every token's metadata, never its secret).
    (r"^api:api-token-detail$", {"outsider", "admin", "auditor"}),
    (r"^api:exports-api:job-(?!list)", {"outsider"}),  # an export is its requester's
    (
        r"^(gate:token_revoke|api:api-token-revoke|notifications:(webhook|webhook_delete|"
        r"delivery_retry))$",
        {"outsider", "admin"},
    ),
    (r"^api:", SIGNED_IN | {"token_mine"}),  # lists, catalog, schema: filtered per caller
    (r".*", SIGNED_IN),  # every other HTML page: signed-in users, filtered per user
]
# A list may show lending's slug only to those who may see lending's service.
SEES_LENDING = THEIRS


def policy(name: str) -> set[str]:
    for pattern, allowed in POLICIES:
        if re.search(pattern, name):
            return allowed
    raise AssertionError(name)


def routes(patterns=None, ns=None, prefix=""):
    """(name, parameter names, route) of every pattern the resolver knows."""
    for p in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(p, URLResolver):
            child_ns = f"{ns}:{p.namespace}" if ns and p.namespace else (p.namespace or ns)
            yield from routes(p.url_patterns, child_ns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            name = f"{ns}:{p.name}" if ns and p.name else p.name
            yield name, list(p.pattern.regex.groupindex), prefix + str(p.pattern)


@pytest.fixture
def world(cast, service, other_service):
    """Lending's objects (one of each), and an API token bound to payments."""
    cache.clear()
    version, controls = make_catalog()
    framework = Framework.objects.create(catalog_version=version, code="PCI-DSS-4.0", name="PCI")
    requirement = Requirement.objects.create(framework=framework, ref="6.2.4", title="SAST")
    runbook = Runbook.objects.create(
        catalog_version=version,
        slug="lambda-rollback",
        title="Rollback",
        scenario="A bad deploy.",
        escalation_path="On-call SRE.",
    )
    outsider, admin = cast["outsider"], cast["admin"]
    for svc, owner in ((service, cast["owner"]), (other_service, outsider)):
        AwsTargetFactory(service=svc)
        approve(svc, version, controls, opened_by=owner)
        all_passing(svc)
    target = other_service.aws_targets.first()
    review = other_service.reviews.first()
    item = review.items.first()
    evidence = EvidenceFactory(service=other_service)
    ItemEvidence.objects.create(item=item, evidence=evidence, attached_by=outsider)
    waiver = WaiverFactory(service=other_service, control_code="PRR-OBS-001", requested_by=outsider)
    decision = gate_services.gate_check(
        actor=Actor.system("test"), service=other_service, environment="prod", commit_sha=COMMIT
    )
    glass = gate_services.break_glass_issue(
        actor=Actor.for_user(admin),
        service=other_service,
        environment="prod",
        commit_sha=COMMIT,
        reason="Emergency change for INC-9",
        hours=1,
    )
    from collection.models import CollectionRun, ResourceSnapshot
    from exports.services import export_request
    from notifications.models import Notification, Webhook, WebhookDelivery

    run = CollectionRun.objects.filter(service=other_service).first()
    snapshot = ResourceSnapshot.objects.create(
        run=run,
        account_id="123456789012",
        region="eu-west-1",
        collector_role_arn=run.role_arn,
        resource_id="loan-engine-fn",
        resource_arn="arn:aws:lambda:eu-west-1:123456789012:function:loan-engine-fn",
        facts={},
        api_operations=[],
        collected_at=timezone.now(),
        sha256="0" * 64,
    )
    job = export_request(actor=Actor.for_user(outsider), scope="review", fmt="csv", review=review)
    token = gate_services.api_token_create(
        actor=Actor.for_user(outsider),
        name="lending token",
        scopes=["read"],
        expires_at=timezone.now() + timedelta(days=5),
        services=[other_service],
    )[0]
    hook = Webhook.objects.create(
        team=other_service.team,
        name="lending hook",
        url="https://hooks.example.com/x",
        secret="s" * 32,
        events=[],
        created_by=outsider,
    )
    note = Notification.objects.create(
        event="review.approved", key="k1", service=other_service, subject="s", body="b"
    )
    delivery = WebhookDelivery.objects.create(webhook=hook, notification=note)
    seq = AuditEvent.objects.filter(service_slug="loan-engine").order_by("seq").first().seq
    mine_token = service_token(admin, [service], scopes=["read", "gate:check"])[1]
    return {
        "slug": other_service.slug,
        "team_slug": other_service.team.slug,
        "target_id": target.pk,
        "review": review.pk,
        "item": item.pk,
        "evidence": evidence.pk,
        "waiver": waiver.pk,
        "run_id": run.pk,
        "snapshot_id": snapshot.pk,
        "decision_id": str(decision.decision_id),
        "glass": glass.pk,
        "job": job.pk,
        "token": token.pk,
        "hook": hook.pk,
        "delivery": delivery.pk,
        "seq": seq,
        "control": controls[0].pk,
        "control_code": controls[0].code,
        "framework": framework.pk,
        "framework_code": framework.code,
        "requirement": requirement.pk,
        "runbook": runbook.slug,
        "version": version.version,
        "mine_token": mine_token,
    }


def fill(name: str, params: list[str], w: dict) -> dict:
    """Real ids of lending's objects for the route's parameters."""
    by_route = {
        "pk": {
            "reviews:waiver": w["waiver"],
            "api:waiver": w["waiver"],
            "evidence:": w["evidence"],
            "api:evidence": w["evidence"],
            "gate:": w["token"],
            "api:api-token": w["token"],
            "exports:": w["job"],
            "api:exports-api:job": w["job"],
            "notifications:": w["hook"],
            "api:aws-target": w["target_id"],
            "api:collection-run": w["run_id"],
            "api:break-glass": w["glass"],
            "api:control": w["control"],
            "api:framework": w["framework"],
            "api:requirement": w["requirement"],
            "admin:": 1,
        },
        "slug": {
            "controls:runbook": w["runbook"],
            "api:team": w["team_slug"],
        },
        "code": {"controls:framework": w["framework_code"]},
    }
    simple = {
        "pk": w["review"],
        "slug": w["slug"],
        "code": w["control_code"],
        "item_pk": w["item"],
        "item_id": w["item"],
        "evidence_pk": w["evidence"],
        "target_id": w["target_id"],
        "run_id": w["run_id"],
        "snapshot_id": w["snapshot_id"],
        "review_id": w["review"],
        "decision_id": w["decision_id"],
        "delivery_pk": w["delivery"],
        "seq": w["seq"],
        "version": w["version"],
        "fmt": "csv",
        "name": "control-matrix",
        "path": "scp/security-baseline.json",
        "object_id": "1",
        "app_label": "accounts",
    }
    out = {}
    for param in params:
        value = simple.get(param, "1")
        for prefix, special in by_route.get(param, {}).items():
            if name.startswith(prefix):
                value = special
                break
        out[param] = value
    if name.startswith("controls:doc_download"):
        out["fmt"] = "md"
    return out


def _urls(w: dict) -> list[tuple[str, str]]:
    found = []
    unnamed = []
    for name, params, route in routes():
        if name is None:
            if route.startswith("admin/"):  # the admin's unnamed redirects and catch-all
                path = re.sub(r"<[^>]+>", "1", route).replace("(?P<url>.*)$", "x/")
                found.append(("admin:unnamed", "/" + path))
            else:
                unnamed.append(route)
            continue
        if "format" in params:
            continue  # DRF's ".json" twins of the routes below
        found.append((name, reverse(name, kwargs=fill(name, params, w))))
    assert not unnamed, f"routes without a name cannot be classified: {unnamed}"
    return sorted(set(found))


def _request(client, who, w, method, url):
    headers = {}
    if who == "token_mine":
        headers["HTTP_AUTHORIZATION"] = f"Bearer {w['mine_token']}"
    return getattr(client, method)(url, **headers)


@pytest.mark.parametrize("who", CALLERS)
def test_no_route_answers_a_caller_it_should_not(client, cast, world, who):
    if who in cast:
        client.force_login(cast[who])
    urls = _urls(world)
    assert len(urls) > 250
    leaks, unauthorized = [], []
    for name, url in urls:
        response = _request(client, who, world, "get", url)
        if not 200 <= response.status_code < 300:
            continue
        if who not in policy(name):
            unauthorized.append((name, url, response.status_code))
        body = b"".join(response) if response.streaming else response.content
        if who not in SEES_LENDING and MARKER in body:
            leaks.append((name, url))
    assert not unauthorized, f"{who} got answers it must not: {unauthorized}"
    assert not leaks, f"{who} saw lending's service in: {leaks}"


@pytest.mark.parametrize("who", ["anonymous", "owner", "teammate", "token_mine"])
def test_no_post_by_an_unauthorized_caller_changes_anything(client, cast, world, who):
    if who in cast:
        client.force_login(cast[who])
    before = AuditEvent.objects.filter(outcome=Outcome.SUCCESS).count()
    changed = []
    for name, url in _urls(world):
        if who in policy(name) or name.startswith("admin:"):
            continue
        response = _request(client, who, world, "post", url)
        after = AuditEvent.objects.filter(outcome=Outcome.SUCCESS).count()
        if after != before:
            changed.append((name, url, response.status_code))
            before = after
    assert not changed, f"{who} changed something through: {changed}"


# Objects that exist but have no content to serve (link evidence, an export not yet built).
# The guardrail viewer serves only files a control of the catalog links (the test catalog: none).
NOTHING_TO_SERVE = {
    "api:evidence-download",
    "exports:download",
    "api:exports-api:job-download",
    "controls:guardrail",
}


def test_every_route_is_answered_by_someone(client, cast, world):
    """Guards the matrix itself: ids that resolve to nothing would make it pass vacuously."""
    dead = []
    for name, url in _urls(world):
        if name.startswith("admin:") or name in NOTHING_TO_SERVE:
            continue
        for who in ("admin", "outsider", "auditor"):
            client.force_login(cast[who])
            status = client.get(url).status_code
            if status not in (404, 500):
                break
        else:
            dead.append((name, url, status))
    assert not dead, dead
