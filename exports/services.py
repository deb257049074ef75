"""Requesting, producing and downloading exports. Every one is permission-checked and audited.

``export_request`` validates a scope and queues a job (the worker calls ``export_job_run``);
``export_download`` hands its file to the requester; ``export_stream`` serves the small
synchronous exports (CSV/JSON of one review) straight to the client.
"""

from __future__ import annotations

import datetime as dt
import logging
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from audit.choices import Outcome
from audit.context import Actor
from audit.services import audit_denied, audit_record
from controls.models import Framework
from exports import reports
from exports.choices import (
    ACTIVE_STATUSES,
    CONTENT_TYPES,
    SYNC_FORMATS,
    ExportFormat,
    ExportScope,
    ExportStatus,
)
from exports.models import ExportJob
from exports.render import filename_for, render
from exports.render.bundle import file_sha256, write_bundle
from exports.selectors import exportable_services_for, may_export_service
from portal.celery import TransientError
from portal.errors import DomainError
from reviews.models import Review
from services.models import Service

logger = logging.getLogger(__name__)

DEFAULT_PERIOD_DAYS = 365
MAX_PERIOD_DAYS = 5 * 366


@dataclass(frozen=True)
class ExportRequest:
    """A validated scope: what ``export_request`` stores and ``build_report`` reads back."""

    scope: str
    title: str
    parameters: dict
    review: Review | None = None
    service: Service | None = None
    framework: Framework | None = None
    service_slug: str = ""


def _period(start: dt.date | None, end: dt.date | None) -> tuple[dt.date, dt.date]:
    end = end or timezone.now().date()
    start = start or end - dt.timedelta(days=DEFAULT_PERIOD_DAYS)
    if start > end:
        raise DomainError(
            "The period starts after it ends.", details={"period_start": ["after the end"]}
        )
    if (end - start).days > MAX_PERIOD_DAYS:
        raise DomainError("Choose a period of at most five years.")
    return start, end


def _not_allowed(what: str) -> DomainError:
    return DomainError(
        f"You may not export {what}: auditors export every service, team members their own.",
        code="not_allowed",
    )


def _validate(
    user,
    *,
    scope: str,
    review: Review | None,
    service: Service | None,
    framework: Framework | None,
    services,
    period_start: dt.date | None,
    period_end: dt.date | None,
    environment: str,
) -> ExportRequest:
    if scope == ExportScope.REVIEW:
        if review is None:
            raise DomainError("Choose a review to export.", details={"review": ["required"]})
        if not may_export_service(user, review.service):
            raise _not_allowed(f"review #{review.pk}")
        return ExportRequest(
            scope=scope,
            title=f"Review #{review.pk} · {review.service.slug} · {review.environment}",
            parameters={"review": review.pk},
            review=review,
            service_slug=review.service.slug,
        )
    start, end = _period(period_start, period_end)
    period = {"period_start": start.isoformat(), "period_end": end.isoformat()}
    if scope == ExportScope.SERVICE:
        if service is None:
            raise DomainError("Choose a service to export.", details={"service": ["required"]})
        if not may_export_service(user, service):
            raise _not_allowed(service.name)
        return ExportRequest(
            scope=scope,
            title=f"Service {service.slug} · {start} to {end}",
            parameters={"service": service.slug, **period},
            service=service,
            service_slug=service.slug,
        )
    if scope == ExportScope.FRAMEWORK:
        if framework is None:
            raise DomainError("Choose a framework.", details={"framework": ["required"]})
        chosen = list(services or [])
        if not chosen:
            chosen = list(exportable_services_for(user))
        refused = [s.name for s in chosen if not may_export_service(user, s)]
        if refused:
            raise _not_allowed(", ".join(refused))
        if not chosen:
            raise DomainError("Choose at least one service.", details={"services": ["required"]})
        slugs = sorted(s.slug for s in chosen)
        return ExportRequest(
            scope=scope,
            title=f"{framework.name} · {len(slugs)} service(s) · {start} to {end}",
            parameters={
                "framework": framework.pk,
                "framework_code": framework.code,
                "catalog_version": framework.catalog_version.version,
                "services": slugs,
                "environment": environment,
                **period,
            },
            framework=framework,
            service_slug=slugs[0] if len(slugs) == 1 else "",
        )
    raise DomainError(f"Unknown export scope {scope!r}.", details={"scope": ["unknown"]})


def export_request(
    *,
    actor: Actor,
    scope: str,
    fmt: str,
    review: Review | None = None,
    service: Service | None = None,
    framework: Framework | None = None,
    services=None,
    period_start: dt.date | None = None,
    period_end: dt.date | None = None,
    environment: str = "",
) -> ExportJob:
    """Queue an export of one scope in one format for the actor; the worker produces it.

    Auditors and platform admins may export every scope, team members their services' only;
    a refusal is audited (``export.request``, denied) and raised as ``not_allowed``.
    """
    user = actor.user
    try:
        if user is None or not user.is_authenticated:
            raise _not_allowed("anything without signing in")
        if fmt not in ExportFormat.values:
            raise DomainError(f"Unknown format {fmt!r}.", details={"format": ["unknown"]})
        req = _validate(
            user,
            scope=scope,
            review=review,
            service=service,
            framework=framework,
            services=services,
            period_start=period_start,
            period_end=period_end,
            environment=(environment or "").strip(),
        )
    except DomainError as exc:
        if exc.code == "not_allowed":
            audit_denied(
                actor=actor,
                action="export.request",
                obj=review or service or framework,
                message=exc.message,
                details={"scope": scope, "format": fmt},
            )
        raise
    with transaction.atomic():
        job = ExportJob.objects.create(
            scope=req.scope,
            format=fmt,
            parameters=req.parameters,
            review=req.review,
            service=req.service,
            framework=req.framework,
            title=req.title[:255],
            requested_by=user,
        )
        audit_record(
            actor=actor,
            action="export.request",
            obj=job,
            message=f"Requested {ExportFormat(fmt).label}: {req.title}",
            details={"scope": req.scope, "format": fmt, "parameters": req.parameters},
            service_slug=req.service_slug,
        )
        from exports.tasks import run_export_job

        run_export_job.delay_on_commit(job.pk)
    return job


def build_report(job: ExportJob) -> reports.Report:
    """The report of a job's scope, read back from its stored parameters."""
    params = job.parameters
    by = job.requested_by.get_username()
    if job.scope == ExportScope.REVIEW:
        review = Review.objects.select_related("service__team", "catalog_version").get(
            pk=params["review"]
        )
        return reports.review_report(review, generated_by=by)
    start = dt.date.fromisoformat(params["period_start"])
    end = dt.date.fromisoformat(params["period_end"])
    if job.scope == ExportScope.SERVICE:
        service = Service.objects.select_related("team").get(slug=params["service"])
        return reports.service_report(service, start=start, end=end, generated_by=by)
    framework = Framework.objects.select_related("catalog_version").get(pk=params["framework"])
    services = Service.objects.filter(slug__in=params["services"]).order_by("name")
    return reports.framework_report(
        framework,
        services=services,
        start=start,
        end=end,
        environment=params.get("environment", ""),
        generated_by=by,
    )


class _ProgressWriter:
    """Records progress on the job at most twice a second (the page polls it)."""

    def __init__(self, job: ExportJob, attempt: int):
        self.job_id, self.attempt, self.last = job.pk, attempt, 0.0

    def __call__(self, done: int, total: int, phase: str, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and done < total and now - self.last < 0.5:
            return
        self.last = now
        ExportJob.objects.filter(
            pk=self.job_id, attempts=self.attempt, status=ExportStatus.RUNNING
        ).update(progress_done=min(done, total), progress_total=total, phase=phase[:120])


def _claim(job_id: int) -> ExportJob | None:
    """Mark the job running for a new attempt; None if it is already finished."""
    claimed = ExportJob.objects.filter(pk=job_id, status__in=ACTIVE_STATUSES).update(
        status=ExportStatus.RUNNING,
        attempts=F("attempts") + 1,
        started_at=timezone.now(),
        progress_done=0,
        progress_total=0,
        phase="Starting",
        error="",
    )
    if not claimed:
        return None
    return ExportJob.objects.select_related("requested_by").get(pk=job_id)


def _produce(job: ExportJob, progress: _ProgressWriter) -> tuple[str, str, int, str]:
    """Render the job's file into a temporary file, then store it; returns (storage name,
    sha256, size, filename)."""
    progress(0, 3, "Collecting the data", force=True)
    report = build_report(job)
    filename = filename_for(report, job.format)
    tmp_dir = getattr(settings, "EXPORTS_TMP_DIR", None)
    with tempfile.NamedTemporaryFile(prefix="prr-export-", dir=tmp_dir) as tmp:
        if job.format == ExportFormat.ZIP:
            write_bundle(
                report,
                tmp,
                progress=progress,
                created_by=job.requested_by.get_username(),
                parameters=job.parameters | {"scope": job.scope, "export_job": job.pk},
            )
        else:
            progress(1, 3, f"Rendering {ExportFormat(job.format).label}", force=True)
            render(report, job.format, tmp)
        tmp.flush()
        sha256, size = file_sha256(tmp.name)
        progress(2, 3, "Storing the file", force=True)
        tmp.seek(0)
        name = default_storage.save(
            f"exports/{job.pk}/{job.attempts}/{filename}", File(tmp, name=filename)
        )
    return name, sha256, size, filename


def export_job_run(*, job_id: int) -> ExportJob | None:
    """Produce the file of a queued job (the worker's task). Idempotent: a finished job is
    returned unchanged; a redelivered one restarts, and only the latest attempt records its
    result. Transient storage faults are re-raised for Celery to retry; anything else fails
    the job with a message the requester sees."""
    job = _claim(job_id)
    if job is None:
        return ExportJob.objects.filter(pk=job_id).first()
    attempt = job.attempts
    progress = _ProgressWriter(job, attempt)
    system = Actor.system("exports worker")
    try:
        name, sha256, size, filename = _produce(job, progress)
    except (TransientError, ConnectionError, TimeoutError):
        ExportJob.objects.filter(pk=job_id, attempts=attempt).update(
            status=ExportStatus.QUEUED, phase="Waiting to retry"
        )
        raise
    except Exception as exc:
        logger.exception("export job %s failed", job_id)
        with transaction.atomic():
            failed = ExportJob.objects.filter(
                pk=job_id, attempts=attempt, status=ExportStatus.RUNNING
            ).update(
                status=ExportStatus.FAILED,
                finished_at=timezone.now(),
                error=f"The export could not be produced ({type(exc).__name__}).",
            )
            if failed:
                audit_record(
                    actor=system,
                    action="export.generate",
                    obj=job,
                    outcome=Outcome.FAILURE,
                    message=f"Export #{job.pk} failed: {type(exc).__name__}",
                    details={"requested_by": job.requested_by.get_username()},
                )
        job.refresh_from_db()
        return job
    with transaction.atomic():
        done = ExportJob.objects.filter(
            pk=job_id, attempts=attempt, status=ExportStatus.RUNNING
        ).update(
            status=ExportStatus.SUCCEEDED,
            result_name=name,
            filename=filename,
            content_type=CONTENT_TYPES[job.format],
            size=size,
            sha256=sha256,
            progress_done=F("progress_total"),
            phase="Done",
            finished_at=timezone.now(),
        )
        if done:
            audit_record(
                actor=system,
                action="export.generate",
                obj=job,
                message=f"Produced {filename} ({size} bytes)",
                after={"sha256": sha256, "size": size, "file": filename},
                details={"requested_by": job.requested_by.get_username()},
                service_slug=job.service.slug if job.service else "",
            )
    if not done:  # a newer attempt owns the job: drop this attempt's file
        default_storage.delete(name)
    job.refresh_from_db()
    return job


def export_download(*, actor: Actor, job: ExportJob):
    """Open a finished export's file for its requester (audited as ``export.download``).

    Returns ``(file, filename, content_type)``. The scope is checked again: someone who left
    the team no longer downloads its exports.
    """
    user = actor.user
    subject = job.review.service if job.review_id else job.service
    try:
        if user is None or job.requested_by_id != user.pk:
            raise DomainError("This export was requested by someone else.", code="not_found")
        if subject is not None and not may_export_service(user, subject):
            raise _not_allowed(subject.name)
        if job.scope == ExportScope.FRAMEWORK and not all(
            may_export_service(user, s)
            for s in Service.objects.filter(slug__in=job.parameters.get("services", []))
        ):
            raise _not_allowed("these services")
        if job.status != ExportStatus.SUCCEEDED:
            raise DomainError(
                f"Export #{job.pk} is {job.get_status_display().lower()}.", code="invalid_state"
            )
    except DomainError as exc:
        audit_denied(actor=actor, action="export.download", obj=job, message=exc.message)
        raise
    handle = default_storage.open(job.result_name, "rb")
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="export.download",
            obj=job,
            message=f"Downloaded {job.filename}",
            details={"sha256": job.sha256, "format": job.format, "scope": job.scope},
            service_slug=subject.slug if subject is not None else "",
        )
    return handle, job.filename, job.content_type


def export_stream(*, actor: Actor, review: Review, fmt: str) -> tuple[Iterator[str], str, str]:
    """A review's CSV control matrix or JSON export, generated while it is sent.

    Returns ``(chunks, filename, content_type)``; audited as ``export.download``.
    """
    user = actor.user
    if fmt not in SYNC_FORMATS:
        raise DomainError(f"{fmt} exports run in the background; request a job.")
    if user is None or not may_export_service(user, review.service):
        exc = _not_allowed(f"review #{review.pk}")
        audit_denied(
            actor=actor,
            action="export.download",
            obj=review,
            message=exc.message,
            service_slug=review.service.slug,
        )
        raise exc
    report = reports.review_report(review, generated_by=user.get_username())
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="export.download",
            obj=review,
            message=f"Downloaded the {fmt.upper()} export of review #{review.pk}",
            details={"format": fmt, "scope": ExportScope.REVIEW, "sync": True},
            service_slug=review.service.slug,
        )
    if fmt == ExportFormat.CSV:
        from exports.render.tabular import iter_csv

        chunks = iter_csv(report.matrix)
    else:
        from exports.render.jsonfmt import iter_json

        chunks = iter_json(report)
    return chunks, filename_for(report, fmt), CONTENT_TYPES[fmt]
