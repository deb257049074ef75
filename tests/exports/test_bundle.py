"""The evidence bundle verifies offline, and every kind of tampering is caught and named."""

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from django.conf import settings

from audit.chain import FORMAT_VERSION, HASH_FIELDS
from audit.context import Actor
from audit.models import AuditEvent
from audit.services import audit_record
from exports import reports, verify
from exports.render.bundle import write_bundle
from portal import signing

pytestmark = pytest.mark.django_db
REPO = Path(settings.BASE_DIR)


@pytest.fixture
def bundle(approved_review, tmp_path) -> Path:
    path = tmp_path / "bundle.zip"
    with open(path, "wb") as out:
        write_bundle(reports.review_report(approved_review), out, created_by="auditor")
    return path


def rewrite(src: Path, dst: Path, *, change=None, drop=(), add=None) -> Path:
    """Copy a bundle, changing (name -> function(bytes) -> bytes), dropping or adding files."""
    change = change or {}
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            if info.filename in drop:
                continue
            data = zin.read(info.filename)
            if info.filename in change:
                data = change[info.filename](data)
            zout.writestr(info.filename, data)
        for name, data in (add or {}).items():
            zout.writestr(name, data)
    return dst


def manifest_of(path: Path) -> dict:
    with zipfile.ZipFile(path) as zf:
        return json.loads(zf.read("manifest.json"))


def evidence_path(path: Path) -> str:
    return next(f["path"] for f in manifest_of(path)["files"] if f["role"] == "evidence")


def test_bundle_holds_reports_evidence_audit_and_signature(bundle, approved_review):
    manifest = manifest_of(bundle)
    paths = {f["path"] for f in manifest["files"]}
    assert {
        "reports/report.pdf",
        "reports/matrix.xlsx",
        "reports/matrix.csv",
        "reports/report.json",
        "audit/events.jsonl",
    } <= paths
    shas = {e.sha256 for item in approved_review.items.all() for e in item.evidence.all()}
    assert {f"evidence/{sha}" for sha in shas} <= paths
    assert manifest["signing"]["key_id"] == signing.key_id()
    assert manifest["audit"]["in_scope"] == 3
    with zipfile.ZipFile(bundle) as zf:
        assert {"manifest.json", "manifest.json.sig", "public_key.pem"} <= set(zf.namelist())


def test_untouched_bundle_verifies_with_the_published_key(bundle):
    result = verify.verify_bundle(str(bundle), public_key_pem=signing.public_key_pem().encode())
    assert result.ok, result.problems
    assert result.audit_events == 3
    assert result.key_id == signing.key_id()


def test_changed_report_is_named(bundle, tmp_path):
    bad = rewrite(bundle, tmp_path / "bad.zip", change={"reports/matrix.csv": lambda b: b + b"x"})
    result = verify.verify_bundle(str(bad))
    assert not result.ok
    assert result.files_named("CHANGED") == ["reports/matrix.csv"]


def test_changed_evidence_file_is_named(bundle, tmp_path):
    target = evidence_path(bundle)
    bad = rewrite(bundle, tmp_path / "bad.zip", change={target: lambda b: b"forged"})
    assert verify.verify_bundle(str(bad)).files_named("CHANGED") == [target]


def test_removed_evidence_file_is_named(bundle, tmp_path):
    target = evidence_path(bundle)
    bad = rewrite(bundle, tmp_path / "bad.zip", drop={target})
    result = verify.verify_bundle(str(bad))
    assert result.files_named("REMOVED") == [target]
    assert result.files_named("CHANGED") == []


def test_added_file_is_named(bundle, tmp_path):
    bad = rewrite(bundle, tmp_path / "bad.zip", add={"evidence/extra.txt": b"planted"})
    assert verify.verify_bundle(str(bad)).files_named("ADDED") == ["evidence/extra.txt"]


@pytest.mark.filterwarnings("ignore:Duplicate name")
def test_duplicate_entry_shadowing_a_file_is_named(bundle, tmp_path):
    bad = rewrite(bundle, tmp_path / "bad.zip", add={"reports/matrix.csv": b"shadow"})
    assert "reports/matrix.csv" in verify.verify_bundle(str(bad)).files_named("ADDED")


def test_manifest_edited_to_match_a_forgery_fails_the_signature(bundle, tmp_path):
    def forge(data):
        manifest = json.loads(data)
        manifest["files"][0]["sha256"] = "0" * 64
        return json.dumps(manifest).encode()

    bad = rewrite(bundle, tmp_path / "bad.zip", change={"manifest.json": forge})
    result = verify.verify_bundle(str(bad))
    assert "manifest.json" in result.files_named("CHANGED")


def test_bundle_signed_by_another_key_fails_with_the_published_key(bundle, tmp_path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    other = Ed25519PrivateKey.generate().public_key()
    pem = other.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    result = verify.verify_bundle(str(bundle), public_key_pem=pem)
    assert result.files_named("CHANGED") == ["manifest.json"]


def _edit_audit(edit):
    def change(data):
        lines = [json.loads(line) for line in data.splitlines()]
        edit(lines)
        return b"".join(json.dumps(line).encode() + b"\n" for line in lines)

    return change


def test_edited_audit_event_is_named_with_its_sequence(bundle, tmp_path):
    def edit(lines):
        lines[1]["message"] = "nothing to see"

    bad = rewrite(bundle, tmp_path / "bad.zip", change={"audit/events.jsonl": _edit_audit(edit)})
    result = verify.verify_bundle(str(bad))
    assert result.files_named("CHANGED") == ["audit/events.jsonl"]
    assert any("content does not match its hash" in p for p in result.problems)


def test_deleted_audit_event_breaks_the_chain(bundle, tmp_path):
    def edit(lines):
        del lines[1]

    bad = rewrite(bundle, tmp_path / "bad.zip", change={"audit/events.jsonl": _edit_audit(edit)})
    problems = verify.verify_bundle(str(bad)).problems
    assert any("audit/events.jsonl" in p and "gap or reorder" in p for p in problems)


def test_events_of_other_scopes_inside_the_segment_are_hashes_only(
    approved_review, other_service, outsider, tmp_path
):
    first = AuditEvent.objects.filter(object_type="reviews.review").order_by("seq").first()
    # Another team's event lands between this review's events.
    audit_record(
        actor=Actor.for_user(outsider),
        action="service.update",
        obj=other_service,
        message="secret plans",
        service_slug=other_service.slug,
    )
    audit_record(actor=Actor.system(), action="review.expire", obj=approved_review)
    path = tmp_path / "b.zip"
    with open(path, "wb") as out:
        write_bundle(reports.review_report(approved_review), out)
    with zipfile.ZipFile(path) as zf:
        lines = [json.loads(x) for x in zf.read("audit/events.jsonl").splitlines()]
    assert lines[0]["seq"] == first.seq
    stub = next(line for line in lines if not line["in_scope"])
    assert set(stub) == {"seq", "prev_hash", "hash", "in_scope"}
    assert b"secret plans" not in zipfile.ZipFile(path).read("audit/events.jsonl")
    assert verify.verify_bundle(str(path)).ok


def test_verifier_hash_matches_the_audit_chain(approved_review):
    assert verify.HASH_FIELDS == HASH_FIELDS
    assert verify.CHAIN_FORMAT_VERSION == FORMAT_VERSION
    events = list(AuditEvent.objects.order_by("seq"))
    assert events
    for event in events:
        exported = json.loads(json.dumps(event.canonical_payload()))
        assert verify.event_hash(exported) == event.hash


def test_cli_verifies_offline_without_django(bundle, tmp_path):
    key = tmp_path / "portal.pem"
    key.write_text(signing.public_key_pem())
    code = (
        f"import sys, runpy; sys.argv = ['verify', {str(bundle)!r}, '--public-key', {str(key)!r}]\n"
        "try:\n    runpy.run_module('exports.verify', run_name='__main__')\n"
        "except SystemExit as e:\n"
        "    assert 'django' not in sys.modules, 'verify imported Django'\n"
        "    raise\n"
    )
    ok = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert ok.stdout.strip().splitlines()[-1].startswith("OK: signature valid")

    bad = rewrite(bundle, tmp_path / "bad.zip", drop={"reports/report.pdf"})
    failed = subprocess.run(
        [sys.executable, "-m", "exports.verify", str(bad)], cwd=REPO, capture_output=True, text=True
    )
    assert failed.returncode == 1
    assert "REMOVED: reports/report.pdf" in failed.stdout


def test_cli_reports_an_unreadable_bundle(tmp_path):
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"not a zip")
    result = subprocess.run(
        [sys.executable, "-m", "exports.verify", str(junk)], cwd=REPO, capture_output=True
    )
    assert result.returncode == 2
