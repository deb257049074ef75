"""Collection runs over the API: start one for an AWS target, follow its status."""

from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.response import Response

from audit.context import Actor
from collection.choices import RunMode
from collection.models import CollectionRun, RegionRun
from collection.services import collection_run_start
from gate.api.base import ServiceScopedMixin
from gate.principals import visible_services
from portal.errors import DomainError
from services.models import AwsTarget


class AwsCallSerializer(serializers.Serializer):
    """One AWS call of a region, as recorded for provenance (one row per call: a listing of
    several pages is several rows)."""

    operation = serializers.CharField(
        read_only=True, help_text='"service:Operation", e.g. "cloudwatch:DescribeAlarms".'
    )
    request_id = serializers.CharField(
        read_only=True, help_text="The AWS request id of the answer (empty if none was returned)."
    )
    attempts = serializers.IntegerField(
        read_only=True, help_text="Requests sent for this call, retries included (at least 1)."
    )

    def to_representation(self, instance):
        return {
            "operation": str(instance.get("operation") or ""),
            "request_id": str(instance.get("request_id") or ""),
            "attempts": int(instance.get("attempts") or 1),
        }


class RegionRunSerializer(serializers.ModelSerializer):
    bulk_operations = AwsCallSerializer(
        many=True,
        read_only=True,
        help_text="The account-wide calls of this region (role assumption, listings, alarms, "
        "IAM, KMS...) whose answers every snapshot of the region shares, with their request ids.",
    )
    unavailable = serializers.DictField(
        child=serializers.CharField(),
        read_only=True,
        help_text="The account-wide fact families this region could not collect, each with the "
        'reason in plain words, e.g. {"kms": "The collector role ... is not allowed to call '
        'DescribeKey ..."}. Every function of the region lacks them, and the checks that need '
        "them are error. Empty when everything account-wide was collected; what single "
        "functions lack is in their snapshot's facts (facts.unavailable).",
    )

    class Meta:
        model = RegionRun
        fields = [
            "region",
            "status",
            "functions_discovered",
            "batches_total",
            "batches_done",
            "error_code",
            "error_message",
            "started_at",
            "finished_at",
            "unavailable",
            "bulk_operations",
        ]
        read_only_fields = fields


class RunSerializer(serializers.ModelSerializer):
    service = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    requested_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = CollectionRun
        fields = [
            "id",
            "service",
            "aws_target",
            "status",
            "mode",
            "trigger",
            "requested_by",
            "account_id",
            "regions",
            "functions_discovered",
            "functions_collected",
            "functions_evaluated",
            "results_count",
            "regions_done",
            "started_at",
            "finished_at",
            "error_summary",
            "created_at",
        ]
        read_only_fields = fields


class RunDetailSerializer(RunSerializer):
    region_runs = RegionRunSerializer(many=True, read_only=True)

    class Meta(RunSerializer.Meta):
        fields = [*RunSerializer.Meta.fields, "region_runs"]
        read_only_fields = fields


class RunStartSerializer(serializers.Serializer):
    aws_target = serializers.IntegerField()
    mode = serializers.ChoiceField(choices=RunMode.choices, default=RunMode.FULL)


class RunFilter(filters.FilterSet):
    service = filters.CharFilter(field_name="service__slug")

    class Meta:
        model = CollectionRun
        fields = ["service", "aws_target", "status", "trigger", "mode"]


@extend_schema(tags=["collection"])
class CollectionRunViewSet(
    ServiceScopedMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    filterset_class = RunFilter
    ordering_fields = ["created_at", "finished_at", "status"]
    ordering = ["-created_at"]

    def base_queryset(self):
        qs = CollectionRun.objects.select_related("service", "requested_by")
        return qs.prefetch_related("region_runs") if self.action == "retrieve" else qs

    def get_serializer_class(self):
        return RunDetailSerializer if self.action == "retrieve" else RunSerializer

    @extend_schema(request=RunStartSerializer, responses={201: RunDetailSerializer})
    def create(self, request):
        """Start collecting from one AWS target (the owning team or a platform admin)."""
        data = RunStartSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        target = (
            AwsTarget.objects.select_related("service__team")
            .filter(pk=data.validated_data["aws_target"], service__in=visible_services(request))
            .first()
        )
        if target is None:
            raise DomainError(
                "Unknown AWS target.", code="not_found", details={"aws_target": ["not found"]}
            )
        run = collection_run_start(
            actor=Actor.from_request(request),
            aws_target=target,
            mode=data.validated_data["mode"],
        )
        run = self.base_queryset().prefetch_related("region_runs").get(pk=run.pk)
        return Response(RunDetailSerializer(run).data, status=status.HTTP_201_CREATED)
