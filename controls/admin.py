"""Read-only admin: catalog rows are written only by ``load_catalog`` and never changed."""

from django.contrib import admin

from controls.models import CatalogVersion, Control, ControlMapping, Framework, Requirement, Runbook


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(CatalogVersion)
class CatalogVersionAdmin(ReadOnlyAdmin):
    list_display = ["version", "is_current", "loaded_at", "content_sha256"]


class MappingInline(admin.TabularInline):
    model = ControlMapping
    fields = ["requirement"]
    readonly_fields = ["requirement"]
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Control)
class ControlAdmin(ReadOnlyAdmin):
    list_display = ["code", "title", "section", "severity", "check_id", "catalog_version"]
    list_filter = ["catalog_version", "section", "severity"]
    search_fields = ["code", "title", "requirement", "check_id"]
    list_select_related = ["catalog_version"]
    inlines = [MappingInline]


@admin.register(Framework)
class FrameworkAdmin(ReadOnlyAdmin):
    list_display = ["code", "name", "version", "catalog_version"]
    list_filter = ["catalog_version"]


@admin.register(Requirement)
class RequirementAdmin(ReadOnlyAdmin):
    list_display = ["ref", "title", "framework"]
    list_filter = ["framework__catalog_version", "framework__code"]
    search_fields = ["ref", "title"]
    list_select_related = ["framework"]


@admin.register(Runbook)
class RunbookAdmin(ReadOnlyAdmin):
    list_display = ["slug", "title", "catalog_version"]
    list_filter = ["catalog_version"]
