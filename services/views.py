from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render

from audit.context import Actor
from audit.services import audit_denied
from dashboards import service_page
from portal.errors import DomainError
from services import selectors, services
from services.choices import DataClassification, Tier
from services.forms import AwsTargetForm, ServiceForm


def _apply_domain_error(form, exc: DomainError) -> None:
    placed = False
    for field, errors in exc.details.items():
        if field in form.fields:
            for error in errors:
                form.add_error(field, error)
            placed = True
    if not placed:
        form.add_error(None, exc.message)


@login_required
def service_list(request):
    qs = selectors.service_list_for(request.user)
    q = request.GET.get("q", "").strip()
    tier = request.GET.get("tier", "")
    classification = request.GET.get("classification", "")
    if q:
        qs = qs.filter(Q(name__icontains=q) | Q(slug__icontains=q) | Q(team__name__icontains=q))
    if tier in {str(t) for t in Tier.values}:
        qs = qs.filter(tier=int(tier))
    if classification in DataClassification.values:
        qs = qs.filter(data_classification=classification)
    page = Paginator(qs.order_by("name"), 25).get_page(request.GET.get("page"))
    return render(
        request,
        "services/service_list.html",
        {
            "page": page,
            "q": q,
            "tier": tier,
            "classification": classification,
            "tiers": Tier.choices,
            "classifications": DataClassification.choices,
        },
    )


def _visible_service(request, slug):
    return get_object_or_404(selectors.service_list_for(request.user), slug=slug)


@login_required
def service_detail(request, slug):
    service = _visible_service(request, slug)
    return render(
        request,
        "services/service_detail.html",
        {
            "service": service,
            "targets": service.aws_targets.all(),
            "can_edit": selectors.service_editable_by(request.user, service),
            **service_page.context(request.user, service),
        },
    )


@login_required
def service_create(request):
    form = ServiceForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        team = data.pop("team")
        try:
            service = services.service_create(actor=Actor.from_request(request), team=team, **data)
        except DomainError as exc:
            _apply_domain_error(form, exc)
        else:
            messages.success(request, f"Registered {service.name}.")
            return redirect(service)
    return render(request, "services/service_form.html", {"form": form, "service": None})


def _editable_service(request, slug):
    service = _visible_service(request, slug)
    if not selectors.service_editable_by(request.user, service):
        audit_denied(
            actor=Actor.from_request(request),
            action="service.update",
            obj=service,
            message="Not a member of the owning team.",
            service_slug=service.slug,
        )
        raise Http404("No service found.")
    return service


@login_required
def service_edit(request, slug):
    service = _editable_service(request, slug)
    form = ServiceForm(request.POST or None, instance=service, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            service = services.service_update(
                actor=Actor.from_request(request), service=service, **form.cleaned_data
            )
        except DomainError as exc:
            _apply_domain_error(form, exc)
        else:
            messages.success(request, "Saved.")
            return redirect(service)
    return render(request, "services/service_form.html", {"form": form, "service": service})


@login_required
def aws_target_create(request, slug):
    service = _editable_service(request, slug)
    form = AwsTargetForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            target = services.aws_target_create(
                actor=Actor.from_request(request), service=service, **form.cleaned_data
            )
        except DomainError as exc:
            _apply_domain_error(form, exc)
        else:
            messages.success(
                request,
                f"Linked account {target.account_id}. Require the external id "
                f"{target.external_id} in the collector role's trust policy.",
            )
            return redirect(service)
    return render(request, "services/aws_target_form.html", {"form": form, "service": service})
