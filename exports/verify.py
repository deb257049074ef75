"""Verify a PRR Portal evidence bundle offline.

    python -m exports.verify bundle.zip [--public-key portal-signing-key.pem]

(or, with only this file copied out of the repository: ``python verify.py bundle.zip``.)
Needs only the Python standard library and ``cryptography``; no portal, no network, no Django.

Checks, in order:

1. ``manifest.json.sig`` is a valid Ed25519 signature over ``manifest.json`` by the portal key
   (``--public-key``, the key published at ``/exports/public-key.pem``; without it, the key in
   the bundle is used and its key id printed: compare it with the published one).
2. Every file listed in the manifest is present with the listed SHA-256 and size (else
   CHANGED or REMOVED), and no file is present that the manifest does not list (ADDED).
3. Each evidence file's hash equals the evidence's content address recorded by the portal.
4. The audit chain segment: consecutive sequence numbers, each event's ``prev_hash`` equal to
   the previous event's hash, and each full event's hash recomputed from its content (the same
   canonical form as ``audit/chain.py``; a test proves the two agree).

Exit status: 0 verified, 1 verification failed (every problem is printed, naming the file),
2 the bundle could not be read.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import sys
import zipfile
from dataclasses import dataclass, field

FORMAT = "prr-portal-evidence-bundle/1"
MANIFEST = "manifest.json"
SIGNATURE = "manifest.json.sig"
PUBLIC_KEY = "public_key.pem"
AUDIT_PATH = "audit/events.jsonl"
ENVELOPE = frozenset({MANIFEST, SIGNATURE, PUBLIC_KEY})
CHUNK = 1024 * 1024

# The audit chain's canonical hash (mirrors audit/chain.py: FORMAT_VERSION and HASH_FIELDS).
CHAIN_FORMAT_VERSION = 1
HASH_FIELDS = (
    "seq",
    "occurred_at",
    "actor_type",
    "actor_label",
    "actor_user_id",
    "action",
    "outcome",
    "object_type",
    "object_id",
    "object_repr",
    "service_slug",
    "message",
    "before",
    "after",
    "details",
    "request_id",
    "source_ip",
    "user_agent",
    "prev_hash",
)
_encode = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
).encode


def event_hash(event: dict) -> str:
    """The chain hash of an exported event (its ``HASH_FIELDS`` values, canonical JSON)."""
    blob = _encode([CHAIN_FORMAT_VERSION, *(event[name] for name in HASH_FIELDS)])
    return hashlib.sha256(blob.encode("ascii")).hexdigest()


@dataclass
class Result:
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    files_checked: int = 0
    key_id: str = ""
    audit_events: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    def problem(self, kind: str, path: str, why: str = "") -> None:
        self.problems.append(f"{kind}: {path}" + (f" ({why})" if why else ""))

    def files_named(self, kind: str) -> list[str]:
        """The files with a problem of ``kind`` (CHANGED, ADDED, REMOVED), each once."""
        prefix = f"{kind}: "
        found = [p[len(prefix) :].split(" (")[0] for p in self.problems if p.startswith(prefix)]
        return list(dict.fromkeys(found))


def _key_id(public_key) -> str:
    """RFC 7638 JWK thumbprint, the ``kid`` the portal publishes in its JWKS."""
    from cryptography.hazmat.primitives import serialization

    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    x = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    members = json.dumps({"crv": "Ed25519", "kty": "OKP", "x": x}, separators=(",", ":"))
    return base64.urlsafe_b64encode(hashlib.sha256(members.encode()).digest()).rstrip(b"=").decode()


def _check_signature(zf, names, manifest_bytes: bytes, key_pem: bytes | None, result: Result):
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    if key_pem is None:
        if PUBLIC_KEY not in names:
            result.problem("REMOVED", PUBLIC_KEY, "no --public-key given and none in the bundle")
            return
        key_pem = zf.read(PUBLIC_KEY)
        result.notes.append(
            "Used the public key inside the bundle: compare the key id below with the portal's "
            "published key (or pass --public-key)."
        )
    try:
        key = serialization.load_pem_public_key(key_pem)
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError("not an Ed25519 key")
    except (ValueError, TypeError) as exc:
        result.problem("SIGNATURE", MANIFEST, f"unusable public key: {exc}")
        return
    result.key_id = _key_id(key)
    if SIGNATURE not in names:
        result.problem("REMOVED", SIGNATURE, "the manifest is not signed")
        return
    try:
        key.verify(base64.b64decode(zf.read(SIGNATURE), validate=False), manifest_bytes)
    except (InvalidSignature, ValueError):
        result.problem(
            "CHANGED", MANIFEST, "signature does not match: the manifest or its signature changed"
        )


def _digest(zf, name: str) -> tuple[str, int]:
    sha, size = hashlib.sha256(), 0
    with zf.open(name) as fh:
        while chunk := fh.read(CHUNK):
            sha.update(chunk)
            size += len(chunk)
    return sha.hexdigest(), size


def _check_files(zf, infos, manifest: dict, result: Result) -> None:
    listed = {}
    for entry in manifest.get("files", []):
        listed[entry["path"]] = entry
    counts: dict[str, int] = {}
    for info in infos:
        counts[info.filename] = counts.get(info.filename, 0) + 1
    for name, count in counts.items():
        if count > 1:
            result.problem("ADDED", name, f"{count} entries with this name")
        elif name not in listed and name not in ENVELOPE and not name.endswith("/"):
            result.problem("ADDED", name, "not listed in the manifest")
    for path, entry in listed.items():
        if path not in counts:
            result.problem("REMOVED", path, "listed in the manifest, missing from the bundle")
            continue
        if counts[path] > 1:
            continue
        try:
            sha, size = _digest(zf, path)
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            result.problem("CHANGED", path, f"cannot be read: {exc}")
            continue
        result.files_checked += 1
        if sha != entry.get("sha256") or size != entry.get("size"):
            result.problem("CHANGED", path, f"SHA-256 {sha} differs from the manifest")
    for ev in manifest.get("evidence", []):
        path = ev.get("path")
        if path and path in listed and listed[path].get("sha256") != ev.get("sha256"):
            result.problem(
                "CHANGED", path, f"evidence {ev.get('id')} content does not match its address"
            )


def _check_audit(zf, names, manifest: dict, result: Result) -> None:
    audit = manifest.get("audit") or {}
    path = audit.get("path")
    if not path or path not in names:
        return  # a missing listed file is already reported
    expected_seq, prev = audit.get("first_seq"), audit.get("anchor_prev_hash")
    count = 0
    with zf.open(path) as fh:
        for number, raw in enumerate(fh, start=1):
            try:
                event = json.loads(raw)
                seq, stored = event["seq"], event["hash"]
            except (ValueError, KeyError, TypeError):
                result.problem("CHANGED", path, f"line {number} is not an audit event")
                return
            where = f"event #{seq}"
            if seq != expected_seq:
                why = f"{where}: expected #{expected_seq} (gap or reorder)"
                result.problem("CHANGED", path, why)
                return
            if event.get("prev_hash") != prev:
                result.problem("CHANGED", path, f"{where}: prev_hash does not link to #{seq - 1}")
                return
            if event.get("in_scope", False):
                try:
                    recomputed = event_hash(event)
                except (KeyError, ValueError, TypeError):
                    recomputed = ""
                if recomputed != stored:
                    result.problem("CHANGED", path, f"{where}: content does not match its hash")
                    return
            prev, expected_seq = stored, seq + 1
            count += 1
    if count != audit.get("events", count) or (count and prev != audit.get("last_hash")):
        result.problem("CHANGED", path, "the segment does not end where the manifest says")
    result.audit_events = count


def verify_bundle(path: str, *, public_key_pem: bytes | None = None) -> Result:
    """Verify the bundle at ``path``; the result names every changed, added or removed file."""
    result = Result()
    with zipfile.ZipFile(path) as zf:
        infos = zf.infolist()
        names = {info.filename for info in infos}
        if MANIFEST not in names:
            result.problem("REMOVED", MANIFEST, "the bundle has no manifest")
            return result
        manifest_bytes = zf.read(MANIFEST)
        _check_signature(zf, names, manifest_bytes, public_key_pem, result)
        try:
            manifest = json.loads(manifest_bytes)
        except ValueError:
            result.problem("CHANGED", MANIFEST, "not valid JSON")
            return result
        if manifest.get("format") != FORMAT:
            result.problem("CHANGED", MANIFEST, f"unknown format {manifest.get('format')!r}")
            return result
        _check_files(zf, infos, manifest, result)
        _check_audit(zf, names, manifest, result)
        result.notes += [f"Recorded by the portal: {w}" for w in manifest.get("warnings", [])]
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m exports.verify", description="Verify a PRR Portal evidence bundle."
    )
    parser.add_argument("bundle", help="the bundle .zip file")
    parser.add_argument("--public-key", help="the portal's published public key (PEM file)")
    args = parser.parse_args(argv)
    try:
        key = None
        if args.public_key:
            with open(args.public_key, "rb") as fh:
                key = fh.read()
        result = verify_bundle(args.bundle, public_key_pem=key)
    except (OSError, zipfile.BadZipFile) as exc:
        print(f"ERROR: cannot read {args.bundle}: {exc}", file=sys.stderr)
        return 2
    for note in result.notes:
        print(f"NOTE: {note}")
    if result.key_id:
        print(f"Signing key id: {result.key_id}")
    if not result.ok:
        for problem in result.problems:
            print(problem)
        print(f"FAILED: {len(result.problems)} problem(s) found in {args.bundle}")
        return 1
    print(
        f"OK: signature valid; {result.files_checked} files match the manifest; "
        f"audit chain segment of {result.audit_events} events verified."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
