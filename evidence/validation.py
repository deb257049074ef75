"""Checks on uploaded evidence: a safe name, a size limit, and content that matches the name.

The browser's declared content type is ignored: we sniff the first bytes and refuse a file
whose extension claims something else (a PDF named ``.png``, an executable named ``.txt``).
A ZIP, whatever its name, is inspected in memory and refused when it is damaged, encrypted,
unsafe or a possible zip bomb (``check_zip``). Other compressed formats (gzip, bzip2, xz) are
not accepted at all: they sniff as binary data, which no extension allows.
"""

from __future__ import annotations

import io
import json
import re
import stat
import struct
import unicodedata
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

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
    if found == "zip" or (found in _POLYGLOT_CARRIERS and _holds_zip(content)):
        check_zip(content)
    # JSON and XML are text too: a .txt holding JSON is fine, a .json holding prose is not.
    if found == expected or (expected == "text" and found in ("json", "xml")):
        return content_type
    raise DomainError(
        f"The file is named .{ext} but its content is {FAMILY_LABELS[found]}; "
        f"rename it or upload the right file.",
        details={"file": ["content does not match the name"]},
    )


# --- ZIP archives -------------------------------------------------------------------------
# A ZIP is opened in memory and every entry is inflated in bounded chunks, counting the bytes
# that really come out: the sizes an archive declares are only a first, cheap check, because a
# crafted bomb declares small sizes. Nothing is written to disk.
_ZIP_LOCAL_HEADER = struct.Struct("<4s5H3L2H")
_ZIP_LOCAL_SIGNATURE = b"PK\x03\x04"
_CHUNK_IN = 64 * 1024
_CHUNK_OUT = 1024 * 1024
# Small archives may compress far beyond the ratio limit (a page of blanks): the ratio only
# counts once the content expands past this.
RATIO_FLOOR_BYTES = 1024 * 1024
# What a decompressed entry starts with when it is itself an archive: those are refused, not
# inspected, since each level would multiply what a small upload costs to check.
_ARCHIVE_MAGIC: list[tuple[bytes, str]] = [
    (b"PK\x03\x04", "a ZIP archive"),
    (b"PK\x05\x06", "a ZIP archive"),
    (b"PK\x07\x08", "a ZIP archive"),
    (b"\x1f\x8b", "a gzip file"),
    (b"BZh", "a bzip2 file"),
    (b"\xfd7zXZ\x00", "an xz file"),
    (b"(\xb5/\xfd", "a zstd file"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!\x1a\x07", "a RAR archive"),
]
_DRIVE = re.compile(r"^[A-Za-z]:")
# Families whose files may carry a ZIP appended to them (a polyglot): inspected as well.
_POLYGLOT_CARRIERS = ("pdf", "png", "jpeg")


@dataclass(frozen=True)
class ZipLimits:
    max_entries: int
    max_bytes: int
    max_ratio: int

    @classmethod
    def from_settings(cls) -> ZipLimits:
        return cls(
            max_entries=int(getattr(settings, "EVIDENCE_ZIP_MAX_ENTRIES", 10_000)),
            max_bytes=int(getattr(settings, "EVIDENCE_ZIP_MAX_UNCOMPRESSED_BYTES", 100 << 20)),
            max_ratio=int(getattr(settings, "EVIDENCE_ZIP_MAX_RATIO", 100)),
        )

    def budget(self, archive_size: int) -> int:
        """How many bytes the archive may expand to: the size limit, or less for a small
        archive, whose ratio would pass the limit first."""
        by_ratio = max(RATIO_FLOOR_BYTES, self.max_ratio * archive_size)
        return min(self.max_bytes, by_ratio)


def _refuse_zip(message: str, problem: str) -> DomainError:
    return DomainError(f"The ZIP archive {message}", details={"file": [problem]})


def _shown(name: str) -> str:
    return repr(_CONTROL.sub("?", name)[:80])


def _ratio(expanded: int, archive_size: int) -> str:
    return f"{expanded // max(archive_size, 1):,}:1"


def _check_entry(info: zipfile.ZipInfo) -> None:
    name = info.filename
    parts = re.split(r"[/\\]", name)
    if name.startswith(("/", "\\")) or _DRIVE.match(name):
        raise _refuse_zip(
            f"holds an entry with an absolute path ({_shown(name)}): refused.", "unsafe entry"
        )
    if ".." in parts:
        raise _refuse_zip(
            f'holds an entry whose path climbs out with ".." ({_shown(name)}): refused.',
            "unsafe entry",
        )
    if stat.S_ISLNK(info.external_attr >> 16):
        raise _refuse_zip(f"holds a symbolic link ({_shown(name)}): refused.", "unsafe entry")
    if info.flag_bits & 0x41:  # traditional or strong encryption
        raise _refuse_zip(
            f"holds an encrypted entry ({_shown(name)}): encrypted archives are refused "
            "because the portal cannot check what they hold.",
            "encrypted archive",
        )
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise _refuse_zip(
            f"compresses {_shown(name)} with method {info.compress_type}; only stored and "
            "deflated entries are accepted.",
            "unsupported compression",
        )


def _check_declared(infos: list[zipfile.ZipInfo], archive_size: int, limits: ZipLimits) -> None:
    if len(infos) > limits.max_entries:
        raise _refuse_zip(
            f"holds {len(infos):,} entries; at most {limits.max_entries:,} are accepted.",
            "too many entries",
        )
    declared = sum(info.file_size for info in infos)
    if declared > limits.budget(archive_size):
        raise _refuse_zip(
            f"expands to {_human_size(declared)} (ratio {_ratio(declared, archive_size)}); "
            f"{_limit_text(limits)}: refused as a possible zip bomb.",
            "zip bomb",
        )


def _limit_text(limits: ZipLimits) -> str:
    return f"the limit is {_human_size(limits.max_bytes)} or {limits.max_ratio}:1"


def _entry_data(content: bytes, info: zipfile.ZipInfo) -> memoryview:
    """The entry's compressed bytes, located through its local header (whose name and extra
    field lengths may differ from the central directory's)."""
    start = info.header_offset
    header = content[start : start + _ZIP_LOCAL_HEADER.size]
    if len(header) < _ZIP_LOCAL_HEADER.size:
        raise zipfile.BadZipFile(f"entry {info.filename!r} lies outside the file")
    fields = _ZIP_LOCAL_HEADER.unpack(header)
    if fields[0] != _ZIP_LOCAL_SIGNATURE:
        raise zipfile.BadZipFile(f"bad local header for {info.filename!r}")
    name_length, extra_length = fields[9], fields[10]
    begin = start + _ZIP_LOCAL_HEADER.size + name_length + extra_length
    end = begin + info.compress_size
    if end > len(content):
        raise zipfile.BadZipFile(f"entry {info.filename!r} is truncated")
    return memoryview(content)[begin:end]


def _inflate(data: memoryview, compress_type: int) -> Iterator[bytes]:
    """Yield the entry's real content in chunks of at most ``_CHUNK_OUT`` bytes, trusting no
    declared size: a deflate stream is followed to its own end marker."""
    if compress_type == zipfile.ZIP_STORED:
        for pos in range(0, len(data), _CHUNK_OUT):
            yield bytes(data[pos : pos + _CHUNK_OUT])
        return
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    pos = 0
    while not inflater.eof:
        if inflater.unconsumed_tail:
            chunk = inflater.unconsumed_tail
        else:
            chunk = bytes(data[pos : pos + _CHUNK_IN])
            pos += len(chunk)
        out = inflater.decompress(chunk, _CHUNK_OUT)
        if not out and not chunk:
            raise zipfile.BadZipFile("a compressed entry ends before its data does")
        yield out


def _nested_kind(head: bytes) -> str | None:
    for magic, label in _ARCHIVE_MAGIC:
        if head.startswith(magic):
            return label
    return None


def _refuse_nested(info: zipfile.ZipInfo, head: bytes) -> None:
    kind = _nested_kind(head)
    if kind and not info.is_dir():
        raise _refuse_zip(
            f"holds {kind} ({_shown(info.filename)}); archives inside archives are refused "
            "rather than inspected: upload the inner files directly.",
            "nested archive",
        )


def _check_entries(content: bytes, infos: list[zipfile.ZipInfo], limits: ZipLimits) -> None:
    budget = limits.budget(len(content))
    expanded = 0
    for info in infos:
        crc, size, head = 0, 0, b""
        for out in _inflate(_entry_data(content, info), info.compress_type):
            size += len(out)
            expanded += len(out)
            if expanded > budget:
                # The declared sizes passed _check_declared: they understate the content.
                declared = sum(i.file_size for i in infos)
                raise _refuse_zip(
                    f"expands to more than {_human_size(budget)} (ratio over "
                    f"{_ratio(expanded, len(content))}) although its headers declare "
                    f"{_human_size(declared)}; {_limit_text(limits)}: refused as a possible "
                    "zip bomb.",
                    "zip bomb",
                )
            if len(head) < 8:
                head += out[: 8 - len(head)]
                if len(head) == 8:  # refuse a nested archive before inflating all of it
                    _refuse_nested(info, head)
            crc = zlib.crc32(out, crc)
        if len(head) < 8:
            _refuse_nested(info, head)
        if size != info.file_size or crc != info.CRC:
            raise zipfile.BadZipFile(f"{info.filename!r} does not match its recorded size or CRC")


def _holds_zip(content: bytes) -> bool:
    """True when ``content`` (a PDF or image) also reads as a ZIP with entries."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            return bool(archive.infolist())
    except (zipfile.BadZipFile, ValueError, EOFError, struct.error):
        return False


def check_zip(content: bytes, *, limits: ZipLimits | None = None) -> None:
    """Refuse a ZIP that is damaged, encrypted, holds unsafe entries (absolute or ``..``
    paths, symbolic links), nested archives, too many entries, or expands past the size or
    ratio limit (``EVIDENCE_ZIP_*`` settings). Inflates in memory, chunk by chunk, and stops
    at the first byte over the limit, so a bomb costs at most the limit to refuse."""
    limits = limits or ZipLimits.from_settings()
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            infos = archive.infolist()
        for info in infos:
            _check_entry(info)
        _check_declared(infos, len(content), limits)
        _check_entries(content, infos, limits)
    except (zipfile.BadZipFile, zlib.error, EOFError, ValueError, struct.error) as exc:
        raise _refuse_zip(
            f"is damaged ({str(exc)[:120]}): refused; check the file and upload it again.",
            "damaged archive",
        ) from None
