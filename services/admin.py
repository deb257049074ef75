from django.contrib import admin

from services.models import AwsTarget, Service


class AwsTargetInline(admin.TabularInline):
    model = AwsTarget
    extra = 0
    readonly_fields = ["external_id"]


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "team", "tier", "data_classification"]
    list_filter = ["tier", "data_classification", "team"]
    search_fields = ["name", "slug", "repository"]
    inlines = [AwsTargetInline]
