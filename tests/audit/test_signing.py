"""The portal signing key: configured PEM, generated development key, refusal in production."""

import base64
import json

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.rsa import generate_private_key
from django.core.exceptions import ImproperlyConfigured

from portal import signing


def _pem(key) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def test_signature_verifies_with_the_public_key_and_not_after_tampering(fresh_signing_key):
    signature = signing.sign(b"manifest")
    assert signing.verify(signing.public_key_pem(), b"manifest", signature)
    assert not signing.verify(signing.public_key_pem(), b"manifest!", signature)
    assert not signing.verify(signing.public_key_pem(), b"manifest", b"\0" * 64)


def test_development_key_is_generated_once_and_reused(fresh_signing_key, settings):
    first = signing.public_key_pem()
    signing.reset_key_cache()
    assert signing.public_key_pem() == first
    key_file = settings.VAR_DIR / "keys" / signing.DEV_KEY_NAME
    assert key_file.stat().st_mode & 0o077 == 0


def test_configured_key_file_is_used(fresh_signing_key, tmp_path, monkeypatch):
    key = Ed25519PrivateKey.generate()
    path = tmp_path / "signing.pem"
    path.write_text(_pem(key))
    monkeypatch.setenv("PORTAL_SIGNING_KEY_FILE", str(path))
    signing.reset_key_cache()
    assert signing.verify(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        b"x",
        signing.sign(b"x"),
    )


def test_missing_key_in_production_is_a_configuration_error(fresh_signing_key, settings):
    settings.PORTAL_SIGNING_DEV_KEY = False
    settings.DEBUG = False
    with pytest.raises(ImproperlyConfigured, match="PORTAL_SIGNING_KEY_FILE"):
        signing.sign(b"x")


def test_non_ed25519_key_is_refused(fresh_signing_key, monkeypatch):
    monkeypatch.setenv("PORTAL_SIGNING_KEY", _pem(generate_private_key(65537, 2048)))
    with pytest.raises(ImproperlyConfigured, match="Ed25519"):
        signing.sign(b"x")


def test_jwk_has_rfc7638_thumbprint_as_kid(fresh_signing_key):
    jwk = signing.public_jwk()
    assert (jwk["kty"], jwk["crv"], jwk["alg"]) == ("OKP", "Ed25519", "EdDSA")
    members = json.dumps({"crv": "Ed25519", "kty": "OKP", "x": jwk["x"]}, separators=(",", ":"))
    import hashlib

    expected = base64.urlsafe_b64encode(hashlib.sha256(members.encode()).digest()).rstrip(b"=")
    assert jwk["kid"] == expected.decode()
    assert signing.jwks() == {"keys": [jwk]}


def test_jws_round_trip_carries_the_kid(fresh_signing_key):
    import jwt

    token = signing.jws_encode({"decision": "allow"})
    assert jwt.get_unverified_header(token)["kid"] == signing.key_id()
    assert signing.jws_decode(token) == {"decision": "allow"}
