"""Read-only admin: every change to reviews and waivers goes through reviews.workflow."""

from django.contrib import admin

from reviews.models import ItemComment, Review, ReviewItem, SignOff, Waiver


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Review)
class ReviewAdmin(ReadOnlyAdmin):
    list_display = ["id", "service", "environment", "status", "submitted_at", "expires_at"]
    list_filter = ["status", "environment"]
    search_fields = ["service__slug", "service__name"]


@admin.register(ReviewItem)
class ReviewItemAdmin(ReadOnlyAdmin):
    list_display = ["id", "review", "control", "mandatory", "outcome", "verdict"]
    list_filter = ["outcome", "verdict", "mandatory"]


@admin.register(SignOff)
class SignOffAdmin(ReadOnlyAdmin):
    list_display = ["id", "review", "role", "user", "decided_at", "archived_at"]


@admin.register(Waiver)
class WaiverAdmin(ReadOnlyAdmin):
    list_display = ["id", "service", "control_code", "status", "expires_at", "decided_by"]
    list_filter = ["status"]


@admin.register(ItemComment)
class ItemCommentAdmin(ReadOnlyAdmin):
    list_display = ["id", "review", "item", "author", "kind", "created_at"]
