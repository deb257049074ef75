"""The versioned control catalog: controls, frameworks, requirements, mappings, runbooks.

Every row belongs to one CatalogVersion and is written once by ``load_catalog``; a new
catalog version adds new rows and never rewrites old ones, so reviews pinned to an older
version keep their history.
"""

from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse

from controls import applicability
from controls.choices import SECTION_ORDER, SEVERITY_RANK, Section, Severity


class CatalogVersion(models.Model):
    version = models.CharField(max_length=32, unique=True)
    # SHA-256 over the catalog's source files: loading the same content again is a no-op,
    # loading different content under the same version is refused.
    content_sha256 = models.CharField(max_length=64)
    loaded_at = models.DateTimeField(auto_now_add=True, db_index=True)
    is_current = models.BooleanField(default=False)
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["-loaded_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_current"],
                condition=models.Q(is_current=True),
                name="catalogversion_one_current",
                violation_error_message="Only one catalog version can be current.",
            ),
            models.CheckConstraint(
                condition=models.Q(content_sha256__regex=r"^[0-9a-f]{64}$"),
                name="catalogversion_sha256_hex",
            ),
        ]

    def __str__(self):
        return f"Catalog {self.version}"

    def get_absolute_url(self):
        return f"{reverse('controls:list')}?v={self.version}"


class Framework(models.Model):
    catalog_version = models.ForeignKey(
        CatalogVersion, on_delete=models.PROTECT, related_name="frameworks"
    )
    code = models.CharField(max_length=40)
    name = models.CharField(max_length=200)
    version = models.CharField(max_length=120, blank=True)
    url = models.URLField(max_length=500, blank=True)
    description = models.TextField(blank=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["catalog_version", "position", "code"]
        constraints = [
            models.UniqueConstraint(
                fields=["catalog_version", "code"], name="framework_unique_code_per_version"
            )
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        version = self.catalog_version.version
        return f"{reverse('controls:framework', args=[self.code])}?v={version}"


class Requirement(models.Model):
    """A framework requirement id with a short title in our own words."""

    framework = models.ForeignKey(Framework, on_delete=models.PROTECT, related_name="requirements")
    ref = models.CharField(max_length=60)
    title = models.CharField(max_length=300)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["framework", "position", "ref"]
        constraints = [
            models.UniqueConstraint(
                fields=["framework", "ref"], name="requirement_unique_ref_per_framework"
            )
        ]

    def __str__(self):
        return f"{self.framework.code} {self.ref}"


class Runbook(models.Model):
    catalog_version = models.ForeignKey(
        CatalogVersion, on_delete=models.PROTECT, related_name="runbooks"
    )
    slug = models.SlugField(max_length=80)
    title = models.CharField(max_length=200)
    scenario = models.TextField()
    # [{"action", "command", "expected_result", "troubleshooting"}, ...]
    steps = models.JSONField(default=list)
    escalation_path = models.TextField()
    mermaid = models.TextField(blank=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["catalog_version", "position", "slug"]
        constraints = [
            models.UniqueConstraint(
                fields=["catalog_version", "slug"], name="runbook_unique_slug_per_version"
            )
        ]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        version = self.catalog_version.version
        return f"{reverse('controls:runbook', args=[self.slug])}?v={version}"


class Control(models.Model):
    """One control of one catalog version; never updated after load."""

    catalog_version = models.ForeignKey(
        CatalogVersion, on_delete=models.PROTECT, related_name="controls"
    )
    code = models.CharField(max_length=20)
    section = models.CharField(max_length=24, choices=Section.choices)
    title = models.CharField(max_length=200)
    requirement = models.TextField(help_text="One testable sentence.")
    rationale = models.TextField()
    aws_services = models.JSONField(default=list)
    enforcement = models.TextField(help_text="How the control is enforced or configured.")
    check_id = models.CharField(
        max_length=64, blank=True, help_text="Automated check id; empty for a manual control."
    )
    check_reads = models.JSONField(default=list, blank=True)
    check_pass_condition = models.TextField(blank=True)
    evidence_description = models.TextField()
    validation_procedure = models.TextField()
    severity = models.CharField(max_length=8, choices=Severity.choices)
    mandatory_tiers = models.JSONField(default=list, blank=True)
    applicability = models.JSONField(default=dict, blank=True)
    freshness_days = models.PositiveIntegerField()
    guardrails = models.JSONField(default=list, blank=True)
    position = models.PositiveIntegerField(default=0)
    runbooks = models.ManyToManyField(Runbook, related_name="controls", blank=True)
    requirements = models.ManyToManyField(
        Requirement, through="ControlMapping", related_name="controls"
    )

    class Meta:
        ordering = ["catalog_version", "position", "code"]
        constraints = [
            models.UniqueConstraint(
                fields=["catalog_version", "code"], name="control_unique_code_per_version"
            ),
            # A check backs one control only, so check results map 1:1 to controls.
            models.UniqueConstraint(
                fields=["catalog_version", "check_id"],
                condition=~models.Q(check_id=""),
                name="control_unique_check_per_version",
            ),
            models.CheckConstraint(
                condition=models.Q(severity__in=Severity.values), name="control_severity_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(section__in=Section.values), name="control_section_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(freshness_days__gte=1), name="control_freshness_positive"
            ),
        ]

    def __str__(self):
        return f"{self.code} {self.title}"

    def get_absolute_url(self):
        """The control's page in its own catalog version (reviews stay pinned to it)."""
        version = self.catalog_version.version
        return f"{reverse('controls:detail', args=[self.code])}?v={version}"

    def clean(self):
        try:
            applicability.validate_rule(self.applicability)
        except applicability.RuleError as exc:
            raise ValidationError({"applicability": f"{exc.path}: {exc}"}) from exc

    @property
    def is_automated(self) -> bool:
        return bool(self.check_id)

    @property
    def severity_rank(self) -> int:
        return SEVERITY_RANK.get(self.severity, len(SEVERITY_RANK))

    @property
    def section_rank(self) -> int:
        return SECTION_ORDER.get(self.section, len(SECTION_ORDER))

    @property
    def applicability_text(self) -> str:
        return applicability.describe(self.applicability or {})

    def is_mandatory_for(self, tier: int) -> bool:
        """Whether a service of this tier must pass (or waive) the control to be approved."""
        return tier in (self.mandatory_tiers or [])

    def applies_to(self, profile: dict) -> bool:
        """Whether the control applies to a service with this ``Service.profile()``."""
        return applicability.evaluate(self.applicability or {}, profile)


class ControlMapping(models.Model):
    control = models.ForeignKey(Control, on_delete=models.PROTECT, related_name="mappings")
    requirement = models.ForeignKey(Requirement, on_delete=models.PROTECT, related_name="mappings")

    class Meta:
        ordering = ["control", "requirement"]
        constraints = [
            models.UniqueConstraint(
                fields=["control", "requirement"], name="controlmapping_unique_pair"
            )
        ]

    def __str__(self):
        return f"{self.control.code} → {self.requirement}"
