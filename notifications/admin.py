from django.contrib import admin

from notifications.models import Notification, Preference, Webhook, WebhookDelivery


@admin.register(Webhook)
class WebhookAdmin(admin.ModelAdmin):
    list_display = ["name", "team", "url", "is_active", "created_at"]
    list_filter = ["is_active"]
    exclude = ["secret"]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ["delivery_id", "webhook", "status", "created_at", "delivered_at"]
    list_filter = ["status"]
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields]


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["subject", "event", "service", "created_at"]
    list_filter = ["event"]
    readonly_fields = [f.name for f in Notification._meta.fields]


admin.site.register(Preference)
