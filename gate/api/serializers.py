from __future__ import annotations

import json

from django.utils import timezone
from rest_framework import serializers

from gate.choices import CiFormat, CiOutcome, Decision, ReasonCode, Scope
from gate.models import ApiToken, BreakGlass, GateDecision

HEX40 = r"^[0-9a-fA-F]{40}$"
HEX64 = r"^[0-9a-fA-F]{64}$"


# --- the gate ---------------------------------------------------------------------------


class GateRequestSerializer(serializers.Serializer):
    service = serializers.SlugField(max_length=63)
    environment = serializers.RegexField(r"^[a-z0-9][a-z0-9-]{0,31}$", max_length=32)
    commit_sha = serializers.RegexField(
        HEX40, error_messages={"invalid": "Give the full 40-character hex commit SHA."}
    )
    artifact_sha256 = serializers.RegexField(
        HEX64,
        required=False,
        allow_blank=True,
        help_text="The Lambda CodeSha256 of the version being deployed, as hex.",
        error_messages={"invalid": "Give 64 hex characters (decode Lambda's base64 first)."},
    )
    function_config_sha256 = serializers.RegexField(
        HEX64, required=False, allow_blank=True, error_messages={"invalid": "Give 64 hex."}
    )

    def validate(self, attrs):
        for key in ("commit_sha", "artifact_sha256", "function_config_sha256"):
            if attrs.get(key):
                attrs[key] = attrs[key].lower()
        return attrs


class ReasonSerializer(serializers.Serializer):
    code = serializers.ChoiceField(choices=ReasonCode.choices)
    message = serializers.CharField()
    control = serializers.CharField(required=False, help_text="The control code, if any.")


class GateResponseSerializer(serializers.Serializer):
    decision_id = serializers.UUIDField()
    decision = serializers.ChoiceField(choices=Decision.choices)
    reasons = ReasonSerializer(many=True)
    service = serializers.CharField()
    environment = serializers.CharField()
    commit_sha = serializers.CharField()
    artifact_sha256 = serializers.CharField(allow_null=True)
    function_config_sha256 = serializers.CharField(allow_null=True)
    review = serializers.IntegerField(allow_null=True)
    approved_at = serializers.DateTimeField(allow_null=True)
    expires_at = serializers.DateTimeField(
        allow_null=True, help_text="When an allow stops holding (review, waiver or evidence)."
    )
    evaluated_at = serializers.DateTimeField()
    break_glass = serializers.IntegerField(allow_null=True)
    signature = serializers.CharField(
        help_text="Compact JWS (EdDSA) over the other fields; keys at jwks_url."
    )
    jwks_url = serializers.CharField()


class GateDecisionSerializer(serializers.ModelSerializer):
    service = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    reasons = ReasonSerializer(many=True, read_only=True)

    class Meta:
        model = GateDecision
        fields = [
            "decision_id",
            "service",
            "environment",
            "commit_sha",
            "artifact_sha256",
            "function_config_sha256",
            "decision",
            "reasons",
            "review",
            "approved_at",
            "expires_at",
            "evaluated_at",
            "caller_type",
            "caller_label",
            "break_glass",
            "signature",
        ]
        read_only_fields = fields


class GateDecisionDetailSerializer(GateDecisionSerializer):
    inputs = serializers.JSONField(read_only=True)
    caller_details = serializers.JSONField(read_only=True)

    class Meta(GateDecisionSerializer.Meta):
        fields = [*GateDecisionSerializer.Meta.fields, "inputs", "caller_details"]
        read_only_fields = fields


class ReplayResultSerializer(serializers.Serializer):
    class Outcome(serializers.Serializer):
        decision = serializers.ChoiceField(choices=Decision.choices)
        reasons = ReasonSerializer(many=True)
        expires_at = serializers.DateTimeField(allow_null=True)

    decision_id = serializers.UUIDField()
    stored = Outcome()
    replayed = Outcome()
    matches = serializers.BooleanField()
    signature_valid = serializers.BooleanField()


# --- tokens -----------------------------------------------------------------------------


class ApiTokenSerializer(serializers.ModelSerializer):
    user = serializers.SlugRelatedField(slug_field="username", read_only=True)
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    services = serializers.SlugRelatedField(slug_field="slug", many=True, read_only=True)
    status = serializers.CharField(read_only=True)

    class Meta:
        model = ApiToken
        fields = [
            "id",
            "name",
            "prefix",
            "user",
            "services",
            "scopes",
            "status",
            "created_by",
            "created_at",
            "expires_at",
            "last_used_at",
            "revoked_at",
            "revoked_reason",
        ]
        read_only_fields = fields


class ApiTokenCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    scopes = serializers.ListField(child=serializers.ChoiceField(choices=Scope.choices))
    expires_at = serializers.DateTimeField(required=False)
    expires_in_days = serializers.IntegerField(required=False, min_value=1)
    services = serializers.ListField(child=serializers.SlugField(), required=False, default=list)
    service_token = serializers.BooleanField(
        default=False, help_text="Admins: a token of no user, bound to the services, for CI."
    )

    def validate(self, attrs):
        days = attrs.pop("expires_in_days", None)
        if days is not None and attrs.get("expires_at") is None:
            attrs["expires_at"] = timezone.now() + timezone.timedelta(days=days)
        if attrs.get("expires_at") is None:
            raise serializers.ValidationError(
                {"expires_at": ["Give expires_at or expires_in_days."]}
            )
        return attrs


class ApiTokenCreatedSerializer(ApiTokenSerializer):
    token = serializers.CharField(read_only=True, help_text="Shown once; store it now.")

    class Meta(ApiTokenSerializer.Meta):
        fields = [*ApiTokenSerializer.Meta.fields, "token"]
        read_only_fields = fields


class ReasonInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000, required=False, allow_blank=True)


# --- break-glass ------------------------------------------------------------------------


class BreakGlassSerializer(serializers.ModelSerializer):
    service = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    issued_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    revoked_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    status = serializers.CharField(read_only=True)

    class Meta:
        model = BreakGlass
        fields = [
            "id",
            "service",
            "environment",
            "commit_sha",
            "reason",
            "status",
            "issued_by",
            "created_at",
            "expires_at",
            "followup_review",
            "revoked_at",
            "revoked_by",
            "revoked_reason",
        ]
        read_only_fields = fields


class BreakGlassCreateSerializer(serializers.Serializer):
    service = serializers.SlugField()
    environment = serializers.CharField(max_length=32)
    commit_sha = serializers.RegexField(r"^[0-9a-fA-F]{7,40}$")
    reason = serializers.CharField(max_length=2000)
    hours = serializers.IntegerField(min_value=1, default=4)


# --- CI evidence ------------------------------------------------------------------------


class CiEvidenceInputSerializer(serializers.Serializer):
    format = serializers.ChoiceField(choices=CiFormat.choices)
    commit_sha = serializers.RegexField(
        r"^[0-9a-fA-F]{7,40}$",
        required=False,
        help_text="Defaults to the OIDC token's sha claim for CI identities.",
    )
    file = serializers.FileField(required=False, help_text="Multipart: the report file.")
    content = serializers.JSONField(
        required=False, help_text="JSON body: the report (an object, or XML text for JUnit)."
    )
    filename = serializers.CharField(required=False, max_length=200)
    metadata = serializers.JSONField(
        required=False, help_text="Pipeline facts to keep with the evidence (a JSON object)."
    )

    def validate_metadata(self, value):
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                raise serializers.ValidationError("metadata must be a JSON object.") from None
        if not isinstance(value, dict):
            raise serializers.ValidationError("metadata must be a JSON object.")
        return value

    def validate(self, attrs):
        has_file, has_content = "file" in attrs, "content" in attrs
        if has_file == has_content:
            raise serializers.ValidationError(
                {"file": ["Send the report as a multipart file or as JSON content (one of them)."]}
            )
        return attrs

    def content_bytes(self) -> tuple[bytes, str]:
        data = self.validated_data
        if "file" in data:
            upload = data["file"]
            return b"".join(upload.chunks()), data.get("filename") or upload.name
        content = data["content"]
        if isinstance(content, str):
            return content.encode("utf-8"), data.get("filename", "")
        return json.dumps(content, separators=(",", ":")).encode("utf-8"), data.get("filename", "")


class CiEvidenceResultSerializer(serializers.Serializer):
    evidence = serializers.IntegerField()
    sha256 = serializers.CharField()
    format = serializers.ChoiceField(choices=CiFormat.choices)
    commit_sha = serializers.CharField()
    control = serializers.CharField(allow_blank=True)
    outcome = serializers.ChoiceField(choices=CiOutcome.choices)
    summary = serializers.CharField()
    counts = serializers.DictField()
