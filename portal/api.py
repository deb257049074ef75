"""Shared REST API pieces: the one error shape every endpoint answers with."""

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from portal.errors import DomainError


def _error(code: str, message: str, details=None, http_status=400, headers=None) -> Response:
    body = {"error": {"code": code, "message": message, "details": details or {}}}
    return Response(body, status=http_status, headers=headers)


def exception_handler(exc, context):
    """Render every error as ``{"error": {"code", "message", "details"}}``."""
    if isinstance(exc, DomainError):
        return _error(exc.code, exc.message, exc.details, exc.http_status)
    if isinstance(exc, (OperationalError, InterfaceError)):
        # The database is unreachable: a 503 in the error shape callers retry, never an answer.
        set_rollback()
        message = "The portal's database is unavailable; try again shortly."
        return _error("unavailable", message, None, 503, {"Retry-After": "5"})
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        )
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        details = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        first = _first_message(details)
        return _error("invalid", first or "The request is invalid.", details, response.status_code)
    code = getattr(exc, "default_code", "error")
    detail = getattr(exc, "detail", str(exc))
    headers = {k: v for k, v in response.items() if k in {"Retry-After", "WWW-Authenticate"}}
    return _error(str(code), str(detail), None, response.status_code, headers)


def not_found(request, exception=None):
    """handler404: a URL under /api/ that matches no route answers in the API's error shape
    (HTML pages keep Django's page)."""
    if request.path.startswith("/api/"):
        from django.http import JsonResponse

        body = {"error": {"code": "not_found", "message": "Not found.", "details": {}}}
        return JsonResponse(body, status=404)
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)


def _first_message(details) -> str | None:
    if isinstance(details, dict):
        for field, value in details.items():
            message = _first_message(value)
            if message:
                return message if field == "non_field_errors" else f"{field}: {message}"
    elif isinstance(details, list):
        for value in details:
            message = _first_message(value)
            if message:
                return message
    elif details:
        return str(details)
    return None


__all__ = ["exception_handler", "status"]
