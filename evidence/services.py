"""Every way evidence comes into the portal. Evidence is only ever created, never changed.

Bytes are stored once per SHA-256 under ``evidence/ab/cdef…``; each call creates a new row
that records who or what produced the evidence and when, pointing at that blob.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.validators import URLValidator
from django.db import transaction
from django.utils import timezone

from audit.choices import ActorType
from audit.context import Actor
from audit.services import audit_denied, audit_record
from evidence import validation
from evidence.choices import CiEvidenceKind, EvidenceKind, SourceType
from evidence.models import Evidence, storage_name_for
from portal.errors import DomainError

COMMIT_SHA = re.compile(r"^[0-9a-f]{7,40}$")
MAX_METADATA_BYTES = 16 * 1024
_url_validator = URLValidator(schemes=["https", "http"])


def _require_service_member(actor: Actor, service, action: str) -> None:
    """Refuse (and audit the refusal) unless the caller is on the owning team or an admin.
    Called before any of the service's writes, so the denial is not rolled back with them."""
    user = actor.user
    if user is None or not (user.is_platform_admin or service.team_id in user.team_ids):
        message = f"Only members of {service.team.name} or a platform admin may {action}."
        audit_denied(
            actor=actor,
            action="evidence.create",
            obj=service,
            message=message,
            service_slug=service.slug,
        )
        raise DomainError(message, code="not_allowed")


def _check_period(collected_at, period_start, period_end, expires_at) -> None:
    now = timezone.now()
    if collected_at > now + timedelta(minutes=5):
        raise DomainError("Evidence cannot be collected in the future.")
    if period_start and period_end and period_end < period_start:
        raise DomainError("The period covered ends before it starts.")
    if expires_at and expires_at <= collected_at:
        raise DomainError("Evidence cannot expire before it was collected.")


def store_blob(content: bytes) -> tuple[str, str]:
    """Store ``content`` once under its content address; return (sha256, storage name)."""
    sha256 = hashlib.sha256(content).hexdigest()
    name = storage_name_for(sha256)
    if not default_storage.exists(name):
        saved = default_storage.save(name, ContentFile(content))
        if saved != name:  # an identical upload won the race: keep one copy
            default_storage.delete(saved)
    return sha256, name


def _read_upload(uploaded_file) -> bytes:
    validation.check_size(uploaded_file.size or 0)
    limit = validation.max_upload_bytes()
    chunks, total = [], 0
    for chunk in uploaded_file.chunks():
        total += len(chunk)
        if total > limit:  # the declared size lied
            validation.check_size(total)
        chunks.append(chunk)
    content = b"".join(chunks)
    validation.check_size(len(content))
    return content


def _source_for(actor: Actor) -> tuple[str, str]:
    if actor.type == ActorType.CI:
        return SourceType.CI, actor.label
    if actor.type == ActorType.SYSTEM:
        return SourceType.COLLECTOR, actor.label
    return SourceType.USER, actor.label


def _create(*, actor: Actor, service, audit_message: str, **fields) -> Evidence:
    evidence = Evidence(service=service, **fields)
    with transaction.atomic():
        evidence.save(force_insert=True)
        audit_record(
            actor=actor,
            action="evidence.create",
            obj=evidence,
            message=audit_message,
            after={
                "kind": evidence.kind,
                "sha256": evidence.sha256,
                "size": evidence.size,
                "filename": evidence.original_filename,
                "url": evidence.url,
                "control_code": evidence.control_code,
                "collected_at": evidence.collected_at,
            },
            service_slug=service.slug,
        )
    return evidence


def evidence_store_file(
    *,
    actor: Actor,
    service,
    uploaded_file,
    title: str = "",
    control_code: str = "",
    collected_at: datetime | None = None,
    period_start: datetime | None = None,
    period_end: datetime | None = None,
    expires_at: datetime | None = None,
) -> Evidence:
    """Store an uploaded file as evidence for ``service``.

    Refuses unsafe names, files over ``EVIDENCE_MAX_UPLOAD_BYTES`` and content that does
    not match the file's extension, each with a message the uploader can act on.
    """
    _require_service_member(actor, service, "upload evidence for this service")
    filename = validation.clean_filename(uploaded_file.name)
    content = _read_upload(uploaded_file)
    content_type = validation.content_type_for(filename, content)
    collected_at = collected_at or timezone.now()
    _check_period(collected_at, period_start, period_end, expires_at)
    sha256, name = store_blob(content)
    source_type, source_label = _source_for(actor)
    return _create(
        actor=actor,
        service=service,
        audit_message=f"Uploaded {filename}",
        kind=EvidenceKind.UPLOAD,
        title=(title or filename)[:200],
        sha256=sha256,
        size=len(content),
        content_type=content_type,
        storage_name=name,
        original_filename=filename,
        source_type=source_type,
        source_label=source_label,
        produced_by=actor.user,
        collected_at=collected_at,
        period_start=period_start,
        period_end=period_end,
        expires_at=expires_at,
        control_code=control_code,
    )


def evidence_add_link(
    *,
    actor: Actor,
    service,
    url: str,
    title: str = "",
    control_code: str = "",
    collected_at: datetime | None = None,
    period_start: datetime | None = None,
    period_end: datetime | None = None,
    expires_at: datetime | None = None,
) -> Evidence:
    """Record a link (a dashboard, a ticket, a wiki page) as evidence; the hash covers the
    URL, since the portal cannot vouch for what the link shows later."""
    _require_service_member(actor, service, "add evidence for this service")
    url = (url or "").strip()
    try:
        _url_validator(url)
    except ValidationError:
        raise DomainError(
            "Enter a full http(s) link.", details={"url": ["not an http(s) URL"]}
        ) from None
    if len(url) > 2000:
        raise DomainError("Links may be at most 2000 characters.", details={"url": ["too long"]})
    collected_at = collected_at or timezone.now()
    _check_period(collected_at, period_start, period_end, expires_at)
    source_type, source_label = _source_for(actor)
    return _create(
        actor=actor,
        service=service,
        audit_message=f"Linked {url}",
        kind=EvidenceKind.LINK,
        title=(title or url)[:200],
        sha256=hashlib.sha256(url.encode()).hexdigest(),
        url=url,
        source_type=source_type,
        source_label=source_label,
        produced_by=actor.user,
        collected_at=collected_at,
        period_start=period_start,
        period_end=period_end,
        expires_at=expires_at,
        control_code=control_code,
    )


def _check_result_document(result) -> dict:
    return {
        "check_result_id": result.pk,
        "run_id": result.run_id,
        "check_id": result.check_id,
        "resource": result.resource,
        "status": result.status,
        "message": result.message,
        "evaluated_at": result.evaluated_at.isoformat(),
    }


def evidence_from_check_result(
    *, actor: Actor, service, check_result, control_code: str = ""
) -> Evidence:
    """Turn one collected check result into evidence (idempotent: the same result for the
    same service gives back the same row). The collector (a system actor) or a member of
    the owning team may do it."""
    if actor.user is not None:
        _require_service_member(actor, service, "attach automated results for this service")
    document = _check_result_document(check_result)
    content = json.dumps(document, sort_keys=True, separators=(",", ":")).encode()
    sha256 = hashlib.sha256(content).hexdigest()
    existing = Evidence.objects.filter(
        service=service, kind=EvidenceKind.AUTOMATED, sha256=sha256
    ).first()
    if existing is not None:
        return existing
    sha256, name = store_blob(content)
    return _create(
        actor=actor,
        service=service,
        audit_message=f"Automated result {check_result.check_id}: {check_result.status}",
        kind=EvidenceKind.AUTOMATED,
        title=f"{check_result.check_id} on {check_result.resource}"[:200],
        sha256=sha256,
        size=len(content),
        content_type="application/json",
        storage_name=name,
        original_filename=f"check-result-{check_result.pk}.json",
        source_type=SourceType.COLLECTOR,
        source_label=f"collector run {check_result.run_id}",
        produced_by=None,
        collected_at=check_result.evaluated_at,
        control_code=control_code,
        check_id=check_result.check_id,
        metadata={"status": check_result.status, **document},
    )


def evidence_from_ci(
    *,
    actor: Actor,
    service,
    kind: str,
    content: bytes,
    filename: str,
    commit_sha: str = "",
    metadata: dict | None = None,
    control_code: str = "",
) -> Evidence:
    """Store a CI upload (SARIF, Checkov, JUnit, CycloneDX, signing evidence).

    The caller (the API) has already bound the CI identity or token to ``service``; a
    signed-in user calling it must be a member of the owning team.
    """
    if actor.user is not None:
        _require_service_member(actor, service, "upload CI evidence for this service")
    if kind not in CiEvidenceKind.values:
        raise DomainError(
            f"Unknown CI evidence kind {kind!r}; use one of {', '.join(CiEvidenceKind.values)}.",
            details={"kind": ["unknown"]},
        )
    commit_sha = (commit_sha or "").lower()
    if commit_sha and not COMMIT_SHA.match(commit_sha):
        raise DomainError("commit_sha must be 7-40 hex characters.", details={"commit_sha": []})
    metadata = dict(metadata or {})
    try:
        encoded = json.dumps(metadata, sort_keys=True)
    except (TypeError, ValueError):
        raise DomainError("metadata must be JSON.", details={"metadata": ["not JSON"]}) from None
    if len(encoded) > MAX_METADATA_BYTES:
        raise DomainError("metadata is too large (16 KB at most).", details={"metadata": []})
    filename = validation.clean_filename(filename)
    validation.check_size(len(content))
    content_type = validation.content_type_for(filename, content)
    sha256, name = store_blob(content)
    source_type, source_label = _source_for(actor)
    if actor.user is None:
        source_type = SourceType.CI
    return _create(
        actor=actor,
        service=service,
        audit_message=f"CI upload {kind}: {filename}",
        kind=EvidenceKind.CI,
        title=f"{CiEvidenceKind(kind).label}: {filename}"[:200],
        sha256=sha256,
        size=len(content),
        content_type=content_type,
        storage_name=name,
        original_filename=filename,
        source_type=source_type,
        source_label=source_label,
        produced_by=actor.user,
        collected_at=timezone.now(),
        control_code=control_code,
        commit_sha=commit_sha,
        metadata={**metadata, "ci_kind": kind},
    )


def evidence_verify(*, evidence: Evidence) -> bool:
    """Re-hash the stored bytes: True when they still match the recorded SHA-256."""
    if not evidence.storage_name:
        return hashlib.sha256(evidence.url.encode()).hexdigest() == evidence.sha256
    digest = hashlib.sha256()
    try:
        with default_storage.open(evidence.storage_name, "rb") as handle:
            for chunk in iter(lambda: handle.read(1024 * 1024), b""):
                digest.update(chunk)
    except FileNotFoundError:
        return False
    return digest.hexdigest() == evidence.sha256
