"""Request id: accepted from a trusted proxy header when well-formed, otherwise generated."""

import re
import uuid

from portal.logging import request_id_var

_VALID_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class RequestIdMiddleware:
    header = "HTTP_X_REQUEST_ID"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.META.get(self.header, "")
        request_id = incoming if _VALID_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id
        token = request_id_var.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response["X-Request-ID"] = request_id
        return response


def client_ip(request) -> str | None:
    """The caller's address as seen by the portal (the proxy sets REMOTE_ADDR via gunicorn)."""
    return request.META.get("REMOTE_ADDR") or None
