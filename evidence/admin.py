from django.contrib import admin

from evidence.models import Evidence


@admin.register(Evidence)
class EvidenceAdmin(admin.ModelAdmin):
    """Read-only: evidence is never edited or deleted, not even by an admin."""

    list_display = ["id", "service", "kind", "title", "sha256", "source_label", "collected_at"]
    list_filter = ["kind", "source_type"]
    search_fields = ["sha256", "title", "original_filename", "control_code", "service__slug"]
    date_hierarchy = "collected_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
