"""The hash chain's canonical form: what exactly an audit event's hash covers.

An event's hash is SHA-256 over one line of JSON: a list (fixed field order, see
``HASH_FIELDS``) prefixed with the format version, encoded with sorted keys, no whitespace and
ASCII escapes. The same bytes come out on SQLite and PostgreSQL, before and after a database
round-trip, and from an exported copy of the chain, so anyone can recompute a hash offline:

    sha256(json.dumps([1, seq, occurred_at, ..., prev_hash], sort_keys=True,
                      separators=(",", ":"), ensure_ascii=True, allow_nan=False))

``occurred_at`` is UTC ISO 8601 with microseconds and ``+00:00``. JSON values (before, after,
details) are normalised when written (``json_safe``) so that the database returns them
unchanged: PostgreSQL's jsonb turns ``1e20`` into ``100000000000000000000`` and rejects NUL
characters and NaN, so integral floats are stored as integers, NUL is dropped and non-finite
numbers become strings.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import re
from collections.abc import Iterable
from decimal import Decimal
from uuid import UUID

FORMAT_VERSION = 1
GENESIS_HASH = "0" * 64

# The fields an event's hash covers, in canonical order (database column names).
HASH_FIELDS = (
    "seq",
    "occurred_at",
    "actor_type",
    "actor_label",
    "actor_user_id",
    "action",
    "outcome",
    "object_type",
    "object_id",
    "object_repr",
    "service_slug",
    "message",
    "before",
    "after",
    "details",
    "request_id",
    "source_ip",
    "user_agent",
    "prev_hash",
)
JSON_FIELDS = frozenset({"before", "after", "details"})

_encode = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
).encode
_UTC = dt.UTC
_ZERO = dt.timedelta(0)
_NUL = re.compile("\x00")


def canonical_time(value: dt.datetime | str) -> str:
    """UTC ISO 8601 with microseconds (``2026-01-02T03:04:05.000006+00:00``).

    Accepts an aware datetime, a naive one (taken as UTC, as Django stores it on SQLite) or
    the text SQLite returns from a raw query.
    """
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    offset = value.utcoffset()
    if offset is None:
        value = value.replace(tzinfo=_UTC)
    elif offset != _ZERO or value.tzinfo is not _UTC:
        value = value.astimezone(_UTC)
    return value.isoformat(timespec="microseconds")


def hash_values(values: Iterable) -> str:
    """The hash of an event given its ``HASH_FIELDS`` values (occurred_at already canonical)."""
    blob = _encode([FORMAT_VERSION, *values])
    return hashlib.sha256(blob.encode("ascii")).hexdigest()


def clean_text(value: str, limit: int | None = None) -> str:
    """Text that PostgreSQL and SQLite both store unchanged: no NUL, valid UTF-8."""
    if "\x00" in value:
        value = _NUL.sub("", value)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates (e.g. from surrogateescape decoding)
        value = value.encode("utf-8", "replace").decode("utf-8")
    return value[:limit] if limit is not None else value


def json_safe(value):
    """``value`` as JSON data that survives a jsonb round-trip unchanged (see module doc)."""
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        return int(value) if value.is_integer() else value
    if isinstance(value, dict):
        return {clean_text(str(k)): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [json_safe(v) for v in value]
        return sorted(items, key=repr) if isinstance(value, set | frozenset) else items
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Decimal | UUID):
        return str(value)
    return clean_text(str(value))


def row_hash(row: tuple) -> str:
    """The hash of a row fetched with the columns of ``HASH_FIELDS`` from a raw cursor.

    This is the verifier's inner loop, so it avoids general-purpose conversions: JSON columns
    arrive as text on both backends (Django's PostgreSQL backend loads jsonb as text), and
    occurred_at as canonical text when the query formats it (see ``canonical_time_sql``),
    otherwise as a datetime or SQLite's text, which are converted here.
    """
    when = row[1]
    if when.__class__ is not str or len(when) != 32 or when[10] != "T":
        when = canonical_time(when)
    blob = _encode(
        [
            FORMAT_VERSION,
            row[0],
            when,
            *row[2:12],
            _load(row[12]),
            _load(row[13]),
            _load(row[14]),
            *row[15:19],
        ]
    )
    return hashlib.sha256(blob.encode("ascii")).hexdigest()


def _load(text):
    if text is None:
        return None
    if text == "{}":  # the common empty details: skip the parser
        return {}
    return json.loads(text)


def canonical_time_sql(column: str, vendor: str) -> str:
    """SQL that formats a timestamp column as ``canonical_time`` does, where the database
    can (PostgreSQL); saves the verifier a datetime object per row."""
    if vendor == "postgresql":
        return f"to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"')"
    return column


assert HASH_FIELDS.index("before") == 12 and HASH_FIELDS.index("prev_hash") == 18
