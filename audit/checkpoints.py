"""Signed checkpoints of the chain head, kept in the "audit_checkpoints" storage.

A hash chain cannot notice that its newest events were cut off. A checkpoint is the head at a
moment (sequence number and hash), signed with the portal key and written where the database
cannot reach it; the verifier then requires that event to still be there with that hash.

Layout: ``YYYY/MM/DD/HHMMSSffffffZ-<seq>.json`` so the newest checkpoint is found by listing
four short directories, and a name is never reused.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from dataclasses import dataclass, field

from django.core.files.base import ContentFile
from django.core.files.storage import storages

from portal import signing

STORAGE_ALIAS = "audit_checkpoints"
FORMAT = "prr-audit-checkpoint/1"


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    hash: str
    time: dt.datetime
    key_id: str
    signature: bytes = field(repr=False)
    previous: str | None = None
    name: str = ""
    # Whether the signature verifies with the portal's current public key.
    signature_valid: bool = False

    def signed_fields(self) -> dict:
        return {
            "format": FORMAT,
            "seq": self.seq,
            "hash": self.hash,
            "time": self.time.isoformat(timespec="microseconds"),
            "previous": self.previous,
            "key_id": self.key_id,
            "algorithm": "Ed25519",
        }

    def to_json(self) -> bytes:
        document = {
            **self.signed_fields(),
            "signature": base64.b64encode(self.signature).decode("ascii"),
        }
        return json.dumps(document, indent=2, sort_keys=True).encode("utf-8") + b"\n"


def signed_bytes(fields: dict) -> bytes:
    """The exact bytes a checkpoint signature covers."""
    return json.dumps(fields, sort_keys=True, separators=(",", ":")).encode("utf-8")


def storage():
    return storages[STORAGE_ALIAS]


def create(*, seq: int, hash_: str, previous: str | None, now: dt.datetime) -> Checkpoint:
    """Sign the head and store it under a fresh name; returns the stored checkpoint."""
    now = now.astimezone(dt.UTC)
    unsigned = Checkpoint(
        seq=seq, hash=hash_, time=now, key_id=signing.key_id(), signature=b"", previous=previous
    )
    signature = signing.sign(signed_bytes(unsigned.signed_fields()))
    name = f"{now:%Y/%m/%d/%H%M%S%f}Z-{seq}.json"
    checkpoint = Checkpoint(
        **{**unsigned.__dict__, "signature": signature, "signature_valid": True}
    )
    stored_name = storage().save(name, ContentFile(checkpoint.to_json()))
    return Checkpoint(**{**checkpoint.__dict__, "name": stored_name})


def parse(name: str, content: bytes, public_key_pem: str | None = None) -> Checkpoint:
    """Read a checkpoint document and check its signature (portal key unless one is given)."""
    try:
        doc = json.loads(content)
        checkpoint = Checkpoint(
            seq=int(doc["seq"]),
            hash=str(doc["hash"]),
            time=dt.datetime.fromisoformat(doc["time"]),
            key_id=str(doc.get("key_id", "")),
            signature=base64.b64decode(doc["signature"], validate=True),
            previous=doc.get("previous"),
            name=name,
        )
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise ValueError(f"checkpoint {name} is unreadable: {exc}") from None
    if doc.get("format") != FORMAT:
        raise ValueError(f"checkpoint {name} has unknown format {doc.get('format')!r}")
    pem = public_key_pem or signing.public_key_pem()
    valid = signing.verify(pem, signed_bytes(checkpoint.signed_fields()), checkpoint.signature)
    return Checkpoint(**{**checkpoint.__dict__, "signature_valid": valid})


def _newest(path: str) -> str | None:
    """The newest checkpoint file name under ``path`` (depth-first over sorted folders)."""
    store = storage()
    try:
        dirs, files = store.listdir(path)
    except FileNotFoundError:
        return None
    files = sorted(f for f in files if f.endswith(".json"))
    if files:
        return f"{path}/{files[-1]}" if path else files[-1]
    for directory in sorted(dirs, reverse=True):
        found = _newest(f"{path}/{directory}" if path else directory)
        if found:
            return found
    return None


def latest() -> Checkpoint | None:
    """The most recently written checkpoint, or None when there is none yet."""
    name = _newest("")
    if name is None:
        return None
    with storage().open(name, "rb") as fh:
        return parse(name, fh.read())
