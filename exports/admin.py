"""Read-only admin: export jobs are created by exports.services and run by the worker."""

from django.contrib import admin

from exports.models import ExportJob


@admin.register(ExportJob)
class ExportJobAdmin(admin.ModelAdmin):
    list_display = ["id", "title", "format", "status", "requested_by", "created_at", "size"]
    list_filter = ["status", "scope", "format"]
    search_fields = ["title", "requested_by__username", "sha256"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
