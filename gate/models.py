"""API tokens, gate decisions, break-glass allows, CI identity pinning and the OIDC replay
store.

A gate decision is written once with the inputs it was computed from, so an auditor can replay
it later from the data as it was; tokens are stored as a SHA-256 of the secret only.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from audit.choices import ActorType
from gate.choices import Decision
from portal.models import TimeStampedModel

USER = settings.AUTH_USER_MODEL


class ApiToken(TimeStampedModel):
    """A bearer token ``prr_<prefix>_<secret>``: only the prefix and a SHA-256 of the whole
    token are kept. With a ``user`` it acts as that user (narrowed by scopes and services);
    without one it is a service token an admin issued for CI of the bound services."""

    name = models.CharField(max_length=200)
    prefix = models.CharField(max_length=16, unique=True)
    token_hash = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="api_tokens"
    )
    services = models.ManyToManyField("services.Service", blank=True, related_name="api_tokens")
    scopes = models.JSONField(default=list)
    created_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    last_used_ip = models.GenericIPAddressField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    revoked_reason = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(token_hash__regex=r"^[0-9a-f]{64}$"),
                name="apitoken_hash_hex",
            ),
            models.CheckConstraint(
                condition=models.Q(expires_at__gt=models.F("created_at")),
                name="apitoken_expires_after_creation",
            ),
        ]

    def __str__(self):
        return f"{self.name} (prr_{self.prefix}_…)"

    @property
    def is_service_token(self) -> bool:
        return self.user_id is None

    def is_active(self, at=None) -> bool:
        at = at or timezone.now()
        return self.revoked_at is None and self.expires_at > at

    @property
    def status(self) -> str:
        if self.revoked_at is not None:
            return "revoked"
        return "active" if self.is_active() else "expired"


class CiBinding(TimeStampedModel):
    """Optional pinning of the GitHub Actions identities a service accepts, beyond the
    repository binding on the service itself. Empty lists mean "any". Entries may use
    shell-style wildcards (``refs/heads/release/*``)."""

    service = models.OneToOneField(
        "services.Service", on_delete=models.PROTECT, related_name="ci_binding"
    )
    allowed_refs = models.JSONField(default=list, blank=True)
    allowed_environments = models.JSONField(default=list, blank=True)
    allowed_workflow_refs = models.JSONField(default=list, blank=True)

    def __str__(self):
        return f"CI binding of {self.service.slug}"


class BreakGlass(TimeStampedModel):
    """An emergency allow an admin issues for one service, environment and commit, for a
    short time. Issuing it opens (or links) a mandatory follow-up review."""

    service = models.ForeignKey(
        "services.Service", on_delete=models.PROTECT, related_name="break_glasses"
    )
    environment = models.CharField(max_length=32)
    commit_sha = models.CharField(max_length=40)
    reason = models.TextField()
    issued_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    expires_at = models.DateTimeField()
    followup_review = models.ForeignKey(
        "reviews.Review", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    revoked_reason = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "break-glass allows"
        constraints = [
            models.CheckConstraint(condition=~models.Q(reason=""), name="breakglass_has_reason"),
            models.CheckConstraint(
                condition=models.Q(commit_sha__regex=r"^[0-9a-f]{7,40}$"),
                name="breakglass_commit_hex",
            ),
            models.CheckConstraint(
                condition=models.Q(expires_at__gt=models.F("created_at")),
                name="breakglass_expires_after_issue",
            ),
        ]
        indexes = [
            # The gate: active break-glass of a service and environment.
            models.Index(
                fields=["service", "environment", "expires_at"], name="breakglass_svc_env"
            ),
        ]

    def __str__(self):
        return f"Break-glass #{self.pk} for {self.service.slug} @ {self.commit_sha[:12]}"

    def is_active(self, at=None) -> bool:
        at = at or timezone.now()
        return self.revoked_at is None and self.expires_at > at

    def covers(self, commit_sha: str) -> bool:
        """Whether this allow names ``commit_sha`` (either may be abbreviated)."""
        commit_sha = (commit_sha or "").lower()
        return bool(commit_sha) and (
            commit_sha.startswith(self.commit_sha) or self.commit_sha.startswith(commit_sha)
        )

    @property
    def status(self) -> str:
        if self.revoked_at is not None:
            return "revoked"
        return "active" if self.is_active() else "expired"


class ImmutableQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise TypeError("Gate decisions are never updated.")

    def delete(self):
        raise TypeError("Gate decisions are never deleted.")


class GateDecision(models.Model):
    """One answer of the gate, with everything it was computed from. Never changed."""

    decision_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    service = models.ForeignKey(
        "services.Service", on_delete=models.PROTECT, related_name="gate_decisions"
    )
    environment = models.CharField(max_length=32)
    commit_sha = models.CharField(max_length=40)
    artifact_sha256 = models.CharField(max_length=64, blank=True)
    function_config_sha256 = models.CharField(max_length=64, blank=True)
    decision = models.CharField(max_length=8, choices=Decision.choices)
    reasons = models.JSONField(default=list)
    review = models.ForeignKey(
        "reviews.Review", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    evaluated_at = models.DateTimeField()
    # The evaluation snapshot: review state, per-control latest results, waivers and
    # break-glass as they were. ``gate.evaluation.evaluate(inputs)`` recomputes the answer.
    inputs = models.JSONField()
    caller_type = models.CharField(max_length=16, choices=ActorType.choices)
    caller_label = models.CharField(max_length=255)
    caller_details = models.JSONField(default=dict, blank=True)
    api_token = models.ForeignKey(
        ApiToken, on_delete=models.PROTECT, null=True, blank=True, related_name="decisions"
    )
    break_glass = models.ForeignKey(
        BreakGlass, on_delete=models.PROTECT, null=True, blank=True, related_name="decisions"
    )
    # Compact JWS (EdDSA) over the answer, verifiable with the portal's JWKS.
    signature = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ImmutableQuerySet.as_manager()

    class Meta:
        ordering = ["-evaluated_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(decision__in=Decision.values), name="gatedecision_valid"
            ),
        ]
        indexes = [
            # Service page / API list: a service's decisions per environment, newest first.
            models.Index(
                fields=["service", "environment", "-evaluated_at"], name="gatedecision_svc_env"
            ),
        ]

    def __str__(self):
        return f"{self.decision} {self.service.slug}@{self.environment} {self.commit_sha[:12]}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not self._state.adding:
            raise TypeError("Gate decisions are never updated.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("Gate decisions are never deleted.")


class OidcJti(models.Model):
    """Seen OIDC token ids: a token presented twice is a replay. Rows past ``expires_at`` can
    be purged (the token itself is expired by then)."""

    issuer = models.CharField(max_length=255)
    jti = models.CharField(max_length=255)
    expires_at = models.DateTimeField(db_index=True)
    seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["issuer", "jti"], name="oidcjti_unique"),
        ]

    def __str__(self):
        return self.jti
