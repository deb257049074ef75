"""API token format: ``prr_<prefix>_<secret>``.

The prefix (8 characters) identifies a token in lists and logs; the secret (43 characters,
256 bits) is never stored: only the SHA-256 of the whole token is. A plain hash is enough
because the secret is random and long (no dictionary to try), and unlike an HMAC it survives a
SECRET_KEY rotation.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

PREFIX = "prr_"
TOKEN_PATTERN = re.compile(r"^prr_([a-z0-9]{8})_([A-Za-z0-9_-]{43})$")
_PREFIX_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def generate() -> tuple[str, str, str]:
    """A new token: (full token shown once, its prefix, its hash)."""
    prefix = "".join(secrets.choice(_PREFIX_ALPHABET) for _ in range(8))
    secret = secrets.token_urlsafe(32)
    token = f"{PREFIX}{prefix}_{secret}"
    return token, prefix, token_hash(token)


def parse(token: str) -> str | None:
    """The prefix of a well-formed token, else None."""
    match = TOKEN_PATTERN.match(token or "")
    return match.group(1) if match else None


def matches(token: str, stored_hash: str) -> bool:
    return hmac.compare_digest(token_hash(token), stored_hash)
