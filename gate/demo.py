"""The demo banner's API token: a CI token for the demo services, printed with the logins so a
newcomer can call the gate with curl at once. A fresh token each time (the secret is never
stored, so it cannot be shown again); the previous demo token is revoked."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from accounts.models import User
from audit.context import Actor
from gate import services
from gate.choices import Scope
from gate.models import ApiToken
from services.models import Service

TOKEN_NAME = "demo CI (gate and CI evidence)"
DEMO_SERVICES = ["payments-api", "payments-ledger", "loan-engine"]


def _create_token() -> tuple[str, list[str]] | None:
    admin = User.objects.filter(username="admin").first()
    found = list(Service.objects.filter(slug__in=DEMO_SERVICES).order_by("slug"))
    if admin is None or not found:
        return None
    actor = Actor.for_user(admin)
    for old in ApiToken.objects.filter(name=TOKEN_NAME, revoked_at__isnull=True):
        services.api_token_revoke(actor=actor, token=old, reason="new demo run")
    _, raw = services.api_token_create(
        actor=actor,
        name=TOKEN_NAME,
        scopes=[Scope.GATE_CHECK, Scope.EVIDENCE_WRITE],
        expires_at=timezone.now() + timedelta(days=7),
        services=found,
        service_token=True,
    )
    return raw, [s.slug for s in found]


def banner_lines(url: str = "http://127.0.0.1:8000") -> list[str]:
    created = _create_token()
    if created is None:
        return []
    raw, slugs = created
    base = url.rstrip("/")
    return [
        f"CI token for {', '.join(slugs)} (gate:check, evidence:write; 7 days):",
        f"  {raw}",
        "Ask the gate:",
        f"  curl -s -X POST {base}/api/v1/gate -H 'Authorization: Bearer {raw}' \\",
        "    -H 'Content-Type: application/json' \\",
        '    -d \'{"service": "payments-api", "environment": "prod", '
        '"commit_sha": "0123456789abcdef0123456789abcdef01234567"}\'',
        f"API docs: {base}/api/v1/docs/",
    ]
