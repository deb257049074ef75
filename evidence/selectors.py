"""Reads of evidence, restricted to the services the user may see."""

from __future__ import annotations

from django.db.models import QuerySet

from evidence.models import Evidence
from services.selectors import service_list_for


def evidence_visible_to(user) -> QuerySet[Evidence]:
    """Evidence of every service the user may see (team members: their teams' services)."""
    return Evidence.objects.select_related("service", "produced_by").filter(
        service__in=service_list_for(user)
    )


def evidence_for_service(service, *, control_code: str | None = None) -> QuerySet[Evidence]:
    """A service's evidence, newest first; optionally for one control or not tied to any."""
    qs = Evidence.objects.filter(service=service).select_related("produced_by")
    if control_code is not None:
        qs = qs.filter(control_code__in=[control_code, ""])
    return qs.order_by("-collected_at", "-id")
