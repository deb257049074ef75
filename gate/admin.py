from django.contrib import admin, messages

from audit.context import Actor
from gate import services
from gate.models import ApiToken, BreakGlass, CiBinding, GateDecision
from portal.errors import DomainError


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyAdmin):
    """Tokens are created through the API (the secret is shown once); revoke them here."""

    list_display = ["name", "prefix", "user", "scopes", "expires_at", "last_used_at", "revoked_at"]
    list_filter = ["revoked_at"]
    search_fields = ["name", "prefix", "user__username", "services__slug"]
    actions = ["revoke"]

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request, queryset):
        for token in queryset.filter(revoked_at__isnull=True):
            try:
                services.api_token_revoke(
                    actor=Actor.from_request(request), token=token, reason="revoked in admin"
                )
            except DomainError as exc:
                self.message_user(request, exc.message, messages.ERROR)


@admin.register(GateDecision)
class GateDecisionAdmin(ReadOnlyAdmin):
    list_display = [
        "decision_id",
        "service",
        "environment",
        "commit_sha",
        "decision",
        "caller_label",
        "evaluated_at",
    ]
    list_filter = ["decision", "environment", "caller_type"]
    search_fields = ["decision_id", "commit_sha", "service__slug", "caller_label"]
    date_hierarchy = "evaluated_at"


@admin.register(BreakGlass)
class BreakGlassAdmin(ReadOnlyAdmin):
    """Issued through the API so the follow-up review and the audit event go with it."""

    list_display = [
        "service",
        "environment",
        "commit_sha",
        "issued_by",
        "expires_at",
        "revoked_at",
        "followup_review",
    ]
    search_fields = ["service__slug", "commit_sha", "reason"]


@admin.register(CiBinding)
class CiBindingAdmin(admin.ModelAdmin):
    """Pin which GitHub refs, environments and reusable workflows may act for a service."""

    list_display = ["service", "allowed_refs", "allowed_environments", "allowed_workflow_refs"]
    search_fields = ["service__slug"]
