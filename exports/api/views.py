"""Exports over the REST API: request a job, poll it, download it; stream a review's CSV or
JSON; fetch the key that signs bundle manifests. Thin: exports.services decides."""

from __future__ import annotations

from django.http import FileResponse, Http404, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action, api_view
from rest_framework.response import Response

from audit.context import Actor
from exports import services
from exports.api.serializers import (
    ExportJobSerializer,
    ExportRequestSerializer,
    PublicKeySerializer,
)
from exports.selectors import export_jobs_for
from portal import signing
from portal.errors import DomainError
from reviews.models import Review


class ExportJobViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Your export jobs. Another user's job is a 404."""

    serializer_class = ExportJobSerializer
    filterset_fields = ["status", "scope", "format"]

    def get_queryset(self):
        return export_jobs_for(self.request.user)

    @extend_schema(request=ExportRequestSerializer, responses={202: ExportJobSerializer})
    def create(self, request):
        data = ExportRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        job = services.export_request(
            actor=Actor.from_request(request),
            scope=v["scope"],
            fmt=v["format"],
            review=v.get("review"),
            service=v.get("service"),
            framework=v.get("framework"),
            services=v.get("services"),
            environment=v.get("environment", ""),
            period_start=v.get("period_start"),
            period_end=v.get("period_end"),
        )
        body = self.get_serializer(job).data
        return Response(body, status=status.HTTP_202_ACCEPTED)

    @extend_schema(responses={200: OpenApiResponse(description="The export file.")})
    @action(detail=True, methods=["get"])
    def download(self, request, pk=None):
        job = self.get_object()
        handle, filename, content_type = services.export_download(
            actor=Actor.from_request(request), job=job
        )
        response = FileResponse(
            handle, as_attachment=True, filename=filename, content_type=content_type
        )
        response["X-Content-SHA256"] = job.sha256
        return response


@extend_schema(responses={200: OpenApiResponse(description="CSV or JSON, streamed.")})
@api_view(["GET"])
def review_export_now(request, review_id: int, fmt: str):
    """A review's CSV control matrix or JSON export, generated while it is sent."""
    review = get_object_or_404(Review.objects.select_related("service__team"), pk=review_id)
    try:
        chunks, filename, content_type = services.export_stream(
            actor=Actor.from_request(request), review=review, fmt=fmt
        )
    except DomainError as exc:
        if exc.code == "not_allowed":
            raise Http404 from None
        raise
    response = StreamingHttpResponse((c.encode("utf-8") for c in chunks), content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@extend_schema(responses={200: PublicKeySerializer})
@api_view(["GET"])
def public_key(request):
    """The Ed25519 public key that signs evidence bundle manifests."""
    return Response(
        {"pem": signing.public_key_pem(), "key_id": signing.key_id(), "jwk": signing.public_jwk()}
    )
