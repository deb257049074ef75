"""Notification preferences, webhooks and their delivery log."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from audit.context import Actor
from notifications import forms, services
from notifications.choices import DeliveryStatus, Event
from notifications.models import Notification, Webhook, WebhookDelivery
from portal.errors import DomainError


def _webhooks_for(user):
    qs = Webhook.objects.select_related("team", "created_by")
    if user.is_platform_admin:
        return qs
    return qs.filter(team_id__in=user.team_ids)


@login_required
def preferences(request):
    user = request.user
    current = services.preferences_for(user)
    form = forms.PreferencesForm(
        request.POST or None, initial={"events": [e for e, on in current.items() if on]}
    )
    if request.method == "POST" and form.is_valid():
        services.preferences_set(
            actor=Actor.from_request(request), enabled=form.cleaned_data["events"]
        )
        messages.success(request, "Saved your notification choices.")
        return redirect("notifications:preferences")
    mine = Q(service__team_id__in=user.team_ids)
    if user.is_reviewer:
        mine |= Q(event=Event.REVIEW_SUBMITTED)
    recent = Notification.objects.filter(mine).select_related("service")[:20]
    return render(
        request,
        "notifications/preferences.html",
        {
            "form": form,
            "events": [(value, label, current[value]) for value, label in Event.choices],
            "email": user.email,
            "recent": recent,
            "can_webhooks": bool(user.team_ids) or user.is_platform_admin,
        },
    )


@login_required
def webhook_list(request):
    hooks = _webhooks_for(request.user)
    return render(
        request,
        "notifications/webhook_list.html",
        {
            "page": Paginator(hooks, 25).get_page(request.GET.get("page")),
            "can_create": bool(request.user.team_ids) or request.user.is_platform_admin,
            "labels": dict(Event.choices),
        },
    )


@login_required
def webhook_create(request):
    form = forms.WebhookForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            hook, secret = services.webhook_create(
                actor=Actor.from_request(request),
                name=data["name"],
                url=data["url"],
                events=data["events"],
                team=data["team"],
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            return render(
                request, "notifications/webhook_created.html", {"hook": hook, "secret": secret}
            )
    return render(
        request,
        "notifications/webhook_form.html",
        {"form": form, "events": Event.choices, "chosen": form["events"].value() or []},
    )


def _manageable(request, pk) -> Webhook:
    hook = get_object_or_404(_webhooks_for(request.user), pk=pk)
    if not services.webhook_manageable_by(request.user, hook):
        raise Http404("No such webhook.")
    return hook


@login_required
def webhook_detail(request, pk):
    hook = _manageable(request, pk)
    form = forms.WebhookUpdateForm(
        request.POST or None, initial={"events": hook.events, "is_active": hook.is_active}
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.webhook_update(
                actor=Actor.from_request(request),
                webhook=hook,
                events=form.cleaned_data["events"],
                is_active=form.cleaned_data["is_active"],
            )
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, "Webhook saved.")
        return redirect(hook)
    deliveries = hook.deliveries.select_related("notification")
    status = request.GET.get("status", "")
    if status in DeliveryStatus.values:
        deliveries = deliveries.filter(status=status)
    return render(
        request,
        "notifications/webhook_detail.html",
        {
            "hook": hook,
            "events": Event.choices,
            "page": Paginator(deliveries, 25).get_page(request.GET.get("page")),
            "status": status,
            "statuses": DeliveryStatus.choices,
            "max_attempts": services.max_attempts(),
        },
    )


@login_required
@require_POST
def webhook_delete(request, pk):
    hook = _manageable(request, pk)
    services.webhook_delete(actor=Actor.from_request(request), webhook=hook)
    messages.success(request, f"Deleted webhook {hook.name}.")
    return redirect("notifications:webhooks")


@login_required
@require_POST
def delivery_retry(request, pk, delivery_pk):
    hook = _manageable(request, pk)
    delivery = get_object_or_404(WebhookDelivery, pk=delivery_pk, webhook=hook)
    try:
        services.delivery_retry(actor=Actor.from_request(request), delivery=delivery)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Delivery queued again.")
    return redirect(hook)
