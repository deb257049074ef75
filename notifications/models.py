"""Who wants which notifications, the notifications sent, and outgoing webhooks with their
delivery log."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.urls import reverse

from notifications.choices import DeliveryStatus, Event
from portal.models import TimeStampedModel

USER = settings.AUTH_USER_MODEL


class Preference(TimeStampedModel):
    """One user's choice for one event. No row: the default (on)."""

    user = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="notification_prefs")
    event = models.CharField(max_length=40, choices=Event.choices)
    email = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "event"], name="preference_unique_user_event"),
            models.CheckConstraint(
                condition=models.Q(event__in=Event.values), name="preference_event_valid"
            ),
        ]

    def __str__(self):
        return f"{self.user} {'gets' if self.email else 'skips'} {self.event}"


class Notification(models.Model):
    """One event the portal announced, once: ``key`` makes scheduled scans idempotent."""

    event = models.CharField(max_length=40, choices=Event.choices)
    key = models.CharField(max_length=200, unique=True)
    service = models.ForeignKey(
        "services.Service", on_delete=models.CASCADE, related_name="notifications"
    )
    subject = models.CharField(max_length=300)
    body = models.TextField()
    url = models.CharField(max_length=500, blank=True)
    payload = models.JSONField(default=dict)
    recipients = models.JSONField(default=list)  # e-mail addresses written to
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return self.subject


class Webhook(TimeStampedModel):
    """An HTTPS endpoint that receives signed JSON for a team's services (or, made by a
    platform admin without a team, for every service)."""

    team = models.ForeignKey(
        "accounts.Team", on_delete=models.CASCADE, null=True, blank=True, related_name="webhooks"
    )
    name = models.CharField(max_length=100)
    url = models.URLField(max_length=500)
    # HMAC-SHA256 key; shown once when the webhook is created.
    secret = models.CharField(max_length=100)
    events = models.JSONField(default=list)
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["name", "id"]

    def __str__(self):
        return f"{self.name} → {self.url}"

    def get_absolute_url(self):
        return reverse("notifications:webhook", args=[self.pk])


class WebhookDelivery(models.Model):
    """One notification sent (or being retried) to one webhook; ``attempts`` is its log."""

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    notification = models.ForeignKey(
        Notification, on_delete=models.CASCADE, related_name="deliveries"
    )
    delivery_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    status = models.CharField(
        max_length=12, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.JSONField(default=list)  # [{"at", "status_code", "error", "ms"}]
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["webhook", "notification"], name="delivery_once_per_webhook"
            ),
        ]

    def __str__(self):
        return f"{self.notification.event} to {self.webhook.name}: {self.status}"

    @property
    def last_attempt(self) -> dict | None:
        return self.attempts[-1] if self.attempts else None
