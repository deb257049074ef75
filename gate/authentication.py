"""DRF authentication for API tokens and GitHub Actions OIDC tokens (``Authorization: Bearer``).

Both set ``request.actor`` (an ``audit.context.Actor``) so services audit the token or the CI
identity, and return a ``gate.principals.Caller`` as ``request.auth``.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from rest_framework import authentication, exceptions

from audit.choices import ActorType
from audit.context import Actor
from gate import oidc, tokens
from gate.choices import CI_SCOPES
from gate.models import ApiToken
from gate.principals import Caller, ServicePrincipal
from portal.middleware import client_ip

logger = logging.getLogger(__name__)
LAST_USED_GRANULARITY = timedelta(minutes=1)


def bearer(request) -> str | None:
    header = authentication.get_authorization_header(request).decode("latin-1")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    value = value.strip()
    if not value or " " in value:
        raise exceptions.AuthenticationFailed("Malformed Authorization header.")
    return value


def _actor(request, *, type: str, label: str, user=None, details: dict) -> Actor:
    django_request = getattr(request, "_request", request)
    return Actor(
        type=type,
        label=label,
        user=user,
        request_id=getattr(django_request, "request_id", ""),
        source_ip=client_ip(django_request),
        user_agent=django_request.META.get("HTTP_USER_AGENT", "")[:512],
        details=details,
    )


def _set_actor(request, actor: Actor) -> None:
    # On the Django request, so Actor.from_request works with either request object.
    getattr(request, "_request", request).actor = actor


class ApiTokenAuthentication(authentication.BaseAuthentication):
    """``Authorization: Bearer prr_<prefix>_<secret>``."""

    def authenticate(self, request):
        raw = bearer(request)
        if raw is None or not raw.startswith(tokens.PREFIX):
            return None
        prefix = tokens.parse(raw)
        if prefix is None:
            raise exceptions.AuthenticationFailed("Malformed API token.")
        # One query: the token, its user and whether it is narrowed to some services (their
        # ids are read only if something asks: querysets narrow with a subquery).
        token = (
            ApiToken.objects.select_related("user")
            .annotate(
                bound=Exists(ApiToken.services.through.objects.filter(apitoken=OuterRef("pk")))
            )
            .filter(prefix=prefix)
            .order_by()
            .first()
        )
        if token is None or not tokens.matches(raw, token.token_hash):
            raise exceptions.AuthenticationFailed("Invalid API token.")
        now = timezone.now()
        if token.revoked_at is not None:
            raise exceptions.AuthenticationFailed("This API token has been revoked.")
        if token.expires_at <= now:
            raise exceptions.AuthenticationFailed(
                f"This API token expired on {token.expires_at:%Y-%m-%d}."
            )
        if token.user is not None and not token.user.is_active:
            raise exceptions.AuthenticationFailed("The token's user is inactive.")
        self._touch(token, request, now)
        if token.user is None:
            principal, label = ServicePrincipal(f"token:{token.prefix}"), f"token {token.prefix}"
        else:
            principal = token.user
            label = f"{token.user.get_username()} via token {token.prefix}"
        _set_actor(
            request,
            _actor(
                request,
                type=ActorType.API_TOKEN,
                label=label,
                user=token.user,
                details={"api_token_id": token.pk, "api_token_prefix": token.prefix},
            ),
        )
        caller = Caller(
            kind="token",
            scopes=frozenset(token.scopes),
            token=token,
            # A service token sees only its services (none if it has none); a user's token
            # sees what its user sees, narrowed to its services if it lists any.
            token_bound=token.bound or token.user is None,
        )
        return principal, caller

    @staticmethod
    def _touch(token: ApiToken, request, now) -> None:
        """Record use at most once a minute (a conditional update: no write per request)."""
        if token.last_used_at and now - token.last_used_at < LAST_USED_GRANULARITY:
            return
        ApiToken.objects.filter(pk=token.pk).filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_GRANULARITY)
        ).update(last_used_at=now, last_used_ip=client_ip(getattr(request, "_request", request)))

    def authenticate_header(self, request):
        return 'Bearer realm="prr-portal"'


class GitHubOidcAuthentication(authentication.BaseAuthentication):
    """``Authorization: Bearer <GitHub Actions OIDC JWT>``."""

    def authenticate(self, request):
        raw = bearer(request)
        if raw is None or raw.startswith(tokens.PREFIX):
            return None
        if raw.count(".") != 2:
            raise exceptions.AuthenticationFailed(
                "The bearer token is neither a portal API token nor a JWT."
            )
        try:
            claims = oidc.verify(raw)
            services, refused = oidc.bound_services(claims)
            if not services and not refused:
                raise oidc.OidcError(
                    f"No service is registered for repository {claims.get('repository')!r}."
                )
            oidc.consume_jti(claims)
        except oidc.OidcError as exc:
            logger.info("gate: OIDC token refused: %s", exc)
            raise exceptions.AuthenticationFailed(str(exc)) from None
        details = {
            key: claims.get(key)
            for key in (
                "repository",
                "repository_id",
                "ref",
                "sha",
                "workflow",
                "job_workflow_ref",
                "environment",
                "run_id",
                "run_attempt",
                "actor",
                "jti",
            )
            if claims.get(key) is not None
        }
        label = f"github:{claims['repository']}"
        if claims.get("run_id"):
            label += f" run {claims['run_id']}"
        _set_actor(request, _actor(request, type=ActorType.CI, label=label, details=details))
        caller = Caller(
            kind="ci",
            scopes=CI_SCOPES,
            service_ids=frozenset(s.pk for s in services),
            claims=claims,
            refused=refused,
        )
        return ServicePrincipal(label), caller

    def authenticate_header(self, request):
        return 'Bearer realm="prr-portal"'
