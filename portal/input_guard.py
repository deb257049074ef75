"""Refuse request input that the database cannot store, before any view or query sees it.

PostgreSQL's text and jsonb types refuse the NUL character (psycopg raises DataError), and no
driver can encode a lone UTF-16 surrogate (what a JSON ``"\\ud800"`` escape decodes to). Left to
reach a query or a response, a NUL is a 500 on PostgreSQL (SQLite stores it) and a lone
surrogate a 500 on both: so the path, the query string and the body (JSON or form) are checked
once here, and such a request gets a 400 (in the API's error shape under /api/).

Multipart bodies (uploads) are left to the views: parsing them here would change how oversized
or malformed uploads are refused, file contents may hold any byte, and their text fields mostly
go through form or serializer CharFields (which refuse NUL).
"""

from __future__ import annotations

import json
import logging
import re

from django.conf import settings
from django.http import HttpResponseBadRequest, JsonResponse, QueryDict

logger = logging.getLogger(__name__)

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
# Cheap pre-check on a raw JSON body: only a \u0000 or a surrogate escape can decode to an
# unstorable character (a raw NUL byte is caught before; raw control characters are not JSON).
_JSON_ESCAPE = re.compile(rb"\\u(?:0000|d[89a-f][0-9a-f]{2})", re.IGNORECASE)
_BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
_PLACES = {"path": "URL path", "query": "query string", "body": "body"}
MESSAGE = (
    "The request's {place} contains a character the portal cannot store "
    "(NUL or an unpaired surrogate)."
)


def unstorable(text: str) -> bool:
    """True if PostgreSQL could not store ``text`` (NUL, or a lone surrogate)."""
    return bool(_UNSTORABLE.search(text))


class InputGuardMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        where = _find_unstorable(request)
        if where is not None:
            logger.info("refused unstorable input", extra={"where": where, "path": _safe(request)})
            return _refuse(request, where)
        return self.get_response(request)


def _find_unstorable(request) -> str | None:
    """Where the request holds unstorable text: "path", "query", "body", or None."""
    if unstorable(request.path_info) or unstorable(request.path):
        return "path"
    if _querydict_unstorable(request.GET):
        return "query"
    if request.method in _BODY_METHODS and _body_unstorable(request):
        return "body"
    return None


def _body_unstorable(request) -> bool:
    """Only the text bodies the API and the forms parse: JSON and urlencoded forms (any other
    content type keeps its 415 or the view's own handling)."""
    content_type = request.content_type or ""
    is_form = content_type == "application/x-www-form-urlencoded"
    if not (is_form or "json" in content_type):
        return False
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return False
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    if length <= 0 or (limit is not None and length > limit):
        return False  # nothing to read, or left to the view's own size handling as before
    raw = request.body
    if is_form:
        return _querydict_unstorable(QueryDict(raw, encoding=request.encoding))
    if b"\x00" in raw:
        return True
    if _JSON_ESCAPE.search(raw):
        try:
            data = json.loads(raw.decode(request.encoding or "utf-8"))
        except ValueError:
            return False  # not JSON: the view's parser answers its own 400
        return _json_unstorable(data)
    return False


def _querydict_unstorable(data: QueryDict) -> bool:
    return any(
        unstorable(key) or any(unstorable(value) for value in values)
        for key, values in data.lists()
    )


def _json_unstorable(value) -> bool:
    if isinstance(value, str):
        return unstorable(value)
    if isinstance(value, dict):
        return any(unstorable(k) or _json_unstorable(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_json_unstorable(item) for item in value)
    return False


def _refuse(request, where: str):
    message = MESSAGE.format(place=_PLACES[where])
    if request.path_info.startswith("/api/") or request.path.startswith("/api/"):
        details = {where: ["Remove NUL characters and unpaired surrogates."]}
        body = {"error": {"code": "invalid", "message": message, "details": details}}
        return JsonResponse(body, status=400)
    return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")


def _safe(request) -> str:
    return _UNSTORABLE.sub("\ufffd", request.path)
