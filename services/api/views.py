"""Services and their AWS targets: register, update, list what you may see."""

from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.response import Response

from accounts.models import Team
from audit.context import Actor
from gate.api.base import ServiceScopedMixin
from gate.principals import visible_services
from portal.errors import DomainError
from services import services as service_services
from services.choices import DataClassification
from services.models import AwsTarget, Service

PROFILE = [
    "uses_api_gateway",
    "uses_async_invocation",
    "uses_event_source_mapping",
    "requires_vpc",
    "internet_facing",
]


class AwsTargetSerializer(serializers.ModelSerializer):
    service = serializers.SlugRelatedField(slug_field="slug", queryset=Service.objects.all())

    class Meta:
        model = AwsTarget
        fields = [
            "id",
            "service",
            "account_id",
            "regions",
            "role_arn",
            "external_id",
            "function_name_prefix",
            "function_tags",
            "cloudformation_stack",
            "collection_interval_hours",
            "enabled",
            "created_at",
        ]
        read_only_fields = ["id", "external_id", "created_at"]
        # Validation (and uniqueness) is the service layer's job: one rule, one place.
        validators: list = []
        extra_kwargs = {
            "account_id": {"validators": []},
            "regions": {"validators": []},
            "role_arn": {"validators": []},
        }


class ServiceSerializer(serializers.ModelSerializer):
    team = serializers.SlugRelatedField(slug_field="slug", queryset=Team.objects.all())
    aws_targets = AwsTargetSerializer(many=True, read_only=True)
    data_classification = serializers.ChoiceField(
        choices=DataClassification.choices, required=False
    )

    class Meta:
        model = Service
        fields = [
            "slug",
            "name",
            "team",
            "description",
            "tier",
            "data_classification",
            "environments",
            "repository",
            "repository_id",
            *PROFILE,
            "aws_targets",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["aws_targets", "created_at", "updated_at"]
        validators: list = []
        extra_kwargs = {
            "slug": {"validators": []},
            "environments": {"validators": []},
            "repository": {"validators": []},
        }


class ServiceFilter(filters.FilterSet):
    team = filters.CharFilter(field_name="team__slug")

    class Meta:
        model = Service
        fields = ["team", "tier", "data_classification", *PROFILE]


def _fields(data: dict, exclude: set[str]) -> dict:
    return {k: v for k, v in data.items() if k not in exclude}


@extend_schema(tags=["services"])
class ServiceViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = ServiceSerializer
    lookup_field = "slug"
    filterset_class = ServiceFilter
    ordering_fields = ["name", "slug", "tier", "created_at"]
    ordering = ["name"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Service.objects.none()
        return visible_services(self.request).prefetch_related("aws_targets")

    def create(self, request, *args, **kwargs):
        data = ServiceSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        team = values.pop("team")
        service = service_services.service_create(
            actor=Actor.from_request(request), team=team, **values
        )
        return Response(ServiceSerializer(service).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        service = self.get_object()
        data = ServiceSerializer(service, data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        if "team" in values and values["team"].pk != service.team_id:
            raise DomainError(
                "A service cannot move to another team through the API.",
                details={"team": ["cannot change"]},
            )
        values.pop("team", None)
        updated = service_services.service_update(
            actor=Actor.from_request(request), service=service, **values
        )
        return Response(ServiceSerializer(updated).data)


class AwsTargetFilter(filters.FilterSet):
    service = filters.CharFilter(field_name="service__slug")

    class Meta:
        model = AwsTarget
        fields = ["service", "account_id", "enabled"]


@extend_schema(tags=["services"])
class AwsTargetViewSet(
    ServiceScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """AWS accounts linked to services (the collector's targets)."""

    serializer_class = AwsTargetSerializer
    filterset_class = AwsTargetFilter
    ordering_fields = ["account_id", "created_at"]
    ordering = ["account_id"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def base_queryset(self):
        return AwsTarget.objects.select_related("service")

    def create(self, request, *args, **kwargs):
        data = AwsTargetSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        slug = values.pop("service").slug
        service = visible_services(request).filter(slug=slug).first()
        if service is None:
            raise DomainError(f"Unknown service {slug!r}.", code="not_found")
        target = service_services.aws_target_create(
            actor=Actor.from_request(request), service=service, **values
        )
        return Response(AwsTargetSerializer(target).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        target = self.get_object()
        data = AwsTargetSerializer(target, data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        if "service" in values and values.pop("service").pk != target.service_id:
            raise DomainError(
                "A target cannot move to another service.", details={"service": ["cannot change"]}
            )
        updated = service_services.aws_target_update(
            actor=Actor.from_request(request), target=target, **values
        )
        return Response(AwsTargetSerializer(updated).data)
