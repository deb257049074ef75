"""Shared set-up for gate and API tests: a small catalog, an approved review, collection
results, tokens and a local GitHub-like OIDC issuer."""

from __future__ import annotations

import json
import time
import uuid
from datetime import timedelta

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from django.utils import timezone

from audit.context import Actor
from gate import services as gate_services
from tests.factories import (
    AwsTargetFactory,
    CatalogVersionFactory,
    CheckResultFactory,
    CollectionRunFactory,
    ControlFactory,
    ReviewFactory,
    ReviewItemFactory,
)

COMMIT = "0123456789abcdef0123456789abcdef01234567"
OTHER_COMMIT = "fedcba9876543210fedcba9876543210fedcba98"
CHECKS = {
    "PRR-RUN-001": "lambda.timeout_configured",
    "PRR-OBS-001": "lambda.tracing_active",
}


def make_catalog():
    """Two mandatory automated controls, one mandatory manual one, one optional automated."""
    version = CatalogVersionFactory(version="2026.1", is_current=True)
    controls = [
        ControlFactory(
            catalog_version=version,
            code="PRR-RUN-001",
            position=1,
            check_id=CHECKS["PRR-RUN-001"],
            title="Timeout set",
            freshness_days=7,
        ),
        ControlFactory(
            catalog_version=version,
            code="PRR-OBS-001",
            position=2,
            check_id=CHECKS["PRR-OBS-001"],
            title="Tracing on",
            freshness_days=7,
        ),
        ControlFactory(
            catalog_version=version, code="PRR-SEC-001", position=3, title="Least privilege"
        ),
        ControlFactory(
            catalog_version=version,
            code="PRR-COST-001",
            position=4,
            check_id="lambda.arm64_architecture",
            mandatory_tiers=[],
            title="Graviton",
        ),
    ]
    return version, controls


def approve(service, catalog, controls, *, environment="prod", **kwargs):
    """An approved review of ``service`` with one item per control."""
    review = ReviewFactory(
        service=service, catalog_version=catalog, environment=environment, **kwargs
    )
    for control in controls:
        ReviewItemFactory(
            review=review, control=control, mandatory=control.is_mandatory_for(service.tier)
        )
    return review


def collect(service, statuses: dict[str, str], *, age_days: float = 0, resources: int = 1):
    """A finished collection run with ``statuses`` (check id → status) per resource."""
    at = timezone.now() - timedelta(days=age_days)
    target = service.aws_targets.first() or AwsTargetFactory(service=service)
    run = CollectionRunFactory(aws_target=target, finished_at=at, started_at=at)
    for check_id, status in statuses.items():
        for n in range(resources):
            CheckResultFactory(
                run=run,
                check_id=check_id,
                status=status,
                evaluated_at=at,
                resource=f"arn:aws:lambda:eu-west-1:123456789012:function:{service.slug}-{n}",
            )
    return run


def all_passing(service, **kwargs):
    return collect(service, dict.fromkeys(CHECKS.values(), "pass"), **kwargs)


def service_token(admin, services, scopes=("gate:check", "evidence:write", "read")):
    token, raw = gate_services.api_token_create(
        actor=Actor.for_user(admin),
        name="ci",
        scopes=list(scopes),
        expires_at=timezone.now() + timedelta(days=30),
        services=services,
        service_token=True,
    )
    return token, raw


def user_token(user, scopes=("read",), services=(), days=30):
    token, raw = gate_services.api_token_create(
        actor=Actor.for_user(user),
        name=f"{user.username} token",
        scopes=list(scopes),
        expires_at=timezone.now() + timedelta(days=days),
        services=list(services),
    )
    return token, raw


def bearer(raw: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def gate_body(service="payments-api", environment="prod", commit=COMMIT, **extra):
    return {"service": service, "environment": environment, "commit_sha": commit, **extra}


def post_json(client, url, body, **headers):
    return client.post(url, data=json.dumps(body), content_type="application/json", **headers)


# --- a local OIDC issuer ----------------------------------------------------------------


class Issuer:
    """Signs GitHub-Actions-shaped tokens with a local RSA key and serves its JWKS."""

    def __init__(self, issuer="https://token.actions.githubusercontent.com", audience=""):
        self.issuer = issuer
        self.audience = audience
        self.keys: dict[str, rsa.RSAPrivateKey] = {}
        self.fetches = 0
        self.available = True
        self.add_key("key-1")

    def add_key(self, kid: str):
        self.keys[kid] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return kid

    def jwks(self) -> dict:
        keys = []
        for kid, key in self.keys.items():
            jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
            keys.append({**jwk, "kid": kid, "alg": "RS256", "use": "sig"})
        return {"keys": keys}

    def fetch(self, url: str) -> dict:
        self.fetches += 1
        if not self.available:
            raise OSError("connection refused")
        return self.jwks()

    def claims(self, **overrides) -> dict:
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": "repo:acme/payments-api:ref:refs/heads/main",
            "repository": "acme/payments-api",
            "repository_id": "4242",
            "repository_owner": "acme",
            "ref": "refs/heads/main",
            "sha": COMMIT,
            "workflow": "deploy",
            "job_workflow_ref": "acme/payments-api/.github/workflows/deploy.yml@refs/heads/main",
            "environment": "prod",
            "run_id": "777",
            "run_attempt": "1",
            "actor": "octocat",
            "jti": str(uuid.uuid4()),
            "iat": now,
            "nbf": now,
            "exp": now + 300,
        }
        claims.update(overrides)
        return {k: v for k, v in claims.items() if v is not None}

    def token(self, kid="key-1", algorithm="RS256", key=None, headers=None, **overrides) -> str:
        signing_key = key if key is not None else self.keys[kid]
        return jwt.encode(
            self.claims(**overrides),
            signing_key,
            algorithm=algorithm,
            headers={"kid": kid, **(headers or {})},
        )
