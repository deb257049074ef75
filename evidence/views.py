"""Evidence pages: metadata, integrity check and a safe download."""

from django.contrib.auth.decorators import login_required
from django.core.files.storage import default_storage
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render

from audit.context import Actor
from audit.services import audit_record
from evidence import selectors, services
from services.selectors import service_list_for


def _visible(request, pk):
    return get_object_or_404(selectors.evidence_visible_to(request.user), pk=pk)


@login_required
def evidence_detail(request, pk):
    evidence = _visible(request, pk)
    verified = None
    if request.GET.get("verify") == "1":
        verified = services.evidence_verify(evidence=evidence)
    attachments = evidence.attachments.select_related("item__control", "item__review")
    return render(
        request,
        "evidence/evidence_detail.html",
        {"evidence": evidence, "verified": verified, "attachments": attachments},
    )


@login_required
def evidence_download(request, pk):
    """Stream the stored bytes as an attachment: never rendered inline, never sniffed."""
    evidence = _visible(request, pk)
    if not evidence.storage_name:
        return redirect(evidence)
    try:
        handle = default_storage.open(evidence.storage_name, "rb")
    except FileNotFoundError:
        raise Http404("The stored file is missing.") from None
    audit_record(
        actor=Actor.from_request(request),
        action="evidence.download",
        obj=evidence,
        service_slug=evidence.service.slug,
        details={"sha256": evidence.sha256},
    )
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=evidence.original_filename or f"{evidence.sha256}.bin",
        content_type=evidence.content_type or "application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    response["X-Evidence-SHA256"] = evidence.sha256
    return response


@login_required
def service_evidence(request, slug):
    service = get_object_or_404(service_list_for(request.user), slug=slug)
    qs = selectors.evidence_for_service(service)
    kind = request.GET.get("kind", "")
    if kind:
        qs = qs.filter(kind=kind)
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "evidence/service_evidence.html",
        {"service": service, "page": page, "kind": kind},
    )
