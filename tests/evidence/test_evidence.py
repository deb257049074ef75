"""Evidence: content-addressed, immutable, refused when unsafe, downloaded safely."""

from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from audit.context import Actor
from audit.models import AuditEvent
from evidence import services
from evidence.models import Evidence
from portal.errors import DomainError
from tests.factories import EvidenceFactory

pytestmark = pytest.mark.usefixtures("media")

PDF = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n%%EOF\n"


def upload(actor_user, service, name, content, **kwargs):
    return services.evidence_store_file(
        actor=Actor.for_user(actor_user),
        service=service,
        uploaded_file=SimpleUploadedFile(name, content),
        **kwargs,
    )


def test_upload_is_stored_under_its_sha256(owner, service):
    evidence = upload(owner, service, "pentest.pdf", PDF)
    assert evidence.storage_name == f"evidence/{evidence.sha256[:2]}/{evidence.sha256[2:]}"
    assert default_storage.open(evidence.storage_name).read() == PDF
    assert (evidence.content_type, evidence.size) == ("application/pdf", len(PDF))
    assert (evidence.source_type, evidence.produced_by) == ("user", owner)
    event = AuditEvent.objects.get(action="evidence.create")
    assert event.after["sha256"] == evidence.sha256


def test_same_content_is_stored_once_and_referenced_twice(owner, teammate, service):
    first = upload(owner, service, "a.pdf", PDF)
    second = upload(teammate, service, "b.pdf", PDF)
    assert first.pk != second.pk and first.storage_name == second.storage_name
    folder = first.storage_name.rsplit("/", 1)[0]
    assert default_storage.listdir(folder)[1] == [first.sha256[2:]]


@pytest.mark.parametrize(
    "name, problem",
    [
        ("../../etc/passwd.txt", "path separator"),
        ("..\\boot.ini.txt", "path separator"),
        ("report..txt", '".."'),
        (".env.txt", "starts with a dot"),
        ("rep\x00ort.txt", "control characters"),
        ("line\nbreak.txt", "control characters"),
    ],
)
def test_names_with_path_tricks_are_refused(owner, service, name, problem):
    raw = SimpleUploadedFile("x.txt", b"hello")
    raw._name = name  # as given by a client, before any framework clean-up
    with pytest.raises(DomainError, match=problem):
        services.evidence_store_file(
            actor=Actor.for_user(owner), service=service, uploaded_file=raw
        )
    with pytest.raises(DomainError, match=problem):
        services.evidence_from_ci(
            actor=Actor(type="ci", label="ci"),
            service=service,
            kind="other",
            content=b"hello",
            filename=name,
        )
    assert not Evidence.objects.exists()


def test_html_upload_with_traversal_name_cannot_escape_storage(client_for, owner, draft):
    from tests.reviews.conftest import item_for

    item = item_for(draft, "PRR-SEC-001")
    upload_file = SimpleUploadedFile("x.txt", b"hello")
    upload_file._name = "../../../../tmp/evil.txt"
    response = client_for(owner).post(
        reverse("reviews:item_upload", args=[draft.pk, item.pk]), {"file": upload_file}
    )
    assert response.status_code == 302
    stored = Evidence.objects.get()
    # Django's multipart parser keeps only the base name; storage is by hash regardless.
    assert stored.original_filename == "evil.txt"
    assert stored.storage_name.startswith("evidence/")


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("scan.pdf", b"\x89PNG\r\n\x1a\nxxxx", "named .pdf but its content is a PNG image"),
        ("notes.txt", b"MZ\x90\x00\x03\x00\x00\x00", "binary data"),
        ("results.json", b"not json at all", "named .json but its content is plain text"),
        ("tool.exe", b"MZ\x90\x00", "Files of type .exe are not accepted"),
        ("archive.zip", PDF, "named .zip but its content is a PDF"),
    ],
)
def test_content_that_does_not_match_the_name_is_refused(owner, service, name, content, message):
    with pytest.raises(DomainError, match=message):
        upload(owner, service, name, content)
    assert not Evidence.objects.exists()


@pytest.mark.parametrize(
    "name, content, content_type",
    [
        ("shot.png", b"\x89PNG\r\n\x1a\n\x00\x00", "image/png"),
        ("photo.jpg", b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/jpeg"),
        ("bundle.zip", b"PK\x05\x06" + b"\x00" * 18, "application/zip"),
        ("scan.sarif", b'{"version": "2.1.0", "runs": []}', "application/sarif+json"),
        ("junit.xml", b'<?xml version="1.0"?><testsuite/>', "application/xml"),
        ("matrix.csv", b"control,outcome\nPRR-1,pass\n", "text/csv; charset=utf-8"),
        ("runbook.md", "# Runbook — étape 1\n".encode(), "text/markdown; charset=utf-8"),
    ],
)
def test_accepted_types(owner, service, name, content, content_type):
    assert upload(owner, service, name, content).content_type == content_type


def test_upload_over_the_limit_is_refused(owner, service, settings):
    settings.EVIDENCE_MAX_UPLOAD_BYTES = 10
    with pytest.raises(DomainError, match="evidence files may be at most 10 bytes"):
        upload(owner, service, "big.txt", b"x" * 11)
    assert not Evidence.objects.exists()


@pytest.mark.parametrize("who", ["outsider", "sre", "auditor"])
def test_only_the_owning_team_uploads(who, cast, service):
    with pytest.raises(DomainError) as exc:
        upload(cast[who], service, "a.pdf", PDF)
    assert exc.value.code == "not_allowed"
    assert not Evidence.objects.exists()
    # The refusal is on the record, like the review workflow's refusals.
    denied = AuditEvent.objects.get(action="evidence.create")
    assert (denied.outcome, denied.actor_user, denied.service_slug) == (
        "denied",
        cast[who],
        service.slug,
    )
    assert "may upload evidence" in denied.message


def test_link_evidence_hashes_the_url(owner, service):
    evidence = services.evidence_add_link(
        actor=Actor.for_user(owner), service=service, url="https://grafana.example.com/d/1"
    )
    assert evidence.kind == "link" and len(evidence.sha256) == 64
    with pytest.raises(DomainError, match="full http"):
        services.evidence_add_link(
            actor=Actor.for_user(owner), service=service, url="javascript:alert(1)"
        )


def test_ci_upload_records_commit_and_kind(service):
    actor = Actor(type="ci", label="ci acme/payments-api run 7")
    evidence = services.evidence_from_ci(
        actor=actor,
        service=service,
        kind="sarif",
        content=b'{"runs": []}',
        filename="scan.sarif",
        commit_sha="ABCDEF1",
        metadata={"tool": "semgrep"},
    )
    assert (evidence.kind, evidence.source_type, evidence.commit_sha) == ("ci", "ci", "abcdef1")
    assert evidence.metadata == {"tool": "semgrep", "ci_kind": "sarif"}
    with pytest.raises(DomainError, match="Unknown CI evidence kind"):
        services.evidence_from_ci(
            actor=actor, service=service, kind="exe", content=b"x", filename="a.txt"
        )


def test_evidence_is_never_updated_or_deleted(service):
    evidence = EvidenceFactory(service=service)
    evidence.title = "changed"
    with pytest.raises(TypeError):
        evidence.save()
    with pytest.raises(TypeError):
        evidence.delete()
    with pytest.raises(TypeError):
        Evidence.objects.filter(pk=evidence.pk).update(title="changed")
    with pytest.raises(TypeError):
        Evidence.objects.all().delete()


def test_database_trigger_refuses_update_and_delete(postgres_only, service):
    from django.db import DatabaseError, connection, transaction

    evidence = EvidenceFactory(service=service)
    for sql in (
        "UPDATE evidence_evidence SET title = 'x' WHERE id = %s",
        "DELETE FROM evidence_evidence WHERE id = %s",
    ):
        with (
            pytest.raises(DatabaseError, match="immutable"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql, [evidence.pk])
    assert Evidence.objects.get(pk=evidence.pk).title == evidence.title


def test_freshness(service):
    now = timezone.now()
    evidence = EvidenceFactory(service=service, collected_at=now - timedelta(days=10))
    assert evidence.is_fresh(now, 30)
    assert not evidence.is_fresh(now, 7)
    hard = EvidenceFactory(
        service=service, collected_at=now - timedelta(days=1), expires_at=now - timedelta(hours=1)
    )
    assert not hard.is_fresh(now, 30)


def test_integrity_verification_detects_tampering(owner, service):
    evidence = upload(owner, service, "a.pdf", PDF)
    assert services.evidence_verify(evidence=evidence)
    with open(default_storage.path(evidence.storage_name), "wb") as handle:
        handle.write(b"%PDF-tampered")
    assert not services.evidence_verify(evidence=evidence)


def test_download_is_an_attachment_with_nosniff(client_for, owner, auditor, service):
    evidence = upload(owner, service, "pentest.pdf", PDF)
    response = client_for(auditor).get(reverse("evidence:download", args=[evidence.pk]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF
    assert response["Content-Disposition"].startswith('attachment; filename="pentest.pdf"')
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Type"] == "application/pdf"
    assert AuditEvent.objects.filter(action="evidence.download", actor_label="auditor").exists()


def test_outsider_cannot_download_or_see_evidence(client_for, owner, outsider, service):
    evidence = upload(owner, service, "pentest.pdf", PDF)
    client = client_for(outsider)
    assert client.get(reverse("evidence:download", args=[evidence.pk])).status_code == 404
    assert client.get(evidence.get_absolute_url()).status_code == 404


def test_detail_page_verifies_integrity(client_for, owner, service):
    evidence = upload(owner, service, "pentest.pdf", PDF)
    body = client_for(owner).get(evidence.get_absolute_url() + "?verify=1").content.decode()
    assert "Integrity verified" in body and evidence.sha256 in body
