"""Celery tasks: webhook delivery with backoff, and the daily expiry scans."""

from portal.celery import app


@app.task(name="notifications.deliver_webhook", bind=True, max_retries=None)
def deliver_webhook(self, delivery_id: int) -> str:
    """One attempt; on failure schedule the next with exponential backoff (the delivery row
    counts attempts, so a redelivered task never sends past the limit)."""
    from django.utils import timezone

    from notifications.choices import DeliveryStatus
    from notifications.services import webhook_attempt

    delivery = webhook_attempt(delivery_id)
    if delivery.status == DeliveryStatus.RETRYING and not self.request.is_eager:
        countdown = max((delivery.next_attempt_at - timezone.now()).total_seconds(), 1)
        raise self.retry(countdown=countdown)
    return delivery.status


@app.task(name="notifications.scan_expiring")
def scan_expiring() -> dict:
    from notifications.services import approvals_expiring_scan, waivers_expiring_scan

    return {"approvals": approvals_expiring_scan(), "waivers": waivers_expiring_scan()}
