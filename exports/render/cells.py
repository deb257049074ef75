"""Turning report values into text, safely.

Spreadsheet applications execute a cell whose text starts with ``=``, ``+``, ``-`` or ``@``
(and some treat a leading tab or carriage return the same way): user-supplied text is
neutralised by prefixing an apostrophe, the OWASP recommendation, so it shows as typed.
"""

from __future__ import annotations

import datetime as dt
import re

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
# Characters XML 1.0 (and so XLSX) cannot hold.
_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def text(value) -> str:
    """A value as plain text: lists one per line, times in UTC ISO 8601."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC)
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return "\n".join(text(v) for v in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def neutralize(value: str) -> str:
    """Text a spreadsheet will show, never evaluate."""
    stripped = value.lstrip(" ")
    if stripped and (stripped[0] in FORMULA_TRIGGERS or value[0] in FORMULA_TRIGGERS):
        return "'" + value
    return value


def spreadsheet_cell(value):
    """A CSV/XLSX cell: numbers stay numbers, everything else is neutralised text."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    return neutralize(_ILLEGAL_XML.sub("", text(value)))


def json_value(value):
    if isinstance(value, dt.datetime | dt.date):
        return text(value)
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    return value
