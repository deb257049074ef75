"""Your API tokens in the browser: create (the secret is shown once), list, revoke."""

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from audit.context import Actor
from gate import services
from gate.forms import TokenForm
from gate.models import ApiToken
from portal.errors import DomainError
from services.selectors import service_list_for


@login_required
def token_list(request):
    visible = service_list_for(request.user)
    form = TokenForm(request.POST or None, services=visible)
    created = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            token, created = services.api_token_create(
                actor=Actor.from_request(request),
                name=data["name"],
                scopes=data["scopes"],
                expires_at=timezone.now() + timedelta(days=data["expires_in_days"]),
                services=list(data["services"]),
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            form = TokenForm(services=visible)
    tokens = (
        ApiToken.objects.filter(user=request.user)
        .prefetch_related("services")
        .order_by("-created_at")
    )
    return render(request, "gate/tokens.html", {"form": form, "tokens": tokens, "created": created})


@login_required
@require_POST
def token_revoke(request, pk: int):
    token = get_object_or_404(ApiToken, pk=pk, user=request.user)
    try:
        services.api_token_revoke(
            actor=Actor.from_request(request), token=token, reason="revoked by its owner"
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Token {token.name} (prr_{token.prefix}_…) is revoked.")
    return redirect("gate:tokens")
