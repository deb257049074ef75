from django.contrib import admin

from collection.models import CheckResult, CollectionRun, RegionRun, ResourceSnapshot


class ReadOnlyAdmin(admin.ModelAdmin):
    """Runs, snapshots and results are evidence: viewable, never edited here."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(CollectionRun)
class CollectionRunAdmin(ReadOnlyAdmin):
    list_display = ["pk", "service", "account_id", "status", "mode", "trigger", "created_at"]
    list_filter = ["status", "mode", "trigger"]
    search_fields = ["service__slug", "account_id"]


@admin.register(RegionRun)
class RegionRunAdmin(ReadOnlyAdmin):
    list_display = ["run", "region", "status", "functions_discovered", "error_code"]
    list_filter = ["status"]


@admin.register(ResourceSnapshot)
class ResourceSnapshotAdmin(ReadOnlyAdmin):
    list_display = ["resource_id", "run", "region", "collected_at", "sha256"]
    search_fields = ["resource_id", "resource_arn", "sha256"]


@admin.register(CheckResult)
class CheckResultAdmin(ReadOnlyAdmin):
    list_display = ["check_id", "resource", "status", "run", "evaluated_at"]
    list_filter = ["status", "check_id"]
