"""Checks on uploaded evidence: a safe name, a size limit, and content that matches the name.

The browser's declared content type is ignored: we sniff the first bytes and refuse a file
whose extension claims something else (a PDF named ``.png``, an executable named ``.txt``).
"""

from __future__ import annotations

import json
import re
import unicodedata

from django.conf import settings

from portal.errors import DomainError

# Extension → (content type we serve, sniffed family it must match).
ALLOWED_TYPES: dict[str, tuple[str, str]] = {
    "pdf": ("application/pdf", "pdf"),
    "png": ("image/png", "png"),
    "jpg": ("image/jpeg", "jpeg"),
    "jpeg": ("image/jpeg", "jpeg"),
    "zip": ("application/zip", "zip"),
    "json": ("application/json", "json"),
    "sarif": ("application/sarif+json", "json"),
    "xml": ("application/xml", "xml"),
    "txt": ("text/plain; charset=utf-8", "text"),
    "log": ("text/plain; charset=utf-8", "text"),
    "csv": ("text/csv; charset=utf-8", "text"),
    "md": ("text/markdown; charset=utf-8", "text"),
}
MAGIC: list[tuple[bytes, str]] = [
    (b"%PDF-", "pdf"),
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"PK\x03\x04", "zip"),
    (b"PK\x05\x06", "zip"),  # an empty archive
]
FAMILY_LABELS = {
    "pdf": "a PDF document",
    "png": "a PNG image",
    "jpeg": "a JPEG image",
    "zip": "a ZIP archive",
    "json": "JSON",
    "xml": "XML",
    "text": "plain text",
    "binary": "binary data of an unsupported type",
}
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# Text may hold tabs and line breaks; other C0 controls mark binary content.
_TEXT_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
MAX_NAME_LENGTH = 200


def max_upload_bytes() -> int:
    return int(getattr(settings, "EVIDENCE_MAX_UPLOAD_BYTES", 25 * 1024 * 1024))


def _human_size(n: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} bytes"  # pragma: no cover


def check_size(size: int) -> None:
    limit = max_upload_bytes()
    if size > limit:
        raise DomainError(
            f"The file is {_human_size(size)}; evidence files may be at most {_human_size(limit)}.",
            details={"file": ["too large"]},
        )
    if size == 0:
        raise DomainError("The file is empty.", details={"file": ["empty"]})


def clean_filename(name: str) -> str:
    """Return ``name`` if it is a plain file name; refuse paths and tricks with a message.

    We refuse rather than silently rewrite, so what the reviewer sees is what was uploaded.
    """
    name = unicodedata.normalize("NFC", name or "")
    if not name.strip():
        raise DomainError("The file needs a name.", details={"file": ["no name"]})
    problems = []
    if "/" in name or "\\" in name:
        problems.append("contains a path separator")
    if ".." in name:
        problems.append('contains ".."')
    if _CONTROL.search(name):
        problems.append("contains control characters")
    if name.startswith("."):
        problems.append("starts with a dot")
    if name != name.strip():
        problems.append("starts or ends with whitespace")
    if len(name) > MAX_NAME_LENGTH:
        problems.append(f"is longer than {MAX_NAME_LENGTH} characters")
    if problems:
        shown = _CONTROL.sub("?", name)[:80]
        raise DomainError(
            f"The file name {shown!r} is refused: it {' and '.join(problems)}.",
            details={"file": ["unsafe name"]},
        )
    return name


def extension_of(name: str) -> str:
    return name.rsplit(".", 1)[-1].lower() if "." in name else ""


def sniff(content: bytes) -> str:
    """The family of ``content`` judged by its bytes: pdf, png, jpeg, zip, json, xml, text
    or binary."""
    for magic, family in MAGIC:
        if content.startswith(magic):
            return family
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        return "binary"
    if _TEXT_CONTROL.search(text):
        return "binary"
    stripped = text.lstrip()
    if stripped.startswith("<"):
        return "xml"
    if stripped[:1] in ("{", "["):
        try:
            json.loads(text)
        except ValueError:
            return "text"
        return "json"
    return "text"


def content_type_for(name: str, content: bytes) -> str:
    """The content type to serve ``content`` with, if it matches its name; else refuse."""
    ext = extension_of(name)
    if ext not in ALLOWED_TYPES:
        allowed = ", ".join(f".{e}" for e in ALLOWED_TYPES)
        raise DomainError(
            f"Files of type {('.' + ext) if ext else '(no extension)'} are not accepted as "
            f"evidence. Accepted: {allowed}.",
            details={"file": ["unsupported type"]},
        )
    content_type, expected = ALLOWED_TYPES[ext]
    found = sniff(content)
    # JSON and XML are text too: a .txt holding JSON is fine, a .json holding prose is not.
    if found == expected or (expected == "text" and found in ("json", "xml")):
        return content_type
    raise DomainError(
        f"The file is named .{ext} but its content is {FAMILY_LABELS[found]}; "
        f"rename it or upload the right file.",
        details={"file": ["content does not match the name"]},
    )
