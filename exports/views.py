"""Exports pages: the user's export jobs with live progress, request forms per scope,
downloads. Thin: every decision is in exports.services."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import (
    FileResponse,
    Http404,
    HttpResponse,
    HttpResponseForbidden,
    JsonResponse,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from audit.context import Actor
from exports import services
from exports.choices import SYNC_FORMATS, ExportFormat, ExportScope
from exports.forms import FormatForm, FrameworkExportForm, ServiceExportForm
from exports.models import ExportJob
from exports.selectors import (
    export_jobs_for,
    exportable_reviews_for,
    exportable_services_for,
    may_export_service,
)
from portal import signing
from portal.errors import DomainError
from reviews.models import Review
from services.models import Service


def job_json(job: ExportJob) -> dict:
    return {
        "id": job.pk,
        "title": job.title,
        "scope": job.scope,
        "format": job.format,
        "status": job.status,
        "status_label": job.get_status_display(),
        "progress_done": job.progress_done,
        "progress_total": job.progress_total,
        "percent": job.percent,
        "phase": job.phase,
        "error": job.error,
        "size": job.size,
        "sha256": job.sha256,
        "filename": job.filename,
        "created_at": job.created_at.isoformat(),
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
        "download_url": reverse("exports:download", args=[job.pk]) if job.sha256 else None,
    }


@login_required
@require_GET
def export_list(request):
    review_id = request.GET.get("review", "")
    if review_id.isdigit():  # the "one review" picker
        return redirect("exports:review_export", review_id=int(review_id))
    page = Paginator(export_jobs_for(request.user), 25).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "jobs": page.object_list,
        "recent_reviews": exportable_reviews_for(request.user)[:100],
        "can_export_services": exportable_services_for(request.user).exists(),
    }
    return render(request, "exports/list.html", context)


@login_required
@require_GET
def jobs_status(request):
    """The user's recent jobs as JSON, polled by static/exports/exports.js."""
    ids = [int(i) for i in request.GET.getlist("id") if i.isdigit()][:50]
    jobs = export_jobs_for(request.user)
    jobs = jobs.filter(pk__in=ids) if ids else jobs[:25]
    return JsonResponse({"jobs": [job_json(j) for j in jobs]})


def _request(request, **kwargs):
    """Call export_request; on success redirect to the list, on refusal show the reason."""
    try:
        job = services.export_request(actor=Actor.from_request(request), **kwargs)
    except DomainError as exc:
        if exc.code == "not_allowed":
            return HttpResponseForbidden(exc.message)
        messages.error(request, exc.message)
        return None
    messages.success(request, f"Export #{job.pk} queued: {job.title}. It appears below.")
    return redirect(job.get_absolute_url())


@login_required
@require_http_methods(["GET", "POST"])
def review_export(request, review_id: int):
    review = get_object_or_404(
        Review.objects.select_related("service__team", "catalog_version"), pk=review_id
    )
    if not may_export_service(request.user, review.service):
        raise Http404("No such review.")
    form = FormatForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        response = _request(
            request, scope=ExportScope.REVIEW, fmt=form.cleaned_data["format"], review=review
        )
        if response is not None:
            return response
    sync = [(fmt, ExportFormat(fmt).label) for fmt in SYNC_FORMATS]
    return render(
        request,
        "exports/request.html",
        {
            "form": form,
            "heading": f"Export review #{review.pk}",
            "subject": review,
            "review": review,
            "sync_formats": sync,
        },
    )


@login_required
@require_GET
def review_download(request, review_id: int, fmt: str):
    """A review's CSV or JSON, streamed while it is generated (no job)."""
    review = get_object_or_404(Review.objects.select_related("service__team"), pk=review_id)
    try:
        chunks, filename, content_type = services.export_stream(
            actor=Actor.from_request(request), review=review, fmt=fmt
        )
    except DomainError as exc:
        if exc.code == "not_allowed":
            raise Http404("No such review.") from None
        return HttpResponse(exc.message, status=exc.http_status, content_type="text/plain")
    response = StreamingHttpResponse(
        (chunk.encode("utf-8") for chunk in chunks), content_type=content_type
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
@require_http_methods(["GET", "POST"])
def service_export(request, slug: str | None = None):
    initial = {}
    if slug is not None:
        service = get_object_or_404(Service, slug=slug)
        if not may_export_service(request.user, service):
            raise Http404("No such service.")
        initial["service"] = service
    form = ServiceExportForm(request.POST or None, user=request.user, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        response = _request(
            request,
            scope=ExportScope.SERVICE,
            fmt=data["format"],
            service=data["service"],
            period_start=data["period_start"],
            period_end=data["period_end"],
        )
        if response is not None:
            return response
    return render(
        request,
        "exports/request.html",
        {"form": form, "heading": "Export a service's audit history"},
    )


@login_required
@require_http_methods(["GET", "POST"])
def framework_export(request):
    form = FrameworkExportForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        response = _request(
            request,
            scope=ExportScope.FRAMEWORK,
            fmt=data["format"],
            framework=data["framework"],
            services=list(data["services"]),
            environment=data["environment"],
            period_start=data["period_start"],
            period_end=data["period_end"],
        )
        if response is not None:
            return response
    return render(
        request,
        "exports/request.html",
        {"form": form, "heading": "Export a framework report"},
    )


@login_required
@require_GET
def job_download(request, pk: int):
    job = get_object_or_404(ExportJob.objects.select_related("review__service", "service"), pk=pk)
    try:
        handle, filename, content_type = services.export_download(
            actor=Actor.from_request(request), job=job
        )
    except DomainError as exc:
        if exc.code in ("not_found", "not_allowed"):
            raise Http404("No such export.") from None
        return HttpResponse(exc.message, status=exc.http_status, content_type="text/plain")
    response = FileResponse(
        handle, as_attachment=True, filename=filename, content_type=content_type
    )
    response["X-Content-SHA256"] = job.sha256
    return response


@require_GET
def public_key(request):
    """The public key that signs bundle manifests (for ``python -m exports.verify``)."""
    response = HttpResponse(signing.public_key_pem(), content_type="application/x-pem-file")
    response["X-Key-Id"] = signing.key_id()
    return response
