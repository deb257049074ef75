"""The base every API viewset builds on: querysets restricted to the services the caller may
see (an object outside them is a 404), filtering, ordering and pagination from the defaults."""

from __future__ import annotations

from django.db.models import QuerySet
from rest_framework import viewsets

from gate.principals import visible_services


class ServiceScopedMixin:
    """Set ``service_path`` (e.g. ``"service"`` or ``"run__service"``) and implement
    ``base_queryset()``; ``get_queryset`` keeps only rows of services the caller may see."""

    service_path = "service"
    # The token scope a request needs (gate.permissions.required_scope); None: read or write.
    required_scope = None

    def base_queryset(self) -> QuerySet:
        raise NotImplementedError

    def get_queryset(self):
        qs = self.base_queryset()
        if getattr(self, "swagger_fake_view", False):
            return qs.none()
        return qs.filter(**{f"{self.service_path}__in": visible_services(self.request)})


class ServiceScopedReadOnlyViewSet(ServiceScopedMixin, viewsets.ReadOnlyModelViewSet):
    pass


class ServiceScopedViewSet(ServiceScopedMixin, viewsets.GenericViewSet):
    pass
