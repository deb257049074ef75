"""Every write of the gate app: gate decisions, API tokens, break-glass allows and CI evidence.

Each checks who may act, changes rows and writes its audit event in one transaction, and
raises ``DomainError`` with a message the caller can act on.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from audit.choices import ActorType
from audit.context import Actor
from audit.services import audit_record
from controls.models import Control
from controls.selectors import applicable_controls, current_catalog
from evidence.services import evidence_from_ci
from gate import ci, conf, tokens
from gate.choices import SERVICE_TOKEN_SCOPES, CiFormat, Decision, Scope
from gate.evaluation import commits_match, evaluate
from gate.models import ApiToken, BreakGlass, GateDecision
from gate.selectors import gate_inputs
from portal import signing
from portal.errors import DomainError
from reviews.choices import OPEN_STATUSES
from reviews.models import Review, ReviewItem
from services.selectors import service_list_for

COMMIT = re.compile(r"^[0-9a-f]{7,40}$")
FULL_COMMIT = re.compile(r"^[0-9a-f]{40}$")
SHA256 = re.compile(r"^[0-9a-f]{64}$")
JWS_TYPE = "prr-gate-decision+jwt"


def _person(actor: Actor, action: str):
    """The signed-in person behind ``actor``; tokens and CI identities may not ``action``."""
    if actor.user is None or actor.type != ActorType.USER:
        raise DomainError(
            f"Sign in to {action}; API tokens and CI identities cannot.", code="not_allowed"
        )
    return actor.user


def _require_admin(actor: Actor, action: str):
    user = _person(actor, action)
    if not user.is_platform_admin:
        raise DomainError(f"Only a platform admin may {action}.", code="not_allowed")
    return user


def _text(value: str, field: str, *, required: bool = True, limit: int = 2000) -> str:
    value = (value or "").strip()
    if required and not value:
        raise DomainError(
            f"{field.replace('_', ' ').capitalize()} is required.", details={field: ["required"]}
        )
    if len(value) > limit:
        raise DomainError(
            f"{field} is too long ({limit} characters at most).", details={field: ["too long"]}
        )
    return value


# --- the gate ---------------------------------------------------------------------------


def decision_document(decision: GateDecision) -> dict:
    """The answer the gate returns and signs (everything but the signature itself)."""
    return {
        "decision_id": str(decision.decision_id),
        "decision": decision.decision,
        "reasons": decision.reasons,
        "service": decision.service.slug,
        "environment": decision.environment,
        "commit_sha": decision.commit_sha,
        "artifact_sha256": decision.artifact_sha256 or None,
        "function_config_sha256": decision.function_config_sha256 or None,
        "review": decision.review_id,
        "approved_at": _iso(decision.approved_at),
        "expires_at": _iso(decision.expires_at),
        "evaluated_at": _iso(decision.evaluated_at),
        "break_glass": decision.break_glass_id,
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _sign(document: dict, evaluated_at: datetime) -> str:
    claims = {
        **document,
        "iss": settings.PORTAL_BASE_URL,
        "sub": f"{document['service']}:{document['environment']}",
        "jti": document["decision_id"],
        "iat": int(evaluated_at.timestamp()),
    }
    return signing.jws_encode(claims, headers={"typ": JWS_TYPE})


def gate_check(
    *,
    actor: Actor,
    service,
    environment: str,
    commit_sha: str,
    artifact_sha256: str = "",
    function_config_sha256: str = "",
    api_token: ApiToken | None = None,
) -> GateDecision:
    """Decide whether ``service`` may deploy ``commit_sha`` to ``environment``, store the
    decision with the snapshot it was computed from, sign it and audit it. A deny is a normal
    answer. A fixed number of queries whatever the size of the catalog or the history."""
    commit_sha = (commit_sha or "").lower()
    if not FULL_COMMIT.match(commit_sha):
        raise DomainError(
            "commit_sha must be the full 40-character hex commit SHA.",
            details={"commit_sha": ["not a 40-character hex SHA"]},
        )
    for name, value in (
        ("artifact_sha256", artifact_sha256),
        ("function_config_sha256", function_config_sha256),
    ):
        if value and not SHA256.match(value):
            raise DomainError(
                f"{name} must be 64 lowercase hex characters.",
                details={name: ["not a hex SHA-256"]},
            )
    at = timezone.now()
    inputs = gate_inputs(
        service=service,
        environment=environment,
        commit_sha=commit_sha,
        artifact_sha256=artifact_sha256,
        at=at,
    )
    result = evaluate(inputs)
    review = inputs["review"]
    glass = inputs["break_glass"] if result.decision == Decision.ALLOW else None
    used_glass = (
        glass if glass and any(r["code"] == "break_glass" for r in result.reasons) else None
    )
    decision = GateDecision(
        decision_id=uuid.uuid4(),
        service=service,
        environment=environment,
        commit_sha=commit_sha,
        artifact_sha256=artifact_sha256,
        function_config_sha256=function_config_sha256,
        decision=result.decision,
        reasons=result.reasons,
        review_id=review["id"] if review else None,
        approved_at=_parse(review["approved_at"]) if review else None,
        expires_at=result.expires_at,
        evaluated_at=at,
        inputs=inputs,
        caller_type=actor.type,
        caller_label=actor.label[:255],
        caller_details=actor.details,
        api_token=api_token,
        break_glass_id=used_glass["id"] if used_glass else None,
    )
    decision.signature = _sign(decision_document(decision), at)
    with transaction.atomic():
        decision.save(force_insert=True)
        audit_record(
            actor=actor,
            action="gate.decision",
            obj=decision,
            message=f"{result.decision} {service.slug} to {environment} at {commit_sha[:12]}",
            after={
                "decision": result.decision,
                "reasons": [r["code"] for r in result.reasons],
                "review": decision.review_id,
                "break_glass": decision.break_glass_id,
            },
            details={
                "environment": environment,
                "commit_sha": commit_sha,
                "artifact_sha256": artifact_sha256,
                "decision_id": str(decision.decision_id),
            },
            service_slug=service.slug,
        )
    return decision


def _parse(value: str | None) -> datetime | None:
    return parse_datetime(value) if value else None


def gate_decision_replay(*, actor: Actor, decision: GateDecision) -> dict:
    """Recompute a stored decision from the inputs it was made with, and check its signature.
    Auditors and platform admins only; the replay itself is audited."""
    user = actor.user
    if user is None or not (user.is_auditor or user.is_platform_admin):
        raise DomainError(
            "Only auditors and platform admins may replay gate decisions.", code="not_allowed"
        )
    replayed = evaluate(decision.inputs).as_dict()
    stored = {
        "decision": decision.decision,
        "reasons": decision.reasons,
        "expires_at": _iso(decision.expires_at),
    }
    try:
        claims = signing.jws_decode(decision.signature)
        signature_valid = all(claims.get(k) == v for k, v in decision_document(decision).items())
    except Exception:  # noqa: BLE001 - any verification failure is "not valid"
        signature_valid = False
    matches = (
        replayed["decision"] == stored["decision"] and replayed["reasons"] == stored["reasons"]
    )
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="gate.replay",
            obj=decision,
            message="replay matches" if matches else "replay differs",
            details={"matches": matches, "signature_valid": signature_valid},
            service_slug=decision.service.slug,
        )
    return {
        "decision_id": str(decision.decision_id),
        "stored": stored,
        "replayed": replayed,
        "matches": matches,
        "signature_valid": signature_valid,
    }


# --- API tokens -------------------------------------------------------------------------


def _check_expiry(expires_at: datetime | None) -> datetime:
    now = timezone.now()
    longest = conf.token_max_days()
    if expires_at is None:
        raise DomainError("A token needs an expiry.", details={"expires_at": ["required"]})
    if expires_at <= now:
        raise DomainError(
            "The expiry must be in the future.", details={"expires_at": ["in the past"]}
        )
    if expires_at > now + timedelta(days=longest):
        raise DomainError(
            f"Tokens may live at most {longest} days.", details={"expires_at": ["too far"]}
        )
    return expires_at


def _check_scopes(scopes, allowed) -> list[str]:
    scopes = sorted(set(scopes or []))
    if not scopes:
        raise DomainError("Choose at least one scope.", details={"scopes": ["required"]})
    unknown = [s for s in scopes if s not in allowed]
    if unknown:
        raise DomainError(
            f"Scope(s) {', '.join(unknown)} cannot be granted here; "
            f"choose from {', '.join(sorted(allowed))}.",
            details={"scopes": unknown},
        )
    return scopes


def api_token_create(
    *,
    actor: Actor,
    name: str,
    scopes: list[str],
    expires_at: datetime,
    services=(),
    service_token: bool = False,
) -> tuple[ApiToken, str]:
    """Create a token and return it with its secret, which is shown this once only.

    A user creates tokens for themselves (acting as them, optionally narrowed to some of the
    services they can see). A platform admin creates a service token (no user) for CI of
    one or more services, with read, gate:check and evidence:write scopes at most.
    """
    user = _person(actor, "create API tokens")
    name = _text(name, "name", limit=200)
    expires_at = _check_expiry(expires_at)
    services = list(services or [])
    if service_token:
        if not user.is_platform_admin:
            raise DomainError(
                "Only a platform admin may create service tokens.", code="not_allowed"
            )
        if not services:
            raise DomainError(
                "A service token must be bound to at least one service.",
                details={"services": ["required"]},
            )
        scopes = _check_scopes(scopes, SERVICE_TOKEN_SCOPES)
    else:
        scopes = _check_scopes(scopes, set(Scope.values))
        visible = set(
            service_list_for(user)
            .filter(pk__in=[s.pk for s in services])
            .values_list("pk", flat=True)
        )
        hidden = [s.slug for s in services if s.pk not in visible]
        if hidden:
            raise DomainError(
                f"Unknown service(s): {', '.join(hidden)}.", details={"services": hidden}
            )
    raw, prefix, digest = tokens.generate()
    with transaction.atomic():
        token = ApiToken.objects.create(
            name=name,
            prefix=prefix,
            token_hash=digest,
            user=None if service_token else user,
            scopes=scopes,
            created_by=user,
            expires_at=expires_at,
        )
        token.services.set(services)
        audit_record(
            actor=actor,
            action="api_token.create",
            obj=token,
            after={
                "name": name,
                "prefix": prefix,
                "scopes": scopes,
                "services": sorted(s.slug for s in services),
                "expires_at": expires_at,
                "service_token": service_token,
            },
            service_slug=services[0].slug if len(services) == 1 else "",
        )
    return token, raw


def api_token_revoke(*, actor: Actor, token: ApiToken, reason: str = "") -> ApiToken:
    """Revoke a token at once: its owner, its creator or a platform admin may."""
    user = actor.user
    allowed = user is not None and (
        user.is_platform_admin or token.user_id == user.pk or token.created_by_id == user.pk
    )
    if not allowed:
        raise DomainError(
            "Only the token's owner or a platform admin may revoke it.", code="not_allowed"
        )
    reason = _text(reason, "reason", required=False, limit=500)
    with transaction.atomic():
        updated = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now(), revoked_by=user, revoked_reason=reason
        )
        if not updated:
            raise DomainError("This token is already revoked.", code="invalid_state")
        token.refresh_from_db()
        audit_record(
            actor=actor,
            action="api_token.revoke",
            obj=token,
            message=reason,
            after={"prefix": token.prefix, "revoked_at": token.revoked_at},
        )
    return token


# --- break-glass ------------------------------------------------------------------------


def _followup_review(actor: Actor, service, environment: str) -> tuple[Review, bool]:
    """The open review of ``service``/``environment``, or a new draft one (opened on behalf
    of the admin, with the same items ``reviews.workflow.review_open`` would create)."""
    existing = Review.objects.filter(
        service=service, environment=environment, status__in=OPEN_STATUSES
    ).first()
    if existing is not None:
        return existing, False
    catalog = current_catalog()
    controls = applicable_controls(catalog, service.profile())
    review = Review.objects.create(
        service=service, environment=environment, catalog_version=catalog, opened_by=actor.user
    )
    ReviewItem.objects.bulk_create(
        ReviewItem(review=review, control=c, mandatory=c.is_mandatory_for(service.tier))
        for c in controls
    )
    audit_record(
        actor=actor,
        action="review.open",
        obj=review,
        service_slug=service.slug,
        message="follow-up review of an emergency break-glass allow",
        after={
            "environment": environment,
            "catalog_version": catalog.version,
            "items": len(controls),
        },
    )
    return review, True


def break_glass_issue(
    *, actor: Actor, service, environment: str, commit_sha: str, reason: str, hours: int
) -> BreakGlass:
    """Issue an emergency allow for one commit of ``service`` to ``environment`` for at most
    ``GATE_BREAK_GLASS_MAX_HOURS``. Records who and why, and opens (or links) a mandatory
    follow-up review. Platform admins only."""
    user = _require_admin(actor, "issue a break-glass allow")
    if environment not in (service.environments or []):
        raise DomainError(
            f"{service.name} has no environment {environment!r}.",
            details={"environment": ["unknown"]},
        )
    commit_sha = (commit_sha or "").lower().strip()
    if not COMMIT.match(commit_sha):
        raise DomainError(
            "commit_sha must be 7-40 hex characters.", details={"commit_sha": ["not hex"]}
        )
    reason = _text(reason, "reason")
    if len(reason) < 10:
        raise DomainError(
            "Say why in a sentence (10 characters at least).", details={"reason": ["too short"]}
        )
    longest = conf.break_glass_max_hours()
    if not 1 <= int(hours) <= longest:
        raise DomainError(
            f"A break-glass allow lasts 1 to {longest} hours.", details={"hours": ["out of range"]}
        )
    with transaction.atomic():
        review, opened = _followup_review(actor, service, environment)
        glass = BreakGlass.objects.create(
            service=service,
            environment=environment,
            commit_sha=commit_sha,
            reason=reason,
            issued_by=user,
            expires_at=timezone.now() + timedelta(hours=int(hours)),
            followup_review=review,
        )
        audit_record(
            actor=actor,
            action="gate.break_glass_issue",
            obj=glass,
            message=reason,
            after={
                "environment": environment,
                "commit_sha": commit_sha,
                "expires_at": glass.expires_at,
                "followup_review": review.pk,
                "followup_opened": opened,
            },
            service_slug=service.slug,
        )
    return glass


def break_glass_revoke(*, actor: Actor, break_glass: BreakGlass, reason: str) -> BreakGlass:
    """End an emergency allow early (platform admins)."""
    user = _require_admin(actor, "revoke a break-glass allow")
    reason = _text(reason, "reason", limit=500)
    with transaction.atomic():
        updated = BreakGlass.objects.filter(pk=break_glass.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now(), revoked_by=user, revoked_reason=reason
        )
        if not updated:
            raise DomainError("This break-glass allow is already revoked.", code="invalid_state")
        break_glass.refresh_from_db()
        audit_record(
            actor=actor,
            action="gate.break_glass_revoke",
            obj=break_glass,
            message=reason,
            service_slug=break_glass.service.slug,
            after={"revoked_at": break_glass.revoked_at},
        )
    return break_glass


# --- CI evidence ------------------------------------------------------------------------


def _judge_deployment(parsed: ci.ParsedCi, service, commit_sha: str) -> None:
    """A deployment record proves PRR-CHG-005 only if an allow of the gate for this service,
    environment and commit is behind it."""
    decision = GateDecision.objects.filter(
        decision_id=parsed.extra["gate_decision_id"], service=service
    ).first()
    problem = None
    if decision is None:
        problem = "the gate decision it names does not exist for this service"
    elif decision.decision != Decision.ALLOW:
        problem = "the gate denied this deployment"
    elif decision.environment != parsed.extra["environment"]:
        problem = f"the gate decision was for {decision.environment}"
    elif not commits_match(decision.commit_sha, commit_sha):
        problem = f"the gate decision was for commit {decision.commit_sha[:12]}"
    if problem:
        parsed.outcome, parsed.summary = ci.FAIL, f"{parsed.summary}; {problem}"


def ci_evidence_ingest(
    *,
    actor: Actor,
    service,
    fmt: str,
    content: bytes,
    commit_sha: str,
    filename: str = "",
    metadata: dict | None = None,
):
    """Validate and parse a CI upload, then store it as evidence of ``service`` for the
    commit, mapped to the control it proves. Returns (evidence, parsed). A malformed or
    oversized upload is refused and nothing is stored."""
    limit = conf.ci_max_bytes()
    if len(content) > limit:
        raise DomainError(
            f"The upload is {len(content)} bytes; CI uploads may be at most {limit} bytes.",
            details={"file": ["too large"]},
        )
    if not content:
        raise DomainError("The upload is empty.", details={"file": ["empty"]})
    commit_sha = (commit_sha or "").lower().strip()
    if not COMMIT.match(commit_sha):
        raise DomainError(
            "commit_sha must be 7-40 hex characters.", details={"commit_sha": ["not hex"]}
        )
    parsed = ci.parse(fmt, content)
    if fmt == CiFormat.DEPLOYMENT:
        _judge_deployment(parsed, service, commit_sha)
    code = conf.ci_controls().get(fmt, "")
    if code and not Control.objects.filter(code=code, catalog_version__is_current=True).exists():
        code = ""
    document = parsed.metadata()
    if actor.type == ActorType.CI:
        document["ci"] = {
            k: actor.details[k]
            for k in ("repository", "run_id", "ref", "workflow")
            if k in actor.details
        }
    if metadata:
        document["pipeline"] = metadata
    evidence = evidence_from_ci(
        actor=actor,
        service=service,
        kind=ci.EVIDENCE_KINDS[fmt],
        content=content,
        filename=filename or ci.DEFAULT_FILENAMES[fmt],
        commit_sha=commit_sha,
        metadata=document,
        control_code=code,
    )
    return evidence, parsed
