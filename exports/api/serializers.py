from rest_framework import serializers

from controls.models import Framework
from exports.choices import ExportFormat, ExportScope
from exports.models import ExportJob
from reviews.models import Review
from services.models import Service


class ExportJobSerializer(serializers.ModelSerializer):
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = ExportJob
        fields = [
            "id",
            "scope",
            "format",
            "title",
            "parameters",
            "status",
            "progress_done",
            "progress_total",
            "percent",
            "phase",
            "error",
            "filename",
            "content_type",
            "size",
            "sha256",
            "created_at",
            "started_at",
            "finished_at",
            "download_url",
        ]
        read_only_fields = fields

    def get_download_url(self, job) -> str | None:
        if not job.sha256:
            return None
        view, request = self.context.get("view"), self.context.get("request")
        if view is None or request is None:
            return None
        # reverse_action keeps whatever namespace the API was mounted under.
        return request.build_absolute_uri(view.reverse_action("download", args=[job.pk]))


class ExportRequestSerializer(serializers.Serializer):
    """What to export. ``review`` for the review scope; ``service`` (slug) and a period for
    the service scope; ``framework`` (id), ``services`` (slugs, empty = all you may export),
    ``environment`` and a period for the framework scope. The period defaults to the last
    365 days."""

    scope = serializers.ChoiceField(choices=ExportScope.choices)
    format = serializers.ChoiceField(choices=ExportFormat.choices)
    review = serializers.PrimaryKeyRelatedField(
        queryset=Review.objects.select_related("service__team"), required=False
    )
    service = serializers.SlugRelatedField(
        slug_field="slug", queryset=Service.objects.select_related("team"), required=False
    )
    framework = serializers.PrimaryKeyRelatedField(
        queryset=Framework.objects.select_related("catalog_version"), required=False
    )
    services = serializers.SlugRelatedField(
        slug_field="slug", queryset=Service.objects.all(), many=True, required=False
    )
    environment = serializers.CharField(required=False, allow_blank=True, max_length=32)
    period_start = serializers.DateField(required=False)
    period_end = serializers.DateField(required=False)


class PublicKeySerializer(serializers.Serializer):
    pem = serializers.CharField()
    key_id = serializers.CharField()
    jwk = serializers.DictField()
