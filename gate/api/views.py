"""API views of the gate app: the gate, its decisions, break-glass, API tokens, CI evidence
ingestion and the portal's JWKS."""

from __future__ import annotations

from django.urls import reverse
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.context import Actor
from gate import conf, services
from gate.api import serializers as s
from gate.api.base import ServiceScopedMixin, ServiceScopedReadOnlyViewSet
from gate.choices import Decision, Scope
from gate.models import ApiToken, BreakGlass, GateDecision
from gate.permissions import IsAuditorOrAdmin, IsPerson, TokenScope
from gate.principals import caller_of, visible_services
from gate.selectors import tokens_visible_to
from gate.throttling import GateRateThrottle
from portal import signing
from portal.errors import DomainError
from portal.filters import IsoDateTimeFilter

ERRORS = {
    400: OpenApiResponse(description="Malformed request: error.details names the field."),
    401: OpenApiResponse(description="Missing, invalid, expired or revoked credential."),
    403: OpenApiResponse(description="Not allowed (role, scope or CI binding)."),
    404: OpenApiResponse(description="No such object among those you may see."),
}


def visible_service_or_404(request, slug: str):
    """The service ``slug`` if the caller may see it. A CI identity refused by the service's
    pinning gets the reason (its repository is bound: hiding it would only confuse)."""
    service = visible_services(request).filter(slug=slug).first()
    if service is not None:
        return service
    caller = caller_of(request)
    if caller is not None and slug in caller.refused:
        raise DomainError(
            f"This CI identity may not act for {slug}: {caller.refused[slug]}.",
            code="not_allowed",
        )
    raise DomainError(
        f"Unknown service {slug!r}.", code="not_found", details={"service": ["not found"]}
    )


def jwks_url(request) -> str:
    return request.build_absolute_uri(reverse("api:jwks"))


class GateView(APIView):
    """May this service deploy this commit to this environment?"""

    required_scope = Scope.GATE_CHECK
    throttle_classes = [GateRateThrottle]

    @extend_schema(
        operation_id="gate_check",
        request=s.GateRequestSerializer,
        responses={200: s.GateResponseSerializer, **ERRORS},
        tags=["gate"],
        description=(
            "Answers allow or deny (both 200) with reasons naming each failing control, and a "
            "JWS signature over the answer. Every call is stored and audited."
        ),
    )
    def post(self, request):
        data = s.GateRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        service = visible_service_or_404(request, values["service"])
        caller = caller_of(request)
        decision = services.gate_check(
            actor=Actor.from_request(request),
            service=service,
            environment=values["environment"],
            commit_sha=values["commit_sha"],
            artifact_sha256=values.get("artifact_sha256", ""),
            function_config_sha256=values.get("function_config_sha256", ""),
            api_token=caller.token if caller else None,
        )
        body = {
            **services.decision_document(decision),
            "signature": decision.signature,
            "jwks_url": jwks_url(request),
        }
        return Response(body, status=status.HTTP_200_OK)


class GateDecisionFilter(filters.FilterSet):
    service = filters.CharFilter(field_name="service__slug")
    evaluated_after = IsoDateTimeFilter(field_name="evaluated_at", lookup_expr="gte")
    evaluated_before = IsoDateTimeFilter(field_name="evaluated_at", lookup_expr="lt")

    class Meta:
        model = GateDecision
        fields = ["service", "environment", "decision", "commit_sha", "caller_type"]


@extend_schema(tags=["gate"])
class GateDecisionViewSet(ServiceScopedReadOnlyViewSet):
    """Stored gate decisions of the services you may see."""

    lookup_field = "decision_id"
    filterset_class = GateDecisionFilter
    ordering_fields = ["evaluated_at", "decision", "environment"]
    ordering = ["-evaluated_at"]

    def base_queryset(self):
        return GateDecision.objects.select_related("service", "review", "api_token", "break_glass")

    def get_serializer_class(self):
        if self.action == "retrieve":
            return s.GateDecisionDetailSerializer
        return s.GateDecisionSerializer

    @extend_schema(request=None, responses={200: s.ReplayResultSerializer, **ERRORS})
    @action(
        detail=True,
        methods=["post"],
        permission_classes=[IsAuditorOrAdmin, TokenScope],
        required_scope=Scope.READ,
    )
    def replay(self, request, decision_id=None):
        """Recompute the decision from its stored inputs and verify its signature."""
        result = services.gate_decision_replay(
            actor=Actor.from_request(request), decision=self.get_object()
        )
        return Response(result)


class BreakGlassFilter(filters.FilterSet):
    service = filters.CharFilter(field_name="service__slug")

    class Meta:
        model = BreakGlass
        fields = ["service", "environment", "commit_sha"]


@extend_schema(tags=["gate"])
class BreakGlassViewSet(
    ServiceScopedMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Emergency allows: admins issue them for one service, environment and commit."""

    serializer_class = s.BreakGlassSerializer
    filterset_class = BreakGlassFilter
    ordering_fields = ["created_at", "expires_at"]
    ordering = ["-created_at"]

    def base_queryset(self):
        return BreakGlass.objects.select_related("service", "issued_by", "revoked_by")

    @extend_schema(
        request=s.BreakGlassCreateSerializer, responses={201: s.BreakGlassSerializer, **ERRORS}
    )
    def create(self, request):
        data = s.BreakGlassCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        service = visible_service_or_404(request, values["service"])
        glass = services.break_glass_issue(
            actor=Actor.from_request(request),
            service=service,
            environment=values["environment"],
            commit_sha=values["commit_sha"],
            reason=values["reason"],
            hours=values["hours"],
        )
        return Response(s.BreakGlassSerializer(glass).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=s.ReasonInputSerializer, responses={200: s.BreakGlassSerializer, **ERRORS}
    )
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        data = s.ReasonInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        glass = services.break_glass_revoke(
            actor=Actor.from_request(request),
            break_glass=self.get_object(),
            reason=data.validated_data.get("reason", ""),
        )
        return Response(s.BreakGlassSerializer(glass).data)


class ApiTokenFilter(filters.FilterSet):
    user = filters.CharFilter(field_name="user__username")
    service = filters.CharFilter(field_name="services__slug")
    active = filters.BooleanFilter(method="filter_active")

    class Meta:
        model = ApiToken
        fields = ["user", "service", "prefix"]

    def filter_active(self, queryset, name, value):
        from django.utils import timezone

        active = {"revoked_at__isnull": True, "expires_at__gt": timezone.now()}
        return queryset.filter(**active) if value else queryset.exclude(**active)


@extend_schema(tags=["tokens"])
class ApiTokenViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Your API tokens (admins and auditors: every token). Secrets are never shown again."""

    serializer_class = s.ApiTokenSerializer
    permission_classes = [IsAuthenticated, TokenScope, IsPerson]
    filterset_class = ApiTokenFilter
    ordering_fields = ["created_at", "expires_at", "last_used_at", "name"]
    ordering = ["-created_at"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ApiToken.objects.none()
        return tokens_visible_to(self.request.user).distinct()

    @extend_schema(
        request=s.ApiTokenCreateSerializer, responses={201: s.ApiTokenCreatedSerializer, **ERRORS}
    )
    def create(self, request):
        """Create a token (in a signed-in session). The secret is in this answer only."""
        data = s.ApiTokenCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        wanted = values.get("services") or []
        from services.models import Service

        found = {svc.slug: svc for svc in Service.objects.filter(slug__in=wanted)}
        missing = [slug for slug in wanted if slug not in found]
        if missing:
            raise DomainError(
                f"Unknown service(s): {', '.join(missing)}.", details={"services": missing}
            )
        token, raw = services.api_token_create(
            actor=Actor.from_request(request),
            name=values["name"],
            scopes=values["scopes"],
            expires_at=values["expires_at"],
            services=[found[slug] for slug in wanted],
            service_token=values["service_token"],
        )
        body = s.ApiTokenSerializer(token).data
        body["token"] = raw
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.ReasonInputSerializer, responses={200: s.ApiTokenSerializer, **ERRORS})
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        data = s.ReasonInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        token = services.api_token_revoke(
            actor=Actor.from_request(request),
            token=self.get_object(),
            reason=data.validated_data.get("reason", ""),
        )
        return Response(s.ApiTokenSerializer(token).data)


class CiEvidenceView(APIView):
    """Upload a CI report for a commit: parsed, validated, stored as evidence and mapped to the
    control it proves."""

    required_scope = Scope.EVIDENCE_WRITE
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    @extend_schema(
        operation_id="services_ci_evidence_create",
        request={
            "application/json": s.CiEvidenceInputSerializer,
            "multipart/form-data": s.CiEvidenceInputSerializer,
        },
        responses={201: s.CiEvidenceResultSerializer, **ERRORS},
        tags=["gate"],
    )
    def post(self, request, slug: str):
        service = visible_service_or_404(request, slug)
        data = s.CiEvidenceInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        upload = values.get("file")
        if upload is not None and upload.size > conf.ci_max_bytes():
            raise DomainError(
                f"The upload is {upload.size} bytes; CI uploads may be at most "
                f"{conf.ci_max_bytes()} bytes.",
                details={"file": ["too large"]},
            )
        content, filename = data.content_bytes()
        caller = caller_of(request)
        commit_sha = values.get("commit_sha") or (caller.claims.get("sha") if caller else "")
        if not commit_sha:
            raise DomainError("commit_sha is required.", details={"commit_sha": ["required"]})
        evidence, parsed = services.ci_evidence_ingest(
            actor=Actor.from_request(request),
            service=service,
            fmt=values["format"],
            content=content,
            commit_sha=commit_sha,
            filename=filename,
            metadata=values.get("metadata"),
        )
        body = {
            "evidence": evidence.pk,
            "sha256": evidence.sha256,
            "format": parsed.format,
            "commit_sha": evidence.commit_sha,
            "control": evidence.control_code,
            "outcome": parsed.outcome,
            "summary": parsed.summary,
            "counts": parsed.counts,
        }
        return Response(body, status=status.HTTP_201_CREATED)


class JwksView(APIView):
    """The public keys that verify gate decision signatures (anonymous)."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="jwks",
        responses={200: OpenApiResponse(description="A JWK Set (RFC 7517).")},
        tags=["gate"],
        auth=[],
    )
    def get(self, request):
        response = Response(signing.jwks())
        response["Cache-Control"] = "public, max-age=300"
        return response


__all__ = [
    "ApiTokenViewSet",
    "BreakGlassViewSet",
    "CiEvidenceView",
    "Decision",
    "GateDecisionViewSet",
    "GateView",
    "JwksView",
]
