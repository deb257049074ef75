"""Pure helpers over IAM policy documents, ARNs and aliases (shared by collection and
checks)."""

from __future__ import annotations

import fnmatch
import json
from urllib.parse import unquote


def unqualified(arn: str) -> str:
    """A function ARN without its version or alias qualifier."""
    parts = arn.split(":")
    return ":".join(parts[:7]) if len(parts) > 7 else arn


def live_alias(aliases: list[dict] | None) -> dict | None:
    """The alias that serves traffic: the one named "live", else the first (fact-shaped
    aliases: ``{"name", "version", ...}``). The release checks judge it, and the collector
    picks its async invoke config."""
    aliases = aliases or []
    return next((a for a in aliases if a["name"] == "live"), aliases[0] if aliases else None)


def as_doc(document) -> dict:
    """A policy document as a dict (IAM may hand it URL-encoded JSON)."""
    if isinstance(document, str):
        try:
            return json.loads(unquote(document))
        except ValueError:
            return {}
    return document or {}


def secrets_readable_by(
    role: dict | None, all_secrets: list[dict], by_arn: dict[str, int] | None = None
) -> list[dict]:
    """Secrets whose ARN matches a Resource of a secretsmanager:GetSecretValue grant. A grant
    on ``"*"`` (e.g. AWS's SecretsManagerReadWrite) reads every secret of the account: all of
    them count (reading none would make the rotation check not applicable).

    ``by_arn`` (ARN -> position in ``all_secrets``) turns literal ARNs into lookups; only
    wildcard patterns scan the list. The answer keeps the order of ``all_secrets``."""
    if not role:
        return []
    patterns = []
    for policy in role.get("inline_policies", []) + role.get("attached_policies", []):
        for st in statements(policy.get("document")):
            if st.get("Effect") != "Allow":
                continue
            actions = [a.lower() for a in as_list(st.get("Action"))]
            if any(fnmatch.fnmatchcase("secretsmanager:getsecretvalue", a) for a in actions):
                patterns += as_list(st.get("Resource"))
    if "*" in patterns:
        return list(all_secrets)
    if by_arn is None:
        return [s for s in all_secrets if any(fnmatch.fnmatchcase(s["arn"], p) for p in patterns)]
    found: set[int] = set()
    globs = []
    for p in patterns:
        if any(c in p for c in "*?["):
            globs.append(p)
        elif p in by_arn:
            found.add(by_arn[p])
    if globs:
        found.update(
            i
            for i, s in enumerate(all_secrets)
            if any(fnmatch.fnmatchcase(s["arn"], p) for p in globs)
        )
    return [all_secrets[i] for i in sorted(found)]


def as_list(value) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def statements(document: dict | None) -> list[dict]:
    if not document:
        return []
    return [s for s in as_list(document.get("Statement")) if isinstance(s, dict)]
