"""The evidence bundle: a ZIP with the report files, every evidence file, the scope's audit
events with their chain hashes, a manifest of SHA-256 hashes and a signature over it.

Memory stays flat whatever the evidence weighs: every member is streamed into the archive in
1 MiB chunks (``ZipFile.open(name, "w")``), hashed on the way, and the archive is written to a
file on disk, never assembled in memory. The manifest (one entry per file) and the ZIP's
central directory are the only things that grow with the number of files.

Layout::

    manifest.json          every file below with SHA-256, size and metadata (signed)
    manifest.json.sig      base64 Ed25519 signature over manifest.json's exact bytes
    public_key.pem         the portal's public key (compare its key id with the published one)
    reports/…              report.pdf, matrix.xlsx, matrix.csv, report.json
    evidence/<sha256>      each evidence blob once (content-addressed)
    audit/events.jsonl     the audit chain segment covering the scope's events
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import tempfile
import time
import zipfile
from collections.abc import Callable

from django.conf import settings
from django.core.files.storage import default_storage
from django.db.models import Max, Min

from audit.chain import HASH_FIELDS
from audit.models import AuditChainHead, AuditEvent
from exports import verify
from exports.choices import ExportFormat
from exports.render import render
from exports.render.jsonfmt import evidence_metadata, iter_evidence
from portal import signing

CHUNK = 1024 * 1024
AUDIT_BATCH = 2000
REPORT_FILES = [
    (ExportFormat.PDF, "reports/report.pdf", "application/pdf"),
    (
        ExportFormat.XLSX,
        "reports/matrix.xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ),
    (ExportFormat.CSV, "reports/matrix.csv", "text/csv"),
    (ExportFormat.JSON, "reports/report.json", "application/json"),
]
_TEXTUAL = ("text/", "application/json", "application/xml", "application/sarif")

Progress = Callable[[int, int, str], None]


def _compressible(content_type: str) -> bool:
    return any(content_type.startswith(prefix) for prefix in _TEXTUAL) or content_type.endswith(
        "+json"
    )


class _Member:
    """A file being streamed into the archive, hashed as it goes."""

    def __init__(self, zf: zipfile.ZipFile, path: str, *, compress: bool):
        info = zipfile.ZipInfo(path, date_time=time.gmtime()[:6])
        info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
        info.external_attr = 0o644 << 16
        self._fh = zf.open(info, "w", force_zip64=True)
        self.path = path
        self.sha = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> None:
        self.sha.update(data)
        self.size += len(data)
        self._fh.write(data)

    def close(self) -> dict:
        self._fh.close()
        return {"path": self.path, "sha256": self.sha.hexdigest(), "size": self.size}


def _copy_file(zf, path: str, source, *, compress: bool) -> dict:
    member = _Member(zf, path, compress=compress)
    try:
        while chunk := source.read(CHUNK):
            member.write(chunk)
    finally:
        entry = member.close()
    return entry


class BundleBuilder:
    def __init__(self, report, *, out, progress: Progress, created_by: str, parameters: dict):
        self.report = report
        self.out = out
        self.progress = progress
        self.created_by = created_by
        self.parameters = parameters
        self.files: list[dict] = []
        self.evidence: list[dict] = []
        self.warnings: list[str] = []
        self.done = 0
        self.total = len(REPORT_FILES) + len(report.evidence_ids) + 2

    def step(self, phase: str, n: int = 1) -> None:
        self.done += n
        self.progress(min(self.done, self.total), self.total, phase)

    def build(self) -> dict:
        with zipfile.ZipFile(self.out, "w", allowZip64=True) as zf:
            self.add_reports(zf)
            self.add_evidence(zf)
            audit = self.add_audit(zf)
            manifest = self.manifest(audit)
            blob = json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False).encode()
            signature = base64.b64encode(signing.sign(blob)) + b"\n"
            zf.writestr(verify.MANIFEST, blob, compress_type=zipfile.ZIP_DEFLATED)
            zf.writestr(verify.SIGNATURE, signature)
            zf.writestr(verify.PUBLIC_KEY, signing.public_key_pem())
        self.step("Signed the manifest")
        return manifest

    def add_reports(self, zf) -> None:
        tmp_dir = getattr(settings, "EXPORTS_TMP_DIR", None)
        for fmt, path, media_type in REPORT_FILES:
            with tempfile.TemporaryFile(dir=tmp_dir) as tmp:
                render(self.report, fmt, tmp)
                tmp.seek(0)
                entry = _copy_file(zf, path, tmp, compress=fmt != ExportFormat.XLSX)
            self.files.append({**entry, "role": "report", "media_type": media_type})
            self.step(f"Rendered {path}")

    def add_evidence(self, zf) -> None:
        written: dict[str, dict] = {}
        for n, ev in enumerate(iter_evidence(self.report.evidence_ids), start=1):
            meta = evidence_metadata(ev) | {"path": None}
            if ev.storage_name and ev.sha256 in written:
                meta["path"] = written[ev.sha256]["path"]
            elif ev.storage_name:
                entry = self._add_blob(zf, ev)
                if entry is not None:
                    written[ev.sha256] = entry
                    meta["path"] = entry["path"]
            self.evidence.append(meta)
            if n % 25 == 0:
                self.step(f"Added {n} of {len(self.report.evidence_ids)} evidence files", 25)
        self.step("Added the evidence files", len(self.report.evidence_ids) % 25)

    def _add_blob(self, zf, ev) -> dict | None:
        path = f"evidence/{ev.sha256}"
        try:
            source = default_storage.open(ev.storage_name, "rb")
        except (FileNotFoundError, OSError):
            self.warnings.append(f"evidence {ev.pk}: its file {ev.storage_name} is missing")
            return None
        with source:
            entry = _copy_file(zf, path, source, compress=_compressible(ev.content_type))
        if entry["sha256"] != ev.sha256:
            self.warnings.append(
                f"evidence {ev.pk}: stored bytes do not match its recorded SHA-256 {ev.sha256}"
            )
        self.files.append({**entry, "role": "evidence", "media_type": ev.content_type})
        return entry

    def add_audit(self, zf) -> dict:
        """The chain segment from the scope's first event to its last: events in scope in
        full, the ones between them (other scopes) as seq/prev_hash/hash only, so the links
        can be checked without disclosing other services' events."""
        scope = AuditEvent.objects.filter(self.report.audit_filter)
        bounds = scope.aggregate(first=Min("seq"), last=Max("seq"))
        member = _Member(zf, verify.AUDIT_PATH, compress=True)
        info = {"path": verify.AUDIT_PATH, "events": 0, "in_scope": 0}
        first, last = bounds["first"], bounds["last"]
        prev_hash = last_hash = None
        if first is not None:
            for start in range(first, last + 1, AUDIT_BATCH):
                end = min(start + AUDIT_BATCH, last + 1)
                full = {e.seq: e for e in scope.filter(seq__gte=start, seq__lt=end)}
                links = AuditEvent.objects.filter(seq__gte=start, seq__lt=end).order_by("seq")
                for seq, prev, hash_ in links.values_list("seq", "prev_hash", "hash"):
                    event = full.get(seq)
                    line = _event_line(event) if event else {
                        "seq": seq, "prev_hash": prev, "hash": hash_, "in_scope": False
                    }  # fmt: skip
                    member.write(json.dumps(line, sort_keys=True).encode() + b"\n")
                    prev_hash = prev if prev_hash is None else prev_hash
                    last_hash = hash_
                    info["events"] += 1
                    info["in_scope"] += event is not None
        entry = member.close()
        self.files.append({**entry, "role": "audit", "media_type": "application/x-ndjson"})
        head = AuditChainHead.objects.filter(id=1).values("seq", "hash").first()
        self.step("Added the audit trail")
        return info | {
            "first_seq": first,
            "last_seq": last,
            "anchor_prev_hash": prev_hash,
            "last_hash": last_hash,
            "chain_head": head,
            "hash_fields": list(HASH_FIELDS),
        }

    def manifest(self, audit: dict) -> dict:
        report = self.report
        return {
            "format": verify.FORMAT,
            "created_at": report.generated_at.isoformat(),
            "created_by": self.created_by,
            "portal": settings.PORTAL_BASE_URL,
            "scope": {
                "type": report.scope,
                "title": report.title,
                "subtitle": report.subtitle,
                "decision": report.decision,
                "services": report.service_slugs,
                "parameters": self.parameters,
            },
            "signing": {
                "algorithm": "Ed25519",
                "key_id": signing.key_id(),
                "signature": verify.SIGNATURE,
                "public_key": verify.PUBLIC_KEY,
            },
            "files": self.files,
            "evidence": self.evidence,
            "audit": audit,
            "warnings": self.warnings,
            "verify": "python -m exports.verify <bundle.zip> [--public-key portal.pem]",
        }


def _event_line(event: AuditEvent) -> dict:
    return event.canonical_payload() | {"hash": event.hash, "in_scope": True}


def write_bundle(
    report, out, *, progress: Progress | None = None, created_by: str = "", parameters=None
) -> dict:
    """Write the bundle of ``report`` to the binary, seekable file ``out``; return the
    manifest."""
    builder = BundleBuilder(
        report,
        out=out,
        progress=progress or (lambda done, total, phase: None),
        created_by=created_by,
        parameters=parameters or {},
    )
    return builder.build()


def file_sha256(path: str | os.PathLike) -> tuple[str, int]:
    sha, size = hashlib.sha256(), 0
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            sha.update(chunk)
            size += len(chunk)
    return sha.hexdigest(), size
