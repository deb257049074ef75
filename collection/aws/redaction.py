"""Redaction at the boto3 boundary: Lambda environment variable values never leave here.

A botocore ``after-call`` hook rewrites every parsed Lambda response in place before any
portal code sees it: ``Environment.Variables`` (name -> value) becomes ``VariableNames``, a
keyed hash per name (change detection without the value) and, per name, the *kind* of secret
the value looks like (``lambda.env_no_secrets`` needs that verdict, never the value).
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
from collections import Counter

from django.conf import settings

_PATTERNS: list[tuple[str, re.Pattern]] = [
    ("an AWS access key id", re.compile(r"\b(AKIA|ASIA)[A-Z0-9]{16}\b")),
    ("a private key", re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")),
    ("a JSON web token", re.compile(r"\beyJ[\w-]{8,}\.eyJ[\w-]{8,}\.[\w-]{8,}")),
    ("a GitHub token", re.compile(r"\bgh[pousr]_[A-Za-z0-9]{30,}")),
    ("a Slack token", re.compile(r"\bxox[abpors]-[A-Za-z0-9-]{10,}")),
    ("a Stripe live key", re.compile(r"\b[sr]k_live_[A-Za-z0-9]{16,}")),
    ("a URL with an embedded password", re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@")),
]
_SECRET_NAME = re.compile(r"(PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|CREDENTIAL)", re.I)
# Values that point to a secret instead of holding one.
_REFERENCE = re.compile(r"^(arn:aws[\w-]*:(secretsmanager|ssm|kms):|/|\{\{resolve:|\$\{)")


def _entropy(value: str) -> float:
    counts = Counter(value)
    return -sum(c / len(value) * math.log2(c / len(value)) for c in counts.values())


def secret_verdict(name: str, value: str) -> str:
    """Why a value looks like a secret ('' if it does not). Never returns any of the value."""
    for label, pattern in _PATTERNS:
        if pattern.search(value):
            return f"the value looks like {label}"
    if _REFERENCE.match(value):
        return ""
    if _SECRET_NAME.search(name) and len(value) >= 8:
        return "a secret-named variable holds a literal value"
    if len(value) >= 32 and " " not in value and _entropy(value) > 4.2:
        return "the value is a long high-entropy string"
    return ""


def _digest(name: str, value: str) -> str:
    key = hashlib.sha256(f"prr-env-redaction:{settings.SECRET_KEY}".encode()).digest()
    return hmac.new(key, f"{name}\0{value}".encode(), hashlib.sha256).hexdigest()[:32]


def redact_environment(environment: dict) -> dict:
    """The redacted form of a Lambda ``Environment`` structure."""
    variables = environment.get("Variables") or {}
    redacted = {
        "VariableNames": sorted(variables),
        "VariableDigests": {k: _digest(k, str(v)) for k, v in sorted(variables.items())},
        "SecretLikeValues": {
            k: verdict for k, v in sorted(variables.items()) if (verdict := secret_verdict(k, v))
        },
    }
    if "Error" in environment:
        # An error message could quote a value; keep only its code.
        redacted["ErrorCode"] = (environment.get("Error") or {}).get("ErrorCode", "")
    return redacted


def redact_lambda_payload(node, *, drop_nulls: bool = False) -> None:
    """Replace every ``Environment`` with its redacted form, in place, at any depth. With
    ``drop_nulls``, also remove ``null`` members, as botocore's parser does (the lean reads
    decode JSON themselves: one walk does both)."""
    if isinstance(node, dict):
        if drop_nulls:
            for key in [k for k, v in node.items() if v is None]:
                del node[key]
        env = node.get("Environment")
        if isinstance(env, dict) and ("Variables" in env or "Error" in env):
            node["Environment"] = redact_environment(env)
        for value in node.values():
            if isinstance(value, dict | list):
                redact_lambda_payload(value, drop_nulls=drop_nulls)
    elif isinstance(node, list):
        for item in node:
            if isinstance(item, dict | list):
                redact_lambda_payload(item, drop_nulls=drop_nulls)


def redact_after_call(parsed=None, **_kwargs) -> None:
    """botocore ``after-call.lambda`` hook."""
    if parsed:
        redact_lambda_payload(parsed)
