"""Catalog pages. Every signed-in role may read the whole catalog; ``?v=<version>`` selects
a loaded version (default: the current one)."""

from __future__ import annotations

from functools import wraps
from pathlib import Path

import yaml
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render

from audit.context import Actor
from audit.services import audit_record
from controls import exports
from controls.choices import Section, Severity
from controls.diff import catalog_diff
from controls.documents import DOCUMENTS, TABULAR, Package, render_markdown
from controls.models import CatalogVersion, Control, Framework, Runbook
from controls.selectors import (
    catalog_by_version,
    control_queryset,
    framework_queryset,
    requirements_with_controls,
)
from controls.services.loader import GUARDRAILS_DIR, guardrail_path
from portal.errors import DomainError

PAGE_SIZE = 25
MAX_GUARDRAIL_BYTES = 512 * 1024


def with_catalog(view):
    """Resolve ``?v=`` to a CatalogVersion; show a helpful page when none is loaded."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            catalog = catalog_by_version(request.GET.get("v", "").strip())
        except DomainError as exc:
            return render(request, "controls/no_catalog.html", {"message": exc.message}, status=404)
        return view(request, catalog, *args, **kwargs)

    return wrapper


def _version_query(request, catalog: CatalogVersion) -> str:
    return "" if catalog.is_current else f"v={catalog.version}"


@with_catalog
def control_list(request, catalog):
    params = {
        key: request.GET.get(key, "").strip()
        for key in ("q", "section", "severity", "framework", "automated", "tier")
    }
    qs = control_queryset(catalog)
    if params["q"]:
        q = params["q"]
        qs = qs.filter(
            Q(code__icontains=q)
            | Q(title__icontains=q)
            | Q(requirement__icontains=q)
            | Q(check_id__icontains=q)
        )
    if params["section"] in Section.values:
        qs = qs.filter(section=params["section"])
    if params["severity"] in Severity.values:
        qs = qs.filter(severity=params["severity"])
    if params["framework"]:
        qs = qs.filter(mappings__requirement__framework__code=params["framework"]).distinct()
    if params["automated"] == "yes":
        qs = qs.exclude(check_id="")
    elif params["automated"] == "no":
        qs = qs.filter(check_id="")
    if params["tier"] in {"1", "2", "3", "4"}:
        # mandatory_tiers is a JSON list; filtered in Python to stay portable (SQLite and
        # PostgreSQL) while the page still runs a fixed number of queries.
        codes = [
            code
            for code, tiers in qs.values_list("code", "mandatory_tiers")
            if int(params["tier"]) in tiers
        ]
        qs = qs.filter(code__in=codes)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "controls/control_list.html",
        {
            "catalog": catalog,
            "page": page,
            "params": params,
            "sections": Section.choices,
            "severities": Severity.choices,
            "frameworks": framework_queryset(catalog),
            "version_query": _version_query(request, catalog),
        },
    )


@with_catalog
def control_detail(request, catalog, code):
    control = get_object_or_404(control_queryset(catalog), code=code)
    index = guardrail_index() if control.guardrails else {}
    other_versions = (
        CatalogVersion.objects.filter(controls__code=code)
        .exclude(pk=catalog.pk)
        .order_by("-loaded_at")
    )
    return render(
        request,
        "controls/control_detail.html",
        {
            "catalog": catalog,
            "control": control,
            "mappings": control.mappings.all(),
            "runbooks": control.runbooks.all(),
            "guardrails": [
                {"path": link, "title": index.get(link, {}).get("title", "")}
                for link in control.guardrails
            ],
            "other_versions": other_versions,
            "version_query": _version_query(request, catalog),
        },
    )


@with_catalog
def framework_list(request, catalog):
    frameworks = framework_queryset(catalog).annotate(
        requirement_count=Count("requirements", distinct=True),
        mapped_count=Count(
            "requirements",
            filter=Q(requirements__mappings__isnull=False),
            distinct=True,
        ),
    )
    return render(
        request,
        "controls/framework_list.html",
        {
            "catalog": catalog,
            "frameworks": frameworks,
            "version_query": _version_query(request, catalog),
        },
    )


@with_catalog
def framework_detail(request, catalog, code):
    framework = get_object_or_404(Framework, catalog_version=catalog, code=code)
    requirements = list(requirements_with_controls(framework))
    mapped = sum(1 for r in requirements if r.controls.all())
    gaps_only = request.GET.get("gaps") == "1"
    shown = [r for r in requirements if not r.controls.all()] if gaps_only else requirements
    return render(
        request,
        "controls/framework_detail.html",
        {
            "catalog": catalog,
            "framework": framework,
            "requirements": shown,
            "total": len(requirements),
            "mapped": mapped,
            "gaps": len(requirements) - mapped,
            "gaps_only": gaps_only,
            "version_query": _version_query(request, catalog),
        },
    )


@with_catalog
def runbook_list(request, catalog):
    runbooks = catalog.runbooks.annotate(control_count=Count("controls")).order_by(
        "position", "slug"
    )
    return render(
        request,
        "controls/runbook_list.html",
        {
            "catalog": catalog,
            "runbooks": runbooks,
            "version_query": _version_query(request, catalog),
        },
    )


@with_catalog
def runbook_detail(request, catalog, slug):
    runbook = get_object_or_404(Runbook, catalog_version=catalog, slug=slug)
    return render(
        request,
        "controls/runbook_detail.html",
        {
            "catalog": catalog,
            "runbook": runbook,
            "controls": runbook.controls.order_by("position", "code"),
            "version_query": _version_query(request, catalog),
        },
    )


@login_required
def version_list(request):
    versions = CatalogVersion.objects.annotate(
        control_count=Count("controls", distinct=True),
        automated_count=Count("controls", filter=~Q(controls__check_id=""), distinct=True),
    ).order_by("-loaded_at", "-id")
    return render(request, "controls/version_list.html", {"versions": versions})


@login_required
def version_diff(request):
    versions = list(CatalogVersion.objects.order_by("-loaded_at", "-id"))
    if len(versions) < 2:
        return render(request, "controls/diff.html", {"versions": versions, "diff": None})
    by_version = {v.version: v for v in versions}
    new = by_version.get(request.GET.get("to", ""), versions[0])
    older = [v for v in versions if v.loaded_at < new.loaded_at]
    old = by_version.get(request.GET.get("from", ""), older[0] if older else versions[1])
    return render(
        request,
        "controls/diff.html",
        {"versions": versions, "diff": catalog_diff(old, new), "old": old, "new": new},
    )


# --- guardrail files -------------------------------------------------------------------------


def guardrail_index() -> dict[str, dict]:
    """Entries of guardrails/index.yaml by path ({path, title, kind, description})."""
    index = Path(settings.BASE_DIR) / GUARDRAILS_DIR / "index.yaml"
    try:
        data = yaml.safe_load(index.read_text(encoding="utf-8"))
    except (yaml.YAMLError, OSError, UnicodeDecodeError):
        return {}
    files = data.get("files", []) if isinstance(data, dict) else []
    return {
        entry["path"]: entry
        for entry in files
        if isinstance(entry, dict) and isinstance(entry.get("path"), str)
    }


def _allowed_guardrail(catalog: CatalogVersion, path: str) -> Path:
    linked = {
        link
        for links in Control.objects.filter(catalog_version=catalog).values_list(
            "guardrails", flat=True
        )
        for link in links
    }
    if path not in linked and path not in guardrail_index():
        raise Http404("No such guardrail file.")
    target = guardrail_path(path)
    if target is None or target.stat().st_size > MAX_GUARDRAIL_BYTES:
        raise Http404("No such guardrail file.")
    return target


@with_catalog
def guardrail_file(request, catalog, path):
    target = _allowed_guardrail(catalog, path)
    try:
        text = target.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise Http404("Not a text file.") from exc
    if request.GET.get("download") == "1":
        response = HttpResponse(text, content_type="text/plain; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{target.name}"'
        return response
    controls = [
        c
        for c in Control.objects.filter(catalog_version=catalog).order_by("position", "code")
        if path in c.guardrails
    ]
    return render(
        request,
        "controls/guardrail_file.html",
        {
            "catalog": catalog,
            "path": path,
            "text": text,
            "entry": guardrail_index().get(path, {}),
            "controls": controls,
            "version_query": _version_query(request, catalog),
        },
    )


# --- documentation package -------------------------------------------------------------------


@with_catalog
def docs_index(request, catalog):
    documents = [
        {"name": name, "title": title, "tabular": name in TABULAR}
        for name, title in DOCUMENTS.items()
    ]
    return render(
        request,
        "controls/docs_index.html",
        {
            "catalog": catalog,
            "documents": documents,
            "version_query": _version_query(request, catalog),
        },
    )


@with_catalog
def doc_view(request, catalog, name):
    if name not in DOCUMENTS:
        raise Http404("No such document.")
    package = Package.for_catalog(catalog)
    context = {
        "catalog": catalog,
        "name": name,
        "title": DOCUMENTS[name],
        "package": package,
        "tabular": name in TABULAR,
        "version_query": _version_query(request, catalog),
    }
    if name in ("prr-document", "readiness-checklist"):
        context["sections"] = package.by_section()
    if name == "framework-coverage":
        context["frameworks"] = [
            (fw, list(requirements_with_controls(fw))) for fw in framework_queryset(catalog)
        ]
    return render(request, f"controls/doc_{name.replace('-', '_')}.html", context)


CONTENT_TYPES = {
    "md": "text/markdown; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@with_catalog
def doc_download(request, catalog, name, fmt):
    if name == "package" and fmt == "xlsx":
        body = exports.to_xlsx(Package.for_catalog(catalog))
    elif name not in DOCUMENTS or fmt not in CONTENT_TYPES:
        raise Http404("No such document.")
    elif fmt == "md":
        body = render_markdown(Package.for_catalog(catalog), name).encode("utf-8")
    elif name not in TABULAR:
        raise Http404("This document is not a table; download it as Markdown.")
    elif fmt == "csv":
        body = exports.to_csv(Package.for_catalog(catalog), name)
    else:
        body = exports.to_xlsx(Package.for_catalog(catalog), (name,))
    filename = f"prr-{name}-{catalog.version}.{fmt}"
    audit_record(
        actor=Actor.from_request(request),
        action="catalog.export",
        obj=catalog,
        message=f"Downloaded {filename}",
        details={"document": name, "format": fmt},
    )
    response = HttpResponse(body, content_type=CONTENT_TYPES[fmt])
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
