"""Hostile input comes out inert.

Already covered elsewhere and not repeated here: formula neutralisation in CSV/XLSX exports
(exports/render/cells.py, tests/exports), traversal names, mislabelled content and oversized
uploads (tests/evidence/test_evidence.py), redaction of secrets (tests/collection canary).
This file adds: HTML/ANSI/CR-LF payloads in a free-text field through pages and the JSON log,
and the upload shapes those tests do not try (polyglot, zip bomb: refused before storage).
"""

from __future__ import annotations

import io
import json
import logging
import re
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from audit.context import Actor
from audit.models import AuditEvent
from evidence import services as evidence_services
from evidence.models import Evidence
from portal.errors import DomainError

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media")]

PAYLOADS = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "\x1b[31mred\x1b[0m",
    "line\r\nX-Injected: yes",
    '=HYPERLINK("http://evil.example","x")',
]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_free_text_is_escaped_in_pages(client, owner, service, payload):
    service.name = f"Payments {payload}"
    service.save()
    client.force_login(owner)

    for url in ("/services/", f"/services/{service.slug}/", "/dashboard/", "/search/?q=Payments"):
        body = client.get(url).content.decode()
        assert "<script>alert(1)</script>" not in body, url
        assert "<img src=x onerror" not in body, url


def test_log_lines_stay_one_line_and_escape_control_characters():
    """The JSON formatter escapes CR, LF and ESC: an injected header or log line stays data."""
    from pythonjsonlogger.json import JsonFormatter

    formatter = JsonFormatter("%(message)s")
    record = logging.LogRecord(
        "t", logging.WARNING, __file__, 1, PAYLOADS[3] + PAYLOADS[2], (), None
    )

    line = formatter.format(record)

    assert "\n" not in line and "\r" not in line and "\x1b" not in line
    assert json.loads(line)["message"] == PAYLOADS[3] + PAYLOADS[2]


def test_audit_message_keeps_payloads_as_data(owner, service):
    from audit.services import audit_record

    event = audit_record(actor=Actor.for_user(owner), action="test.hostile", message=PAYLOADS[3])

    stored = AuditEvent.objects.get(pk=event.pk)
    assert stored.message == PAYLOADS[3]  # kept verbatim (evidence), rendered escaped
    assert stored.hash == stored.compute_hash()


def _upload(owner, service, name, content):
    return evidence_services.evidence_store_file(
        actor=Actor.for_user(owner),
        service=service,
        uploaded_file=SimpleUploadedFile(name, content),
    )


def test_html_polyglot_named_as_image_is_refused(owner, service):
    with pytest.raises(DomainError):
        _upload(owner, service, "shot.png", b"<html><script>alert(1)</script></html>")


def test_pdf_zip_polyglot_named_zip_is_refused(owner, service):
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("a.txt", "x")
    with pytest.raises(DomainError):
        _upload(owner, service, "bundle.zip", b"%PDF-1.7\n%%EOF\n" + archive.getvalue())


def test_zip_bomb_is_refused_and_nothing_is_stored(owner, service, tmp_path):
    """A ZIP is inspected before it is stored (evidence/validation.check_zip, more cases in
    tests/evidence/test_zip_archives.py): with the default limits a 50 MB bomb of zeros is
    refused for its 1000:1 ratio, with a message the uploader can read."""
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("zeros.bin", b"\x00" * (50 * 1024 * 1024))
    content = archive.getvalue()
    assert len(content) < 100_000

    with pytest.raises(DomainError) as caught:
        _upload(owner, service, "bomb.zip", content)

    assert re.fullmatch(
        r"The ZIP archive expands to 50\.0 MB \(ratio 1,0\d\d:1\); the limit is 100\.0 MB or "
        r"100:1: refused as a possible zip bomb\.",
        caught.value.message,
    )
    assert not Evidence.objects.exists()
    assert not any(path.is_file() for path in tmp_path.rglob("*"))
