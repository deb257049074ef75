import secrets

from django.conf import settings
from django.db import models
from django.urls import reverse

from accounts.models import Team, slug_validator
from portal.models import TimeStampedModel
from services import validators
from services.choices import DEFAULT_ENVIRONMENTS, DataClassification, Tier


def _default_environments():
    return list(DEFAULT_ENVIRONMENTS)


def new_external_id() -> str:
    """The sts:ExternalId a collector role's trust policy must require (confused deputy)."""
    return f"prr-{secrets.token_hex(16)}"


class Service(TimeStampedModel):
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="services")
    slug = models.CharField(
        max_length=63,
        unique=True,
        validators=[slug_validator],
        error_messages={"unique": "A service with this slug already exists."},
    )
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    tier = models.PositiveSmallIntegerField(choices=Tier.choices, default=Tier.TIER_3)
    data_classification = models.CharField(
        max_length=16, choices=DataClassification.choices, default=DataClassification.INTERNAL
    )
    environments = models.JSONField(
        default=_default_environments, validators=[validators.validate_environments]
    )
    repository = models.CharField(
        max_length=140,
        blank=True,
        validators=[validators.validate_repository],
        help_text="GitHub repository as owner/name; CI identities are bound to it.",
    )
    repository_id = models.CharField(
        max_length=20, blank=True, help_text="GitHub's numeric repository id (optional)."
    )
    # Service profile: drives which catalog controls apply.
    uses_api_gateway = models.BooleanField(default=False)
    uses_async_invocation = models.BooleanField(default=False)
    uses_event_source_mapping = models.BooleanField(default=False)
    requires_vpc = models.BooleanField(default=True)
    internet_facing = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(tier__gte=1, tier__lte=4), name="service_tier_1_to_4"
            ),
            models.CheckConstraint(
                condition=models.Q(data_classification__in=DataClassification.values),
                name="service_classification_valid",
            ),
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("services:detail", args=[self.slug])

    def profile(self) -> dict:
        """The facts catalog applicability rules are evaluated against."""
        return {
            "tier": self.tier,
            "data_classification": self.data_classification,
            "uses_api_gateway": self.uses_api_gateway,
            "uses_async_invocation": self.uses_async_invocation,
            "uses_event_source_mapping": self.uses_event_source_mapping,
            "requires_vpc": self.requires_vpc,
            "internet_facing": self.internet_facing,
        }


class AwsTarget(TimeStampedModel):
    """An AWS account (and regions) where a service's Lambda functions run."""

    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="aws_targets")
    account_id = models.CharField(max_length=12, validators=[validators.validate_account_id])
    regions = models.JSONField(validators=[validators.validate_regions])
    role_arn = models.CharField(
        max_length=2048,
        validators=[validators.validate_role_arn],
        help_text="Read-only collector role the portal assumes in this account.",
    )
    external_id = models.CharField(max_length=64, unique=True, default=new_external_id)
    function_name_prefix = models.CharField(
        max_length=64, blank=True, validators=[validators.validate_function_prefix]
    )
    function_tags = models.JSONField(
        default=dict, blank=True, validators=[validators.validate_function_tags]
    )
    cloudformation_stack = models.CharField(
        max_length=128, blank=True, validators=[validators.validate_stack_name]
    )
    collection_interval_hours = models.PositiveIntegerField(default=24)
    enabled = models.BooleanField(default=True)

    class Meta:
        ordering = ["account_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["service", "account_id"],
                name="awstarget_unique_service_account",
                violation_error_message="This AWS account is already linked to the service.",
            ),
            models.CheckConstraint(
                condition=models.Q(account_id__regex=r"^[0-9]{12}$"),
                name="awstarget_account_id_12_digits",
            ),
            models.CheckConstraint(
                condition=models.Q(collection_interval_hours__gte=1),
                name="awstarget_interval_positive",
            ),
        ]

    def __str__(self):
        return f"{self.service.slug} @ {self.account_id}"

    def clean(self):
        from django.core.exceptions import ValidationError

        match = validators.ROLE_ARN.match(self.role_arn or "")
        if match and self.account_id and match["account"] != self.account_id:
            raise ValidationError(
                {
                    "role_arn": f"The role is in account {match['account']}, but this target "
                    f"is account {self.account_id}."
                }
            )
        if not (self.function_name_prefix or self.function_tags or self.cloudformation_stack):
            raise ValidationError(
                "Say how to find the service's functions: a name prefix, tags, or a "
                "CloudFormation stack."
            )
