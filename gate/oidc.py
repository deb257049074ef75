"""GitHub Actions OIDC tokens as CI identity: no long-lived secret in the pipeline.

A token is accepted only when its RS256 signature verifies against the issuer's JWKS (cached;
refetched when an unknown ``kid`` appears, at most once a minute; refused when the keys cannot
be fetched), its ``iss``, ``aud``, ``exp``, ``nbf`` and ``iat`` hold, its lifetime is short, its
``jti`` was never seen before, and its ``repository``/``repository_id`` are registered on a
service (optionally pinned further by ``ref``, ``environment`` and ``job_workflow_ref``).
"""

from __future__ import annotations

import fnmatch
import json
import logging
import time
import urllib.request
from datetime import UTC, datetime

import jwt
from django.core.cache import cache
from django.db import IntegrityError, transaction

from gate import conf
from gate.models import OidcJti
from services.models import Service

logger = logging.getLogger(__name__)
MAX_JWKS_BYTES = 256 * 1024
REQUIRED_CLAIMS = ["iss", "aud", "exp", "nbf", "iat", "jti", "repository", "repository_id"]


class OidcError(Exception):
    """A refused token; the message says why, for the pipeline's log."""


# --- JWKS -------------------------------------------------------------------------------


def fetch_jwks(url: str) -> dict:
    """GET the JWKS document (tests replace this function)."""
    if not url.startswith("https://") and not url.startswith("http://127.0.0.1"):
        raise OidcError(f"The JWKS URL {url} is not https.")
    request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310
    with urllib.request.urlopen(request, timeout=conf.oidc_jwks_timeout()) as response:  # noqa: S310
        body = response.read(MAX_JWKS_BYTES + 1)
    if len(body) > MAX_JWKS_BYTES:
        raise OidcError("The JWKS document is too large.")
    document = json.loads(body)
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise OidcError("The JWKS document has no keys.")
    return document


def _cache_key(url: str) -> str:
    return f"gate:oidc-jwks:{url}"


def _load_jwks(url: str, *, refresh: bool) -> dict | None:
    """The cached JWKS, refetched when asked (rate-limited) or missing. None when no keys
    can be had: the caller then refuses the token (fail closed)."""
    cached = cache.get(_cache_key(url))
    now = time.time()
    if cached and not refresh:
        return cached["jwks"]
    if cached and now - cached["fetched_at"] < conf.oidc_jwks_min_refresh_seconds():
        return cached["jwks"]
    try:
        jwks = fetch_jwks(url)
    except Exception as exc:  # noqa: BLE001 - any failure to fetch means "no keys"
        logger.warning("gate: cannot fetch OIDC JWKS from %s: %s", url, exc)
        return cached["jwks"] if cached else None
    cache.set(
        _cache_key(url),
        {"jwks": jwks, "fetched_at": now},
        timeout=conf.oidc_jwks_cache_seconds(),
    )
    return jwks


def _key_for(kid: str):
    url = conf.oidc_jwks_url()
    for refresh in (False, True):
        jwks = _load_jwks(url, refresh=refresh)
        if jwks is None:
            raise OidcError(
                "The CI identity provider's signing keys cannot be fetched, so the token cannot "
                "be verified; try again later."
            )
        for entry in jwks["keys"]:
            if entry.get("kid") == kid:
                try:
                    return jwt.PyJWK(entry).key
                except jwt.PyJWTError as exc:
                    raise OidcError(f"The signing key {kid} is unusable: {exc}.") from None
    raise OidcError(f"The token is signed with an unknown key (kid {kid}).")


# --- verification -----------------------------------------------------------------------


def verify(token: str) -> dict:
    """The token's claims if it is a valid, fresh token for this portal; else OidcError."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise OidcError("The bearer token is not a well-formed JWT.") from None
    allowed = conf.oidc_algorithms()
    if header.get("alg") not in allowed:
        raise OidcError(
            f"Algorithm {header.get('alg')!r} is not accepted; use {', '.join(allowed)}."
        )
    kid = header.get("kid")
    if not kid:
        raise OidcError("The token header has no key id (kid).")
    key = _key_for(kid)
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=allowed,
            audience=conf.oidc_audience(),
            issuer=conf.oidc_issuer(),
            leeway=conf.oidc_leeway(),
            options={"require": REQUIRED_CLAIMS},
        )
    except jwt.ExpiredSignatureError:
        raise OidcError("The token has expired.") from None
    except jwt.ImmatureSignatureError:
        raise OidcError("The token is not valid yet (nbf/iat in the future).") from None
    except jwt.InvalidAudienceError:
        raise OidcError(
            f"The token's audience is not this portal; request it with "
            f"audience {conf.oidc_audience()!r}."
        ) from None
    except jwt.InvalidIssuerError:
        raise OidcError(f"The token was not issued by {conf.oidc_issuer()}.") from None
    except jwt.MissingRequiredClaimError as exc:
        raise OidcError(f"The token lacks the {exc.claim!r} claim.") from None
    except jwt.InvalidSignatureError:
        raise OidcError("The token's signature does not verify.") from None
    except jwt.PyJWTError as exc:
        raise OidcError(f"The token is invalid: {exc}.") from None
    if int(claims["exp"]) - int(claims["iat"]) > conf.oidc_max_lifetime():
        raise OidcError("The token lives too long to be a CI job token.")
    return claims


def consume_jti(claims: dict) -> None:
    """Record the token id; a second presentation of the same token is refused."""
    jti = str(claims["jti"])[:255]
    expires_at = datetime.fromtimestamp(int(claims["exp"]), tz=UTC)
    try:
        with transaction.atomic():
            OidcJti.objects.create(issuer=str(claims["iss"])[:255], jti=jti, expires_at=expires_at)
    except IntegrityError:
        raise OidcError(
            "This token was already used (replayed jti); request a fresh token per call."
        ) from None


def _pinned(allowed: list[str], value: str | None) -> bool:
    return not allowed or (
        value is not None and any(fnmatch.fnmatchcase(value, p) for p in allowed)
    )


def pinning_problem(binding, claims: dict) -> str | None:
    """Why the service's CI pinning refuses these claims; None when it accepts them."""
    if binding is None:
        return None
    for field, claim in (
        ("allowed_refs", "ref"),
        ("allowed_environments", "environment"),
        ("allowed_workflow_refs", "job_workflow_ref"),
    ):
        allowed = getattr(binding, field) or []
        if not _pinned(allowed, claims.get(claim)):
            return f"{claim} {claims.get(claim)!r} is not allowed (allowed: {', '.join(allowed)})"
    return None


def bound_services(claims: dict) -> tuple[list[Service], dict[str, str]]:
    """Services registered for the token's repository (and repository id, when the service
    recorded one), split into accepted ones and refused ones (slug → why). One query."""
    repository = str(claims.get("repository", ""))
    repository_id = str(claims.get("repository_id", ""))
    candidates = Service.objects.filter(repository__iexact=repository).select_related("ci_binding")
    accepted, refused = [], {}
    for service in candidates:
        if service.repository_id and service.repository_id != repository_id:
            refused[service.slug] = (
                f"repository_id {repository_id} is not the registered {service.repository_id}"
            )
            continue
        problem = pinning_problem(getattr(service, "ci_binding", None), claims)
        if problem:
            refused[service.slug] = problem
            continue
        accepted.append(service)
    return accepted, refused
