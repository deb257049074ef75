"""The gate: allow and deny cases, signatures, storage, audit, replay and cost."""

from datetime import timedelta

import jwt
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audit.context import Actor
from audit.models import AuditEvent
from gate import selectors
from gate import services as gate_services
from gate.models import BreakGlass, GateDecision
from reviews.models import Review
from tests.factories import ControlFactory, ReviewItemFactory, UserFactory, WaiverFactory
from tests.gate.helpers import (
    CHECKS,
    COMMIT,
    OTHER_COMMIT,
    all_passing,
    approve,
    bearer,
    collect,
    gate_body,
    post_json,
    service_token,
)

GATE = "/api/v1/gate"


@pytest.fixture
def ci(admin_user, service):
    return service_token(admin_user, [service])[1]


@pytest.fixture
def ready(service, catalog):
    """An approved prod review and fresh passing results for every automated control."""
    version, controls = catalog
    review = approve(service, version, controls)
    all_passing(service)
    return review


def ask(client, raw, **body):
    return post_json(client, GATE, gate_body(**body), **bearer(raw))


def codes(response):
    return [(r["code"], r.get("control")) for r in response.json()["reasons"]]


def test_allows_an_approved_service_with_fresh_passing_controls(client, ci, ready):
    response = ask(client, ci)

    assert response.status_code == 200
    body = response.json()
    assert body["decision"] == "allow"
    assert body["reasons"] == []
    assert body["review"] == ready.pk
    assert body["approved_at"] and body["evaluated_at"] and body["decision_id"]
    # The allow holds until the earliest of the approval and the results' freshness (7 days).
    assert body["expires_at"] < ready.expires_at.isoformat()
    stored = GateDecision.objects.get(decision_id=body["decision_id"])
    assert stored.decision == "allow"
    assert stored.caller_type == "api_token"
    assert stored.inputs["review"]["id"] == ready.pk
    assert {c["code"] for c in stored.inputs["controls"]} == {"PRR-RUN-001", "PRR-OBS-001"}


def test_decision_signature_verifies_with_the_published_jwks(client, ci, ready):
    body = ask(client, ci).json()

    jwks = client.get("/api/v1/jwks.json").json()
    header = jwt.get_unverified_header(body["signature"])
    key = next(k for k in jwks["keys"] if k["kid"] == header["kid"])
    claims = jwt.decode(body["signature"], jwt.PyJWK(key).key, algorithms=["EdDSA"])
    assert header["alg"] == "EdDSA"
    assert claims["decision"] == "allow"
    assert claims["decision_id"] == body["decision_id"]
    assert claims["commit_sha"] == COMMIT
    assert claims["service"] == "payments-api"


def test_every_decision_is_audited_with_its_caller(client, ci, ready):
    body = ask(client, ci).json()

    event = AuditEvent.objects.get(action="gate.decision")
    assert event.object_id == str(GateDecision.objects.get(decision_id=body["decision_id"]).pk)
    assert event.actor_type == "api_token"
    assert event.after["decision"] == "allow"
    assert event.details["commit_sha"] == COMMIT
    assert event.service_slug == "payments-api"


def test_denies_without_a_review_and_names_failing_controls(client, ci, service, catalog):
    collect(service, {CHECKS["PRR-RUN-001"]: "fail", CHECKS["PRR-OBS-001"]: "pass"})

    body = ask(client, ci).json()

    assert body["decision"] == "deny"
    assert ("no_review", None) in codes_of(body)
    assert ("control_failing", "PRR-RUN-001") in codes_of(body)
    assert body["review"] is None


def codes_of(body):
    return [(r["code"], r.get("control")) for r in body["reasons"]]


def test_denies_an_expired_approval(client, ci, service, catalog):
    version, controls = catalog
    review = approve(service, version, controls)
    Review.objects.filter(pk=review.pk).update(expires_at=timezone.now() - timedelta(hours=1))
    all_passing(service)

    response = ask(client, ci)

    assert response.json()["decision"] == "deny"
    assert codes(response) == [("review_expired", None)]
    assert "expired" in response.json()["reasons"][0]["message"]


def test_denies_a_revoked_approval(client, ci, service, catalog):
    version, controls = catalog
    approve(service, version, controls, status="revoked", revoked_reason="drift: PRR-RUN-001")
    all_passing(service)

    response = ask(client, ci)

    assert codes(response) == [("review_revoked", None)]
    assert "drift: PRR-RUN-001" in response.json()["reasons"][0]["message"]


@pytest.mark.parametrize("status", ["draft", "submitted", "changes_requested"])
def test_denies_a_review_that_is_not_approved(client, ci, service, catalog, status):
    version, controls = catalog
    approve(
        service,
        version,
        controls,
        status=status,
        approved_at=None,
        expires_at=None,
        approval_hash="",
    )
    all_passing(service)

    response = ask(client, ci)

    assert codes(response) == [("review_not_approved", None)]


def test_denies_an_approval_for_another_environment(client, ci, service, catalog):
    version, controls = catalog
    approve(service, version, controls, environment="staging")
    all_passing(service)

    assert codes(ask(client, ci)) == [("no_review", None)]


def test_denies_stale_results(client, ci, service, catalog):
    version, controls = catalog
    approve(service, version, controls)
    all_passing(service, age_days=8)  # freshness is 7 days

    response = ask(client, ci)

    assert response.json()["decision"] == "deny"
    assert codes(response) == [("control_stale", "PRR-RUN-001"), ("control_stale", "PRR-OBS-001")]


def test_denies_a_failing_control_and_names_the_function(client, ci, service, catalog):
    version, controls = catalog
    approve(service, version, controls)
    collect(service, {CHECKS["PRR-RUN-001"]: "pass", CHECKS["PRR-OBS-001"]: "fail"})

    response = ask(client, ci)

    assert codes(response) == [("control_failing", "PRR-OBS-001")]
    assert "payments-api-0" in response.json()["reasons"][0]["message"]


def test_denies_a_control_with_no_result(client, ci, service, catalog):
    version, controls = catalog
    approve(service, version, controls)
    collect(service, {CHECKS["PRR-RUN-001"]: "pass"})

    assert codes(ask(client, ci)) == [("control_no_result", "PRR-OBS-001")]


def test_optional_and_manual_controls_do_not_block(client, ci, service, catalog):
    version, controls = catalog
    approve(service, version, controls)
    collect(
        service, {**dict.fromkeys(CHECKS.values(), "pass"), "lambda.arm64_architecture": "fail"}
    )

    assert ask(client, ci).json()["decision"] == "allow"


def _waiver(service, risk, requester, **kwargs):
    return WaiverFactory(
        service=service,
        control_code="PRR-OBS-001",
        status="approved",
        decided_by=risk,
        requested_by=requester,
        **kwargs,
    )


def test_an_active_waiver_covers_a_failing_control(client, ci, service, catalog, risk, owner):
    version, controls = catalog
    approve(service, version, controls)
    collect(service, {CHECKS["PRR-RUN-001"]: "pass", CHECKS["PRR-OBS-001"]: "fail"})
    waiver = _waiver(service, risk, owner)

    body = ask(client, ci).json()

    assert body["decision"] == "allow"
    assert codes_of(body) == [("control_waived", "PRR-OBS-001")]
    assert f"waiver #{waiver.pk}" in body["reasons"][0]["message"]
    assert body["expires_at"] <= waiver.expires_at.isoformat()


def test_an_expired_waiver_stops_counting_at_once(client, ci, service, catalog, risk, owner):
    version, controls = catalog
    approve(service, version, controls)
    collect(service, {CHECKS["PRR-RUN-001"]: "pass", CHECKS["PRR-OBS-001"]: "fail"})
    waiver = _waiver(service, risk, owner)
    type(waiver).objects.filter(pk=waiver.pk).update(
        created_at=timezone.now() - timedelta(days=40),
        expires_at=timezone.now() - timedelta(minutes=1),
    )

    assert codes(ask(client, ci)) == [("control_failing", "PRR-OBS-001")]


def test_a_waiver_for_another_commit_does_not_count(client, ci, service, catalog, risk, owner):
    version, controls = catalog
    approve(service, version, controls)
    collect(service, {CHECKS["PRR-RUN-001"]: "pass", CHECKS["PRR-OBS-001"]: "fail"})
    _waiver(service, risk, owner, commit_sha=OTHER_COMMIT[:12])

    assert ask(client, ci).json()["decision"] == "deny"
    assert ask(client, ci, commit=OTHER_COMMIT).json()["decision"] == "allow"


def test_the_longest_lasting_waiver_of_a_control_is_the_one_recorded(
    client, ci, service, catalog, risk, owner
):
    version, controls = catalog
    approve(service, version, controls)
    collect(service, {CHECKS["PRR-RUN-001"]: "pass", CHECKS["PRR-OBS-001"]: "fail"})
    short = _waiver(service, risk, owner, expires_at=timezone.now() + timedelta(days=3))
    long = _waiver(service, risk, owner, expires_at=timezone.now() + timedelta(days=20))

    body = ask(client, ci).json()

    recorded = GateDecision.objects.get().inputs["waivers"]
    assert recorded == {
        "PRR-OBS-001": {
            "id": long.pk,
            "expires_at": long.expires_at.isoformat(),
            "commit_sha": "",
            "release": "",
        }
    }
    assert f"waiver #{long.pk}" in body["reasons"][0]["message"]
    assert short.pk != long.pk


def test_the_snapshot_records_the_review_and_break_glass_as_stored(
    client, ci, service, catalog, admin_user
):
    version, controls = catalog
    review = approve(service, version, controls)
    collect(service, {CHECKS["PRR-RUN-001"]: "pass", CHECKS["PRR-OBS-001"]: "fail"})
    glass = gate_services.break_glass_issue(
        actor=Actor.for_user(admin_user),
        service=service,
        environment="prod",
        commit_sha=COMMIT,
        reason="INC-1 hotfix",
        hours=2,
    )

    assert ask(client, ci).json()["decision"] == "allow"

    inputs = GateDecision.objects.get().inputs
    review.refresh_from_db()
    glass.refresh_from_db()
    assert inputs["review"] == {
        "id": review.pk,
        "status": "approved",
        "catalog_version": version.version,
        "approved_at": review.approved_at.isoformat(),
        "expires_at": review.expires_at.isoformat(),
        "revoked_at": None,
        "revoked_reason": "",
        "approval_hash": review.approval_hash,
    }
    assert inputs["break_glass"] == {
        "id": glass.pk,
        "commit_sha": COMMIT,
        "issued_by": admin_user.get_username(),
        "reason": "INC-1 hotfix",
        "expires_at": glass.expires_at.isoformat(),
        "followup_review": glass.followup_review_id,
    }
    assert [c["code"] for c in inputs["controls"]] == ["PRR-RUN-001", "PRR-OBS-001"]


@pytest.mark.parametrize("ci_codes", [set(), {"PRR-SEC-001"}])
@pytest.mark.parametrize("environment", ["prod", "staging"])
def test_the_compiled_snapshot_read_matches_the_orm_query(
    service, catalog, risk, owner, admin_user, ci_codes, environment
):
    version, controls = catalog
    approve(service, version, controls)
    _waiver(service, risk, owner)
    gate_services.break_glass_issue(
        actor=Actor.for_user(admin_user),
        service=service,
        environment="prod",
        commit_sha=COMMIT,
        reason="INC-1 hotfix",
        hours=2,
    )
    at = timezone.now()
    prefixes = selectors.commit_prefixes(COMMIT)

    assert selectors._head_template(ci_codes, len(prefixes)) is not None
    compiled = selectors._snapshot_head(service, environment, COMMIT, at, ci_codes)
    orm = selectors._snapshot_head_query(service.pk, environment, prefixes, at, ci_codes).get()

    assert compiled == orm
    assert (compiled["gate_review"] is None) == (environment == "staging")
    assert (compiled["gate_glass"] is None) == (environment == "staging")
    assert len(compiled["gate_waivers"]) == 1


def test_unknown_environment_is_a_deny_with_the_registered_ones(client, ci, ready):
    response = ask(client, ci, environment="qa")

    assert codes(response) == [("unknown_environment", None)]
    assert "staging, prod" in response.json()["reasons"][0]["message"]


def test_unknown_service_is_404_with_a_message(client, ci, ready):
    response = ask(client, ci, service="no-such-service")

    assert response.status_code == 404
    assert response.json()["error"]["message"] == "Unknown service 'no-such-service'."
    assert not GateDecision.objects.exists()


def test_a_token_of_another_service_cannot_ask_for_this_one(
    client, admin_user, ready, other_service
):
    raw = service_token(admin_user, [other_service])[1]

    response = ask(client, raw)

    assert response.status_code == 404
    assert not GateDecision.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"environment": "prod", "commit_sha": COMMIT}, "service"),
        ({"service": "payments-api", "commit_sha": COMMIT}, "environment"),
        ({"service": "payments-api", "environment": "prod"}, "commit_sha"),
        ({"service": "payments-api", "environment": "prod", "commit_sha": "abc123"}, "commit_sha"),
        (gate_body(artifact_sha256="zz"), "artifact_sha256"),
        (gate_body(environment="Prod!"), "environment"),
    ],
)
def test_a_malformed_body_is_400_naming_the_field(client, ci, ready, body, field):
    response = post_json(client, GATE, body, **bearer(ci))

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert field in error["details"]
    assert error["message"].startswith(field)
    assert not GateDecision.objects.exists()


def test_a_non_json_body_is_400(client, ci, ready):
    response = client.post(GATE, data="{not json", content_type="application/json", **bearer(ci))

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parse_error"


def test_anonymous_callers_are_refused(client, ready):
    response = post_json(client, GATE, gate_body())

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_read_only_token_cannot_ask_the_gate(client, owner, ready):
    from tests.gate.helpers import user_token

    raw = user_token(owner, scopes=("read",))[1]

    response = ask(client, raw)

    assert response.status_code == 403
    assert "gate:check" in response.json()["error"]["message"]


def test_a_signed_in_team_member_may_ask(client_for, owner, ready):
    response = post_json(client_for(owner), GATE, gate_body())

    assert response.json()["decision"] == "allow"
    assert GateDecision.objects.get().caller_label == "owner"


# --- break-glass --------------------------------------------------------------------------


def _deny_setup(service, catalog):
    version, controls = catalog
    approve(service, version, controls)
    collect(service, {CHECKS["PRR-RUN-001"]: "fail", CHECKS["PRR-OBS-001"]: "pass"})


def test_break_glass_allows_one_commit_and_opens_a_followup_review(
    client, client_for, ci, service, catalog, admin_user
):
    _deny_setup(service, catalog)
    assert ask(client, ci).json()["decision"] == "deny"

    issued = post_json(
        client_for(admin_user),
        "/api/v1/gate/break-glass/",
        {
            "service": "payments-api",
            "environment": "prod",
            "commit_sha": COMMIT,
            "reason": "Card authorisations failing; hotfix for INC-1234.",
            "hours": 2,
        },
    )
    client.logout()

    assert issued.status_code == 201, issued.json()
    glass = BreakGlass.objects.get()
    assert glass.issued_by == admin_user
    followup = glass.followup_review
    assert followup.status == "draft" and followup.environment == "prod"
    assert followup.items.count() == 4
    allowed = ask(client, ci).json()
    assert allowed["decision"] == "allow"
    assert allowed["break_glass"] == glass.pk
    assert allowed["reasons"][0]["code"] == "break_glass"
    assert "INC-1234" in allowed["reasons"][0]["message"]
    assert ("control_failing", "PRR-RUN-001") in codes_of(allowed)
    assert ask(client, ci, commit=OTHER_COMMIT).json()["decision"] == "deny"
    actions = list(AuditEvent.objects.values_list("action", flat=True))
    assert "gate.break_glass_issue" in actions and "review.open" in actions


def test_break_glass_expires_and_can_be_revoked(client, ci, service, catalog, admin_user):
    _deny_setup(service, catalog)
    glass = gate_services.break_glass_issue(
        actor=Actor.for_user(admin_user),
        service=service,
        environment="prod",
        commit_sha=COMMIT,
        reason="Emergency fix for INC-1",
        hours=1,
    )
    assert ask(client, ci).json()["decision"] == "allow"

    BreakGlass.objects.filter(pk=glass.pk).update(
        created_at=timezone.now() - timedelta(hours=3),
        expires_at=timezone.now() - timedelta(hours=2),
    )
    assert ask(client, ci).json()["decision"] == "deny"

    BreakGlass.objects.filter(pk=glass.pk).update(expires_at=timezone.now() + timedelta(hours=1))
    gate_services.break_glass_revoke(
        actor=Actor.for_user(admin_user), break_glass=glass, reason="fixed properly"
    )
    assert ask(client, ci).json()["decision"] == "deny"


@pytest.mark.parametrize("role", ["owner", "sre", "security", "auditor"])
def test_only_admins_issue_break_glass(client_for, cast, service, catalog, role):
    response = post_json(
        client_for(cast[role]),
        "/api/v1/gate/break-glass/",
        {
            "service": "payments-api",
            "environment": "prod",
            "commit_sha": COMMIT,
            "reason": "Because I said so, really",
            "hours": 2,
        },
    )

    assert response.status_code == 403
    assert not BreakGlass.objects.exists()


def test_break_glass_is_time_limited(client_for, admin_user, service, catalog):
    response = post_json(
        client_for(admin_user),
        "/api/v1/gate/break-glass/",
        {
            "service": "payments-api",
            "environment": "prod",
            "commit_sha": COMMIT,
            "reason": "A long emergency for real",
            "hours": 72,
        },
    )

    assert response.status_code == 400
    assert "hours" in response.json()["error"]["details"]


def test_break_glass_links_an_already_open_review(admin_user, owner, service, catalog):
    version, controls = catalog
    draft = approve(
        service,
        version,
        controls,
        status="draft",
        approved_at=None,
        expires_at=None,
        approval_hash="",
    )

    glass = gate_services.break_glass_issue(
        actor=Actor.for_user(admin_user),
        service=service,
        environment="prod",
        commit_sha=COMMIT,
        reason="Emergency fix for INC-2",
        hours=1,
    )

    assert glass.followup_review == draft
    assert Review.objects.count() == 1


# --- replay -------------------------------------------------------------------------------


def test_an_auditor_replays_a_decision_from_the_data_as_it_was(
    client, client_for, ci, ready, auditor
):
    decision_id = ask(client, ci).json()["decision_id"]
    # Everything changes afterwards: the review is revoked, the controls start failing.
    Review.objects.filter(pk=ready.pk).update(status="revoked", revoked_reason="drift")
    collect(ready.service, dict.fromkeys(CHECKS.values(), "fail"))
    assert ask(client, ci).json()["decision"] == "deny"

    response = client_for(auditor).post(f"/api/v1/gate/decisions/{decision_id}/replay/")

    assert response.status_code == 200
    body = response.json()
    assert body["matches"] is True
    assert body["signature_valid"] is True
    assert body["replayed"]["decision"] == body["stored"]["decision"] == "allow"
    assert AuditEvent.objects.filter(action="gate.replay", actor_label="auditor").exists()


def test_replay_detects_a_tampered_decision(client, client_for, ci, ready, auditor):
    decision_id = ask(client, ci).json()["decision_id"]
    # Bypass the model's refusal (and on PostgreSQL the trigger), as a table owner might.
    postgres = connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        if postgres:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no pending FK checks
            cursor.execute("ALTER TABLE gate_gatedecision DISABLE TRIGGER USER")
        cursor.execute(
            "UPDATE gate_gatedecision SET decision = 'deny' WHERE decision_id = %s",
            [decision_id if postgres else decision_id.replace("-", "")],
        )
        if postgres:
            cursor.execute("ALTER TABLE gate_gatedecision ENABLE TRIGGER USER")

    body = client_for(auditor).post(f"/api/v1/gate/decisions/{decision_id}/replay/").json()

    assert body["matches"] is False
    assert body["signature_valid"] is False


@pytest.mark.parametrize("role", ["owner", "sre", "risk"])
def test_only_auditors_and_admins_replay(client, client_for, ci, ready, cast, role):
    decision_id = ask(client, ci).json()["decision_id"]

    response = client_for(cast[role]).post(f"/api/v1/gate/decisions/{decision_id}/replay/")

    assert response.status_code == 403


def test_postgres_refuses_to_change_a_decision(client, ci, ready, postgres_only):
    from django.db import DatabaseError, transaction

    ask(client, ci)

    with (
        pytest.raises(DatabaseError, match="immutable"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("UPDATE gate_gatedecision SET decision = 'deny'")


def test_decisions_are_never_updated_or_deleted(client, ci, ready):
    ask(client, ci)
    decision = GateDecision.objects.get()

    with pytest.raises(TypeError):
        decision.save()
    with pytest.raises(TypeError):
        GateDecision.objects.all().delete()


# --- cost ---------------------------------------------------------------------------------


def _grow(service, version, review, owner, risk, *, controls: int, results: int):
    """Many more controls (half of them automated and mandatory), results, reviews, waivers
    and evidence."""
    from tests.factories import EvidenceFactory

    for n in range(controls):
        control = ControlFactory(
            catalog_version=version,
            code=f"PRR-GEN-{n:03d}",
            check_id=f"gen.check_{n}" if n % 2 == 0 else "",
            position=10 + n,
        )
        ReviewItemFactory(review=review, control=control, mandatory=True)
    statuses = {f"gen.check_{n}": "pass" for n in range(0, controls, 2)}
    collect(service, {**statuses, **dict.fromkeys(CHECKS.values(), "pass")}, resources=results)
    for n in range(controls // 4):
        WaiverFactory(
            service=service,
            control_code=f"PRR-GEN-{n:03d}",
            status="approved",
            decided_by=risk,
            requested_by=owner,
        )
        EvidenceFactory(service=service, control_code=f"PRR-GEN-{n:03d}")
    for _n in range(20):
        approve(
            service,
            version,
            [],
            environment="prod",
            status="expired",
            approved_at=None,
            expires_at=None,
            approval_hash="",
        )


def test_the_gate_costs_the_same_queries_whatever_the_data_size(
    client, ci, ready, owner, risk, django_assert_num_queries
):
    ask(client, ci)  # warm up: token last-used stamp, audit chain head
    with CaptureQueriesContext(connection) as small:
        assert ask(client, ci).json()["decision"] == "allow"
    small_count = len(small.captured_queries)  # before the query log rolls over

    _grow(ready.service, ready.catalog_version, ready, owner, risk, controls=200, results=5)
    ask(client, ci)

    with django_assert_num_queries(small_count):
        body = ask(client, ci).json()
    assert body["decision"] == "allow"
    assert len(GateDecision.objects.latest("evaluated_at").inputs["controls"]) == 102
    # The token (1), the service (1), the review with its controls, the waivers and the
    # break-glass allow (1), the latest check results (3); then the decision, the audit event
    # under the chain-head lock with BEGIN/COMMIT (6; the audit event takes no savepoint of its
    # own). It was 18 before the reads were merged, 14 before audit_record's savepoint went.
    assert small_count == 12


def test_user_token_and_session_have_a_fixed_cost_too(client_for, owner, ready, risk):
    client = client_for(owner)
    post_json(client, GATE, gate_body())
    with CaptureQueriesContext(connection) as small:
        post_json(client, GATE, gate_body())
    small_count = len(small.captured_queries)
    _grow(ready.service, ready.catalog_version, ready, owner, risk, controls=60, results=3)
    post_json(client, GATE, gate_body())
    with CaptureQueriesContext(connection) as large:
        post_json(client, GATE, gate_body())

    assert len(large.captured_queries) == small_count


# --- CI evidence required for the commit (opt-in) -------------------------------------------


def test_required_ci_evidence_must_prove_the_commit(client, ci, service, catalog, settings):
    settings.GATE_REQUIRE_CI_EVIDENCE = True
    settings.GATE_CI_CONTROLS = {"sarif": "PRR-SEC-001"}
    version, controls = catalog
    approve(service, version, controls)
    all_passing(service)

    assert codes(ask(client, ci)) == [("ci_evidence_missing", "PRR-SEC-001")]

    sarif = {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "CodeQL"}}, "results": []}]}
    uploaded = post_json(
        client,
        "/api/v1/services/payments-api/ci-evidence",
        {"format": "sarif", "commit_sha": COMMIT, "content": sarif},
        **bearer(ci),
    )
    assert uploaded.status_code == 201, uploaded.json()

    assert ask(client, ci).json()["decision"] == "allow"
    assert ask(client, ci, commit=OTHER_COMMIT).json()["decision"] == "deny"


def test_gate_review_uses_the_newest_review_when_none_is_approved(client, ci, service, catalog):
    version, controls = catalog
    old = approve(service, version, controls, status="expired")
    Review.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=400))
    approve(
        service,
        version,
        controls,
        status="submitted",
        approved_at=None,
        expires_at=None,
        approval_hash="",
        opened_by=UserFactory(),
    )
    all_passing(service)

    assert codes(ask(client, ci)) == [("review_not_approved", None)]
