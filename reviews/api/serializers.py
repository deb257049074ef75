from rest_framework import serializers

from reviews.choices import ItemOutcome, ReviewStatus, Verdict, WaiverStatus
from reviews.models import Review, ReviewItem, SignOff, Waiver


class ReviewSerializer(serializers.ModelSerializer):
    service = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    catalog_version = serializers.CharField(source="catalog_version.version", read_only=True)
    current_status = serializers.ChoiceField(
        choices=ReviewStatus.choices,
        read_only=True,
        help_text="The status now: an approval past its expiry reads as expired.",
    )
    opened_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    submitted_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Review
        fields = [
            "id",
            "service",
            "environment",
            "catalog_version",
            "status",
            "current_status",
            "version",
            "opened_by",
            "submitted_by",
            "submitted_at",
            "approved_at",
            "expires_at",
            "approval_hash",
            "revoked_at",
            "revoked_reason",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class ReviewItemSerializer(serializers.ModelSerializer):
    control = serializers.CharField(source="control.code", read_only=True)
    title = serializers.CharField(source="control.title", read_only=True)
    section = serializers.CharField(source="control.section", read_only=True)
    automated = serializers.BooleanField(source="control.is_automated", read_only=True)
    evidence = serializers.SerializerMethodField()
    verdict_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = ReviewItem
        fields = [
            "id",
            "control",
            "title",
            "section",
            "automated",
            "mandatory",
            "outcome",
            "reason",
            "waiver",
            "verdict",
            "verdict_by",
            "verdict_comment",
            "evidence",
        ]
        read_only_fields = fields

    def get_evidence(self, item) -> list[int]:
        current = getattr(item, "current", None)
        if current is None:
            current = item.attachments.filter(removed_at__isnull=True)
        return [a.evidence_id for a in current]


class SignOffSerializer(serializers.ModelSerializer):
    user = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = SignOff
        fields = [
            "role",
            "user",
            "decided_at",
            "approval_hash",
            "comment",
            "archived_at",
            "archived_reason",
        ]
        read_only_fields = fields


class ReviewDetailSerializer(ReviewSerializer):
    items = ReviewItemSerializer(many=True, read_only=True, source="item_list")
    signoffs = SignOffSerializer(many=True, read_only=True)

    class Meta(ReviewSerializer.Meta):
        fields = [*ReviewSerializer.Meta.fields, "items", "signoffs"]
        read_only_fields = fields


class ReviewOpenSerializer(serializers.Serializer):
    service = serializers.SlugField()
    environment = serializers.CharField(max_length=32)


class VersionedSerializer(serializers.Serializer):
    expected_version = serializers.IntegerField(
        required=False,
        min_value=1,
        help_text="The review version you acted on; a newer one answers 409.",
    )


class SignOffInputSerializer(VersionedSerializer):
    role = serializers.ChoiceField(choices=["sre", "security", "risk"])
    comment = serializers.CharField(required=False, allow_blank=True, max_length=10000)


class RejectInputSerializer(VersionedSerializer):
    comment = serializers.CharField(required=False, allow_blank=True, max_length=10000)


class ItemUpdateSerializer(VersionedSerializer):
    outcome = serializers.ChoiceField(choices=ItemOutcome.choices)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=10000)
    waiver = serializers.IntegerField(required=False, allow_null=True)


class ItemVerdictSerializer(VersionedSerializer):
    verdict = serializers.ChoiceField(choices=[Verdict.ACCEPTED, Verdict.REJECTED])
    comment = serializers.CharField(required=False, allow_blank=True, max_length=10000)


class ItemEvidenceSerializer(VersionedSerializer):
    evidence = serializers.IntegerField()


class WaiverSerializer(serializers.ModelSerializer):
    service = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    requested_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    decided_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    current_status = serializers.ChoiceField(choices=WaiverStatus.choices, read_only=True)

    class Meta:
        model = Waiver
        fields = [
            "id",
            "service",
            "control_code",
            "justification",
            "compensating_controls",
            "risk_owner",
            "status",
            "current_status",
            "expires_at",
            "release",
            "commit_sha",
            "requested_by",
            "decided_by",
            "decided_at",
            "decision_comment",
            "revoked_at",
            "revoked_reason",
            "created_at",
        ]
        read_only_fields = fields


class WaiverRequestSerializer(serializers.Serializer):
    service = serializers.SlugField()
    control_code = serializers.CharField(max_length=20)
    justification = serializers.CharField(max_length=10000)
    compensating_controls = serializers.CharField(max_length=10000)
    risk_owner = serializers.CharField(max_length=200)
    expires_at = serializers.DateTimeField()
    release = serializers.CharField(required=False, allow_blank=True, max_length=100)
    commit_sha = serializers.CharField(required=False, allow_blank=True, max_length=40)


class WaiverDecideSerializer(serializers.Serializer):
    approve = serializers.BooleanField()
    comment = serializers.CharField(required=False, allow_blank=True, max_length=10000)
    expires_at = serializers.DateTimeField(required=False, allow_null=True)


class WaiverRevokeSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=10000)
