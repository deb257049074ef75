import json

from django import forms
from django.core.exceptions import ValidationError

from accounts.models import Team
from services.models import AwsTarget, Service
from services.services import SERVICE_FIELDS


class CommaListField(forms.CharField):
    """A list of short names typed as ``a, b, c``."""

    def to_python(self, value):
        value = super().to_python(value)
        return [item.strip() for item in value.split(",") if item.strip()]

    def prepare_value(self, value):
        return ", ".join(value) if isinstance(value, list) else value


class TagsField(forms.CharField):
    """Tags typed one per line as ``Key=Value``."""

    widget = forms.Textarea(attrs={"rows": 2})

    def to_python(self, value):
        value = super().to_python(value)
        tags = {}
        for line in value.splitlines():
            if not line.strip():
                continue
            key, sep, val = line.partition("=")
            if not sep or not key.strip():
                raise ValidationError(f"Write each tag as Key=Value; got {line.strip()!r}.")
            tags[key.strip()] = val.strip()
        return tags

    def prepare_value(self, value):
        if isinstance(value, dict):
            return "\n".join(f"{k}={v}" for k, v in value.items())
        if isinstance(value, str) and value.startswith("{"):
            return "\n".join(f"{k}={v}" for k, v in json.loads(value).items())
        return value


class ServiceForm(forms.ModelForm):
    environments = CommaListField(help_text="Comma-separated, e.g. dev, staging, prod.")

    class Meta:
        model = Service
        fields = ["team", *SERVICE_FIELDS]

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        teams = Team.objects.all()
        if not user.is_platform_admin:
            teams = teams.filter(pk__in=user.team_ids)
        self.fields["team"].queryset = teams
        if self.instance.pk:
            del self.fields["team"]
            del self.fields["slug"]

    def validate_unique(self):
        # Uniqueness is the service layer's job (and the database's).
        return None


class AwsTargetForm(forms.ModelForm):
    regions = CommaListField(help_text="Comma-separated, e.g. eu-west-1, eu-central-1.")
    function_tags = TagsField(required=False, help_text="One Key=Value per line.")

    class Meta:
        model = AwsTarget
        fields = [
            "account_id",
            "regions",
            "role_arn",
            "function_name_prefix",
            "function_tags",
            "cloudformation_stack",
            "collection_interval_hours",
            "enabled",
        ]

    def validate_unique(self):
        return None

    def _post_clean(self):
        # Model.clean() runs in the service; keep form-level field validation only.
        super()._post_clean()
