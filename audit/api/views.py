"""The audit trail over the API, for auditors and platform admins (read-only)."""

from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets

from audit.models import AuditEvent
from gate.permissions import IsAuditorOrAdmin, TokenScope
from portal.filters import IsoDateTimeFilter


class AuditEventSerializer(serializers.ModelSerializer):
    actor_user = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = AuditEvent
        fields = [
            "seq",
            "occurred_at",
            "actor_type",
            "actor_label",
            "actor_user",
            "action",
            "outcome",
            "object_type",
            "object_id",
            "object_repr",
            "service_slug",
            "message",
            "before",
            "after",
            "details",
            "request_id",
            "source_ip",
            "user_agent",
            "prev_hash",
            "hash",
        ]
        read_only_fields = fields


class AuditEventFilter(filters.FilterSet):
    service = filters.CharFilter(field_name="service_slug")
    actor = filters.CharFilter(field_name="actor_label")
    action_prefix = filters.CharFilter(field_name="action", lookup_expr="startswith")
    after = IsoDateTimeFilter(field_name="occurred_at", lookup_expr="gte")
    before = IsoDateTimeFilter(field_name="occurred_at", lookup_expr="lt")
    seq_after = filters.NumberFilter(field_name="seq", lookup_expr="gt")

    class Meta:
        model = AuditEvent
        fields = [
            "service",
            "actor",
            "actor_type",
            "action",
            "outcome",
            "object_type",
            "object_id",
            "request_id",
        ]


@extend_schema(tags=["audit"])
class AuditEventViewSet(viewsets.ReadOnlyModelViewSet):
    """Audit events, newest first; ``seq`` is the chain position (verify with prev_hash)."""

    queryset = AuditEvent.objects.select_related("actor_user")
    serializer_class = AuditEventSerializer
    permission_classes = [IsAuditorOrAdmin, TokenScope]
    lookup_field = "seq"
    filterset_class = AuditEventFilter
    ordering_fields = ["seq", "occurred_at"]
    ordering = ["-seq"]
