"""Evidence over the API: upload a file or a link, list, read and download."""

from django.core.files.storage import default_storage
from django.http import FileResponse
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from audit.context import Actor
from evidence import services as evidence_services
from evidence.choices import EvidenceKind
from evidence.models import Evidence
from gate.api.base import ServiceScopedMixin
from gate.principals import visible_services
from portal.errors import DomainError
from portal.filters import IsoDateTimeFilter


class EvidenceSerializer(serializers.ModelSerializer):
    service = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    produced_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    has_file = serializers.BooleanField(read_only=True)

    class Meta:
        model = Evidence
        fields = [
            "id",
            "service",
            "kind",
            "title",
            "sha256",
            "size",
            "content_type",
            "original_filename",
            "url",
            "has_file",
            "source_type",
            "source_label",
            "produced_by",
            "collected_at",
            "period_start",
            "period_end",
            "expires_at",
            "control_code",
            "check_id",
            "commit_sha",
            "metadata",
            "created_at",
        ]
        read_only_fields = fields


class EvidenceUploadSerializer(serializers.Serializer):
    service = serializers.SlugField()
    file = serializers.FileField(required=False)
    url = serializers.URLField(required=False, max_length=2000)
    title = serializers.CharField(required=False, allow_blank=True, max_length=200)
    control_code = serializers.CharField(required=False, allow_blank=True, max_length=20)
    collected_at = serializers.DateTimeField(required=False)
    period_start = serializers.DateTimeField(required=False)
    period_end = serializers.DateTimeField(required=False)
    expires_at = serializers.DateTimeField(required=False)

    def validate(self, attrs):
        if ("file" in attrs) == ("url" in attrs):
            raise serializers.ValidationError({"file": ["Upload a file or give a url (one)."]})
        return attrs


class EvidenceFilter(filters.FilterSet):
    service = filters.CharFilter(field_name="service__slug")
    collected_after = IsoDateTimeFilter(field_name="collected_at", lookup_expr="gte")
    collected_before = IsoDateTimeFilter(field_name="collected_at", lookup_expr="lt")

    class Meta:
        model = Evidence
        fields = [
            "service",
            "kind",
            "source_type",
            "control_code",
            "check_id",
            "commit_sha",
            "sha256",
        ]


@extend_schema(tags=["evidence"])
class EvidenceViewSet(
    ServiceScopedMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    serializer_class = EvidenceSerializer
    filterset_class = EvidenceFilter
    ordering_fields = ["collected_at", "created_at", "size"]
    ordering = ["-collected_at"]
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    def base_queryset(self):
        return Evidence.objects.select_related("service", "produced_by")

    @extend_schema(
        request={
            "multipart/form-data": EvidenceUploadSerializer,
            "application/json": EvidenceUploadSerializer,
        },
        responses={201: EvidenceSerializer},
    )
    def create(self, request):
        """Upload a file (multipart) or record a link (JSON) as evidence of a service."""
        data = EvidenceUploadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        slug = values.pop("service")
        service = visible_services(request).filter(slug=slug).first()
        if service is None:
            raise DomainError(
                f"Unknown service {slug!r}.", code="not_found", details={"service": ["not found"]}
            )
        actor = Actor.from_request(request)
        if "file" in values:
            evidence = evidence_services.evidence_store_file(
                actor=actor, service=service, uploaded_file=values.pop("file"), **values
            )
        else:
            evidence = evidence_services.evidence_add_link(
                actor=actor, service=service, url=values.pop("url"), **values
            )
        return Response(EvidenceSerializer(evidence).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        responses={
            (200, "application/octet-stream"): OpenApiTypes.BINARY,
            404: OpenApiResponse(description="No such evidence, or a link."),
        },
    )
    @action(detail=True, methods=["get"])
    def download(self, request, pk=None):
        """The stored bytes, as uploaded (links have none: 404)."""
        evidence = self.get_object()
        if evidence.kind == EvidenceKind.LINK or not evidence.storage_name:
            raise DomainError("This evidence is a link; it has no file.", code="not_found")
        try:
            handle = default_storage.open(evidence.storage_name, "rb")
        except FileNotFoundError:
            raise DomainError("The stored file is missing.", code="not_found") from None
        response = FileResponse(
            handle,
            as_attachment=True,
            filename=evidence.original_filename or f"evidence-{evidence.pk}",
            content_type=evidence.content_type or "application/octet-stream",
        )
        response["X-Content-Type-Options"] = "nosniff"
        response["X-Evidence-SHA256"] = evidence.sha256
        return response
