from celery import shared_task
from django.utils import timezone

from gate.models import OidcJti


@shared_task(name="gate.purge_seen_jti")
def purge_seen_jti() -> int:
    """Forget OIDC token ids whose tokens have expired (they are refused as expired anyway)."""
    deleted, _ = OidcJti.objects.filter(expires_at__lt=timezone.now()).delete()
    return deleted
