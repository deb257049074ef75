"""The portal's signing key: one Ed25519 key signs audit checkpoints, export bundle manifests
and gate decisions (JWS), and its public half is published as a JWK.

Where the key comes from, checked lazily at first use (so commands that never sign need no key):

- ``PORTAL_SIGNING_KEY`` (PEM text) or ``PORTAL_SIGNING_KEY_FILE`` (path to a PEM file, e.g. a
  Kubernetes secret): a PKCS#8 Ed25519 private key, as made by
  ``openssl genpkey -algorithm ed25519 -out signing-key.pem``.
- Otherwise, in DEBUG or when ``settings.PORTAL_SIGNING_DEV_KEY`` is true (tests), a development
  key is generated once and kept in ``VAR_DIR/keys/signing-dev.pem``.
- Otherwise (production without a key): ImproperlyConfigured.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import threading
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from portal.env import env_str

ALGORITHM = "EdDSA"  # JOSE name (RFC 8037); the curve is Ed25519.
DEV_KEY_NAME = "signing-dev.pem"

_lock = threading.Lock()
_key: Ed25519PrivateKey | None = None


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _parse_private_pem(pem: bytes, origin: str) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(
            f"{origin} is not an unencrypted PEM private key: {exc}"
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ImproperlyConfigured(f"{origin} must be an Ed25519 key, not {type(key).__name__}.")
    return key


def _dev_key_allowed() -> bool:
    return bool(getattr(settings, "PORTAL_SIGNING_DEV_KEY", settings.DEBUG))


def _load_or_create_dev_key() -> Ed25519PrivateKey:
    """A development key shared by every process using this VAR_DIR (web, worker, tests)."""
    directory = Path(settings.VAR_DIR) / "keys"
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / DEV_KEY_NAME
    if not path.exists():
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        tmp = directory / f".{DEV_KEY_NAME}.{os.getpid()}.{threading.get_ident()}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
        try:
            # link() fails if another process won the race: then everyone uses its key.
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return _parse_private_pem(path.read_bytes(), str(path))


def _load_key() -> Ed25519PrivateKey:
    pem = env_str("PORTAL_SIGNING_KEY", "")
    if pem:
        if "\n" not in pem and "\\n" in pem:  # one-line env values often escape newlines
            pem = pem.replace("\\n", "\n")
        return _parse_private_pem(pem.encode("utf-8"), "PORTAL_SIGNING_KEY")
    if _dev_key_allowed():
        return _load_or_create_dev_key()
    raise ImproperlyConfigured(
        "No signing key: set PORTAL_SIGNING_KEY_FILE (or PORTAL_SIGNING_KEY) to an Ed25519 "
        "private key in PEM form (openssl genpkey -algorithm ed25519)."
    )


def private_key() -> Ed25519PrivateKey:
    """The portal's private key (loaded once per process)."""
    global _key
    if _key is None:
        with _lock:
            if _key is None:
                _key = _load_key()
    return _key


def reset_key_cache() -> None:
    """Forget the loaded key (tests that change the key configuration)."""
    global _key
    with _lock:
        _key = None


def public_key() -> Ed25519PublicKey:
    return private_key().public_key()


def public_key_pem() -> str:
    return (
        public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode("ascii")
    )


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(key: Ed25519PublicKey | None = None) -> str:
    """The RFC 7638 JWK thumbprint (SHA-256, base64url) of a public key: its ``kid``."""
    x = b64url(_raw_public(key or public_key()))
    members = json.dumps({"crv": "Ed25519", "kty": "OKP", "x": x}, separators=(",", ":"))
    return b64url(hashlib.sha256(members.encode("ascii")).digest())


def public_jwk() -> dict:
    """The public key as a JWK (RFC 8037), for a JWKS endpoint."""
    key = public_key()
    return {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": b64url(_raw_public(key)),
        "kid": key_id(key),
        "alg": ALGORITHM,
        "use": "sig",
    }


def jwks() -> dict:
    return {"keys": [public_jwk()]}


def sign(data: bytes) -> bytes:
    """An Ed25519 signature (64 bytes) over ``data``."""
    return private_key().sign(data)


def load_public_key(public_key_pem: str | bytes) -> Ed25519PublicKey:
    if isinstance(public_key_pem, str):
        public_key_pem = public_key_pem.encode("ascii")
    key = serialization.load_pem_public_key(public_key_pem)
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key")
    return key


def verify(public_key_pem: str | bytes, data: bytes, signature: bytes) -> bool:
    """True when ``signature`` is a valid signature of ``data`` by that public key."""
    try:
        load_public_key(public_key_pem).verify(signature, data)
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


def jws_encode(claims: dict, *, headers: dict | None = None) -> str:
    """A compact JWS (JWT) over ``claims``, signed with the portal key, ``kid`` in the header."""
    import jwt

    return jwt.encode(
        claims, private_key(), algorithm=ALGORITHM, headers={"kid": key_id(), **(headers or {})}
    )


def jws_decode(token: str, **options) -> dict:
    """Verify a JWS made by :func:`jws_encode` and return its claims (PyJWT options apply)."""
    import jwt

    return jwt.decode(token, public_key(), algorithms=[ALGORITHM], **options)
