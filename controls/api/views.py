"""The control catalog, read-only: every authenticated caller may read it."""

from django.db.models import Prefetch
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets

from controls.models import CatalogVersion, Control, ControlMapping, Framework, Requirement


class CatalogVersionSerializer(serializers.ModelSerializer):
    class Meta:
        model = CatalogVersion
        fields = ["version", "content_sha256", "loaded_at", "is_current", "notes"]
        read_only_fields = fields


class MappingSerializer(serializers.ModelSerializer):
    framework = serializers.CharField(source="requirement.framework.code", read_only=True)
    requirement = serializers.CharField(source="requirement.ref", read_only=True)
    title = serializers.CharField(source="requirement.title", read_only=True)

    class Meta:
        model = ControlMapping
        fields = ["framework", "requirement", "title"]
        read_only_fields = fields


class ControlSerializer(serializers.ModelSerializer):
    catalog_version = serializers.CharField(source="catalog_version.version", read_only=True)
    is_automated = serializers.BooleanField(read_only=True)

    class Meta:
        model = Control
        fields = [
            "id",
            "code",
            "catalog_version",
            "section",
            "title",
            "requirement",
            "severity",
            "check_id",
            "is_automated",
            "mandatory_tiers",
            "applicability",
            "freshness_days",
        ]
        read_only_fields = fields


class ControlDetailSerializer(ControlSerializer):
    mappings = MappingSerializer(many=True, read_only=True)
    runbooks = serializers.SlugRelatedField(slug_field="slug", many=True, read_only=True)

    class Meta(ControlSerializer.Meta):
        fields = [
            *ControlSerializer.Meta.fields,
            "rationale",
            "aws_services",
            "enforcement",
            "check_reads",
            "check_pass_condition",
            "evidence_description",
            "validation_procedure",
            "guardrails",
            "mappings",
            "runbooks",
        ]
        read_only_fields = fields


class FrameworkSerializer(serializers.ModelSerializer):
    catalog_version = serializers.CharField(source="catalog_version.version", read_only=True)

    class Meta:
        model = Framework
        fields = ["id", "code", "name", "version", "url", "description", "catalog_version"]
        read_only_fields = fields


class RequirementSerializer(serializers.ModelSerializer):
    framework = serializers.CharField(source="framework.code", read_only=True)
    controls = serializers.SlugRelatedField(slug_field="code", many=True, read_only=True)

    class Meta:
        model = Requirement
        fields = ["id", "framework", "ref", "title", "controls"]
        read_only_fields = fields


class CurrentCatalogFilter(filters.FilterSet):
    """``?version=`` picks a catalog version; without it, the current one."""

    version = filters.CharFilter(method="filter_version", label="Catalog version")

    def filter_version(self, queryset, name, value):
        return queryset

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        version = self.form.cleaned_data.get("version")
        path = self.version_path
        if version:
            return queryset.filter(**{f"{path}__version": version})
        return queryset.filter(**{f"{path}__is_current": True})


class ControlFilter(CurrentCatalogFilter):
    version_path = "catalog_version"
    automated = filters.BooleanFilter(method="filter_automated")
    tier = filters.NumberFilter(method="filter_tier", label="Mandatory for tier")

    class Meta:
        model = Control
        fields = ["code", "section", "severity", "check_id"]

    def filter_automated(self, queryset, name, value):
        return queryset.exclude(check_id="") if value else queryset.filter(check_id="")

    def filter_tier(self, queryset, name, value):
        ids = [c.pk for c in queryset if c.is_mandatory_for(int(value))]
        return queryset.filter(pk__in=ids)


class FrameworkFilter(CurrentCatalogFilter):
    version_path = "catalog_version"

    class Meta:
        model = Framework
        fields = ["code"]


class RequirementFilter(CurrentCatalogFilter):
    version_path = "framework__catalog_version"
    framework = filters.CharFilter(field_name="framework__code")

    class Meta:
        model = Requirement
        fields = ["framework", "ref"]


class ListFiltersOnly:
    """Lists default to the current catalog; a detail URL finds any version's row."""

    def filter_queryset(self, queryset):
        return queryset if self.action == "retrieve" else super().filter_queryset(queryset)


@extend_schema(tags=["catalog"])
class CatalogVersionViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = CatalogVersion.objects.all()
    serializer_class = CatalogVersionSerializer
    lookup_field = "version"
    lookup_value_regex = r"[^/]+"
    filterset_fields = ["is_current"]
    ordering_fields = ["loaded_at", "version"]
    ordering = ["-loaded_at"]


@extend_schema(tags=["catalog"])
class ControlViewSet(ListFiltersOnly, viewsets.ReadOnlyModelViewSet):
    filterset_class = ControlFilter
    ordering_fields = ["position", "code", "severity", "section"]
    ordering = ["position", "code"]

    def get_queryset(self):
        qs = Control.objects.select_related("catalog_version")
        if self.action == "retrieve":
            mappings = ControlMapping.objects.select_related("requirement__framework")
            qs = qs.prefetch_related(Prefetch("mappings", queryset=mappings), "runbooks")
        return qs

    def get_serializer_class(self):
        return ControlDetailSerializer if self.action == "retrieve" else ControlSerializer


@extend_schema(tags=["catalog"])
class FrameworkViewSet(ListFiltersOnly, viewsets.ReadOnlyModelViewSet):
    queryset = Framework.objects.select_related("catalog_version")
    serializer_class = FrameworkSerializer
    filterset_class = FrameworkFilter
    ordering_fields = ["position", "code"]
    ordering = ["position", "code"]


@extend_schema(tags=["catalog"])
class RequirementViewSet(ListFiltersOnly, viewsets.ReadOnlyModelViewSet):
    queryset = Requirement.objects.select_related("framework").prefetch_related("controls")
    serializer_class = RequirementSerializer
    filterset_class = RequirementFilter
    ordering_fields = ["position", "ref"]
    ordering = ["framework__position", "position", "ref"]
