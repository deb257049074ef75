"""ZIP evidence is inspected before it is stored: bombs, nested archives, unsafe entries and
damaged or encrypted archives are refused with a message, and nothing is kept.

Limits are lowered per test (EVIDENCE_ZIP_* settings) so the bombs stay small and fast to build.
"""

from __future__ import annotations

import gzip
import io
import stat
import struct
import zipfile
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from audit.context import Actor
from audit.models import AuditEvent
from evidence import services, validation
from evidence.choices import CiEvidenceKind
from evidence.models import Evidence
from portal.errors import DomainError

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media")]

MiB = 1024 * 1024


@pytest.fixture
def small_limits(settings):
    settings.EVIDENCE_ZIP_MAX_UNCOMPRESSED_BYTES = 4 * MiB
    settings.EVIDENCE_ZIP_MAX_RATIO = 100
    settings.EVIDENCE_ZIP_MAX_ENTRIES = 10_000


def upload(user, service, name, content):
    return services.evidence_store_file(
        actor=Actor.for_user(user), service=service, uploaded_file=SimpleUploadedFile(name, content)
    )


def refused(user, service, name, content, media) -> DomainError:
    """Upload, expect a refusal, and check nothing was kept: no row, no blob, no audit."""
    with pytest.raises(DomainError) as caught:
        upload(user, service, name, content)
    assert not Evidence.objects.exists()
    assert not any(path.is_file() for path in media.rglob("*"))
    assert not AuditEvent.objects.filter(action="evidence.create").exists()
    return caught.value


def make_zip(entries: dict[str, bytes], compression=zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def zeros_stream(mebibytes: int) -> bytes:
    """A raw deflate stream of ``mebibytes`` MiB of zeros, built in milliseconds: one fully
    flushed block of compressed zeros, repeated (a full flush makes each copy independent)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    block = compressor.compress(b"\0" * MiB) + compressor.flush(zlib.Z_FULL_FLUSH)
    return block * mebibytes + compressor.flush()


def forged_bomb(mebibytes: int, declared: int) -> bytes:
    """One entry inflating to ``mebibytes`` MiB whose headers (local and central) declare
    ``declared`` bytes: written as a stored entry holding the deflate stream, then patched to
    say deflated with the forged size."""
    content = bytearray(make_zip({"report.txt": zeros_stream(mebibytes)}, zipfile.ZIP_STORED))
    central = content.index(b"PK\x01\x02")
    struct.pack_into("<H", content, 8, zipfile.ZIP_DEFLATED)  # local header: method
    struct.pack_into("<L", content, 22, declared)  # local header: uncompressed size
    struct.pack_into("<H", content, central + 10, zipfile.ZIP_DEFLATED)
    struct.pack_into("<L", content, central + 24, declared)
    return bytes(content)


def test_an_ordinary_zip_is_accepted(owner, service):
    content = make_zip(
        {
            "evidence/": b"",
            "evidence/load-test.csv": b"percentile,ms\np99,180\n" * 200,
            "evidence/report.pdf": b"%PDF-1.7\n%%EOF\n",
            "README.md": b"# Load test\n",
        }
    )

    evidence = upload(owner, service, "load-test.zip", content)

    assert evidence.content_type == "application/zip"
    assert evidence.size == len(content)
    assert AuditEvent.objects.filter(action="evidence.create", object_id=str(evidence.pk)).exists()


def test_a_small_highly_compressible_file_is_not_a_bomb(owner, service):
    """Below 1 MiB expanded, the ratio does not count: a page of blanks compresses 1000:1."""
    content = make_zip({"blank.txt": b" " * (512 * 1024)})
    assert 512 * 1024 / len(content) > 100

    assert upload(owner, service, "blank.zip", content).size == len(content)


def test_classic_bomb_is_refused_by_its_declared_size(owner, service, media, small_limits):
    content = make_zip({"zeros.bin": b"\0" * (16 * MiB)})

    error = refused(owner, service, "bundle.zip", content, media)

    assert error.message.startswith("The ZIP archive expands to 16.0 MB (ratio ")
    assert "the limit is 4.0 MB or 100:1: refused as a possible zip bomb" in error.message
    assert error.details == {"file": ["zip bomb"]}


def test_a_bomb_under_the_size_limit_is_refused_by_its_ratio(owner, service, media):
    content = make_zip({"zeros.bin": b"\0" * (3 * MiB)})  # about 1000:1, under 100 MiB

    error = refused(owner, service, "bundle.zip", content, media)

    assert "expands to 3.0 MB" in error.message and "100:1" in error.message


def test_a_bomb_with_forged_small_sizes_is_caught_while_inflating(
    owner, service, media, small_limits, monkeypatch
):
    """The headers say 1000 bytes; the entry inflates to 1 GiB. Inflation stops at the limit."""
    content = forged_bomb(1024, declared=1000)
    assert len(content) < 1100 * 1024
    inflated = []
    real_inflate = validation._inflate

    def counting(data, compress_type):
        for chunk in real_inflate(data, compress_type):
            inflated.append(len(chunk))
            yield chunk

    monkeypatch.setattr(validation, "_inflate", counting)

    error = refused(owner, service, "bundle.zip", content, media)

    assert "expands to more than 4.0 MB" in error.message
    assert "although its headers declare 1000 bytes" in error.message
    assert "refused as a possible zip bomb" in error.message
    assert sum(inflated) <= 4 * MiB + validation._CHUNK_OUT  # stopped, not 1 GiB


def test_a_declared_gigabyte_is_refused_without_inflating(owner, service, media, monkeypatch):
    monkeypatch.setattr(validation, "_inflate", lambda *a: pytest.fail("inflated"))

    error = refused(owner, service, "bundle.zip", forged_bomb(1, declared=1024 * MiB), media)

    assert "expands to 1.0 GB" in error.message


def test_a_bomb_is_refused_whatever_its_name(owner, service, media, small_limits):
    """Sniffed by its bytes: named .txt, it is still inspected (and refused as a bomb)."""
    error = refused(owner, service, "notes.txt", forged_bomb(64, declared=10), media)

    assert "zip bomb" in error.message


def test_a_bomb_appended_to_a_pdf_is_refused(owner, service, media, small_limits):
    content = b"%PDF-1.7\n%%EOF\n" + make_zip({"zeros.bin": b"\0" * (8 * MiB)})

    error = refused(owner, service, "report.pdf", content, media)

    assert "zip bomb" in error.message


def test_a_pdf_without_an_archive_is_not_inspected(owner, service):
    assert upload(owner, service, "report.pdf", b"%PDF-1.7\nPK\x05\x06 in text\n%%EOF\n")


@pytest.mark.parametrize(
    "inner_name, inner, kind",
    [
        ("inner.zip", make_zip({"a.txt": b"a"}), "a ZIP archive"),
        ("logs.txt", make_zip({"a.txt": b"a"}), "a ZIP archive"),
        ("logs.gz", gzip.compress(b"log line\n" * 100), "a gzip file"),
    ],
    ids=["zip", "zip-named-txt", "gzip"],
)
def test_nested_archives_are_refused(owner, service, media, inner_name, inner, kind):
    content = make_zip({"readme.txt": b"outer", inner_name: inner})

    error = refused(owner, service, "bundle.zip", content, media)

    assert error.message == (
        f"The ZIP archive holds {kind} ({inner_name!r}); archives inside archives are refused "
        "rather than inspected: upload the inner files directly."
    )


@pytest.mark.parametrize(
    "entry, problem",
    [
        ("../../etc/cron.d/evil", 'climbs out with ".."'),
        ("reports/../../evil.txt", 'climbs out with ".."'),
        ("reports\\..\\..\\evil.txt", 'climbs out with ".."'),
        ("/etc/passwd", "absolute path"),
        ("C:\\Windows\\evil.dll", "absolute path"),
    ],
)
def test_entries_with_traversal_or_absolute_names_are_refused(
    owner, service, media, entry, problem
):
    error = refused(owner, service, "bundle.zip", make_zip({entry: b"x"}), media)

    assert problem in error.message
    assert error.details == {"file": ["unsafe entry"]}


def test_symbolic_links_are_refused(owner, service, media):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        link = zipfile.ZipInfo("config")
        link.create_system = 3
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, "/etc/shadow")

    error = refused(owner, service, "bundle.zip", buffer.getvalue(), media)

    assert "holds a symbolic link ('config')" in error.message


def test_encrypted_archives_are_refused(owner, service, media):
    content = bytearray(make_zip({"secret.txt": b"x" * 100}))
    for offset in (6, content.index(b"PK\x01\x02") + 8):  # general purpose flags: encrypted
        struct.pack_into("<H", content, offset, 0x1)

    error = refused(owner, service, "bundle.zip", bytes(content), media)

    assert "encrypted archives are refused" in error.message


def test_too_many_entries_are_refused(owner, service, media, settings):
    settings.EVIDENCE_ZIP_MAX_ENTRIES = 5

    error = refused(
        owner, service, "bundle.zip", make_zip({f"{i}.txt": b"x" for i in range(6)}), media
    )

    assert "holds 6 entries; at most 5 are accepted" in error.message


@pytest.mark.parametrize("damage", ["truncated", "bad crc", "broken deflate"])
def test_damaged_archives_are_refused(owner, service, media, damage):
    content = bytearray(make_zip({"a.txt": b"evidence line\n" * 50}, zipfile.ZIP_DEFLATED))
    data_start = 30 + len("a.txt")
    if damage == "truncated":
        content = content[: len(content) // 2]
    elif damage == "bad crc":
        content[14] ^= 0xFF  # local CRC is not checked; the central one is
        content[content.index(b"PK\x01\x02") + 16] ^= 0xFF
    else:
        content[data_start : data_start + 4] = b"\xff\xff\xff\xff"

    error = refused(owner, service, "bundle.zip", bytes(content), media)

    assert error.message.startswith("The ZIP archive is damaged (")
    assert error.details == {"file": ["damaged archive"]}


def test_gzip_is_not_accepted_at_all(owner, service, media):
    bomb = gzip.compress(b"\0" * MiB)

    assert (
        "Files of type .gz are not accepted"
        in refused(owner, service, "logs.gz", bomb, media).message
    )
    assert "binary data" in refused(owner, service, "logs.txt", bomb, media).message


def test_ci_uploads_are_inspected_too(service, media, small_limits):
    with pytest.raises(DomainError, match="zip bomb"):
        services.evidence_from_ci(
            actor=Actor.system("ci"),
            service=service,
            kind=CiEvidenceKind.OTHER,
            content=forged_bomb(64, declared=10),
            filename="results.zip",
        )
    assert not Evidence.objects.exists()


def test_api_refusal_explains_the_bomb(client_for, owner, service, small_limits):
    response = client_for(owner).post(
        "/api/v1/evidence/",
        {
            "service": service.slug,
            "file": SimpleUploadedFile("bundle.zip", make_zip({"z": b"\0" * (16 * MiB)})),
        },
    )

    assert response.status_code == 400
    error = response.json()["error"]
    assert "refused as a possible zip bomb" in error["message"]
    assert error["details"] == {"file": ["zip bomb"]}
    assert not Evidence.objects.exists()
