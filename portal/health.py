"""Liveness and readiness probes for load balancers and orchestrators."""

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


@never_cache
@require_GET
def healthz(request):
    return JsonResponse({"status": "ok"})


def _check_database() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any driver error means "not ready"
        return f"database unreachable: {exc.__class__.__name__}"
    return None


def _check_broker() -> str | None:
    from kombu import Connection

    try:
        with Connection(
            settings.CELERY_BROKER_URL,
            transport_options=settings.CELERY_BROKER_TRANSPORT_OPTIONS,
            connect_timeout=2,
        ) as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:
        return f"broker unreachable: {exc.__class__.__name__}"
    return None


def _worker_heartbeat():
    """Informational: when a worker last ran the heartbeat task (None if unknown)."""
    from portal.tasks import last_heartbeat

    try:
        return last_heartbeat()
    except Exception:
        return None


@never_cache
@require_GET
def readyz(request):
    problems = [p for p in (_check_database(), _check_broker()) if p]
    status = 503 if problems else 200
    body = {"status": "unavailable" if problems else "ready", "problems": problems}
    if not problems:
        body["worker_heartbeat"] = _worker_heartbeat()
    if settings.DEBUG:
        body["broker"] = settings.CELERY_BROKER_URL.split("://", 1)[0]
    return JsonResponse(body, status=status)
