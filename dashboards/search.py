"""Search across services, controls (current catalog) and reviews the user may see."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from controls.models import Control
from reviews.selectors import review_list_for
from services.selectors import service_list_for

KINDS = [("services", "Services"), ("controls", "Controls"), ("reviews", "Reviews")]


def search_services(user, q: str) -> QuerySet:
    return (
        service_list_for(user)
        .filter(
            Q(name__icontains=q)
            | Q(slug__icontains=q)
            | Q(team__name__icontains=q)
            | Q(repository__icontains=q)
        )
        .order_by("name")
    )


def search_controls(q: str) -> QuerySet:
    return (
        Control.objects.filter(catalog_version__is_current=True)
        .filter(
            Q(code__icontains=q)
            | Q(title__icontains=q)
            | Q(requirement__icontains=q)
            | Q(check_id__icontains=q)
        )
        .order_by("position", "code")
    )


def search_reviews(user, q: str) -> QuerySet:
    match = Q(service__name__icontains=q) | Q(service__slug__icontains=q) | Q(environment=q)
    digits = q.lstrip("#")
    if digits.isdigit():
        match |= Q(pk=int(digits))
    return review_list_for(user).filter(match).order_by("-created_at", "-id")


def search(user, q: str) -> dict[str, QuerySet]:
    return {
        "services": search_services(user, q),
        "controls": search_controls(q),
        "reviews": search_reviews(user, q),
    }
