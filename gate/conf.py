"""Gate settings with their defaults (portal/settings.py reads them from the environment)."""

from django.conf import settings

GITHUB_ISSUER = "https://token.actions.githubusercontent.com"

# Which control each CI upload proves (catalog codes; a code absent from the catalog is skipped).
DEFAULT_CI_CONTROLS = {
    "sarif": "PRR-CICD-003",
    "cyclonedx": "PRR-CICD-004",
    "checkov": "PRR-CICD-005",
    "junit": "PRR-CICD-006",
    "signer": "PRR-CICD-002",
    "deployment": "PRR-CHG-005",
}


def _get(name: str, default):
    return getattr(settings, name, default)


def oidc_issuer() -> str:
    return _get("GATE_OIDC_ISSUER", GITHUB_ISSUER)


def oidc_jwks_url() -> str:
    return _get("GATE_OIDC_JWKS_URL", "") or f"{oidc_issuer().rstrip('/')}/.well-known/jwks"


def oidc_audience() -> str:
    return _get("GATE_OIDC_AUDIENCE", "prr-portal")


def oidc_algorithms() -> list[str]:
    return list(_get("GATE_OIDC_ALGORITHMS", ["RS256"]))


def oidc_leeway() -> int:
    return int(_get("GATE_OIDC_LEEWAY_SECONDS", 60))


def oidc_max_lifetime() -> int:
    """Longest ``exp - iat`` accepted: GitHub's tokens live minutes, not days."""
    return int(_get("GATE_OIDC_MAX_LIFETIME_SECONDS", 3600))


def oidc_jwks_cache_seconds() -> int:
    return int(_get("GATE_OIDC_JWKS_CACHE_SECONDS", 3600))


def oidc_jwks_min_refresh_seconds() -> int:
    """An unknown ``kid`` refetches the JWKS at most this often (no fetch storm)."""
    return int(_get("GATE_OIDC_JWKS_MIN_REFRESH_SECONDS", 60))


def oidc_jwks_timeout() -> float:
    return float(_get("GATE_OIDC_JWKS_TIMEOUT_SECONDS", 5))


def token_max_days() -> int:
    return int(_get("API_TOKEN_MAX_DAYS", 365))


def break_glass_max_hours() -> int:
    return int(_get("GATE_BREAK_GLASS_MAX_HOURS", 24))


def require_ci_evidence() -> bool:
    return bool(_get("GATE_REQUIRE_CI_EVIDENCE", False))


def ci_controls() -> dict[str, str]:
    return dict(_get("GATE_CI_CONTROLS", DEFAULT_CI_CONTROLS))


def ci_max_bytes() -> int:
    return int(_get("GATE_CI_MAX_BYTES", 10 * 1024 * 1024))
