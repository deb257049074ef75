"""Signed checkpoints of the chain head, stored outside the database."""

import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from audit import checkpoints
from audit.context import Actor
from audit.models import AuditEvent
from audit.services import (
    AuditChainBroken,
    audit_checkpoint_latest,
    audit_checkpoint_write,
    audit_record,
    audit_verify,
)
from audit.storage import CheckpointS3Storage
from audit.tasks import audit_checkpoint


def _record(n):
    for i in range(n):
        audit_record(actor=Actor.system("test"), action=f"test.{i}")


def test_checkpoint_signs_the_head_and_is_the_latest(db, checkpoint_folder):
    _record(3)
    written = audit_checkpoint_write()
    head = AuditEvent.objects.get(seq=3)
    assert (written.seq, written.hash) == (3, head.hash)
    latest = audit_checkpoint_latest()
    assert latest == written
    assert latest.signature_valid
    stored = json.loads((checkpoint_folder / written.name).read_text())
    assert stored["seq"] == 3 and stored["hash"] == head.hash and stored["signature"]


def test_newest_checkpoint_wins_and_links_to_the_previous(db):
    _record(2)
    first = audit_checkpoint_write()
    _record(2)
    second = audit_checkpoint_write()
    latest = audit_checkpoint_latest()
    assert latest.name == second.name
    assert (latest.seq, latest.previous) == (4, first.name)


def test_checkpoint_names_are_never_reused(db):
    _record(1)
    names = {audit_checkpoint_write().name for _ in range(3)}
    assert len(names) == 3


def test_forged_checkpoint_is_rejected(db, checkpoint_folder):
    _record(3)
    written = audit_checkpoint_write()
    path = checkpoint_folder / written.name
    doc = json.loads(path.read_text())
    doc["seq"] = 2  # an attacker hiding event 3 would need to re-sign
    path.write_text(json.dumps(doc))
    forged = audit_checkpoint_latest()
    assert not forged.signature_valid
    result = audit_verify(checkpoint=forged)
    assert not result.ok and "invalid signature" in result.reason


def test_checkpoint_is_refused_over_a_broken_chain(db):
    _record(3)
    audit_checkpoint_write()
    _record(2)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER USER")
        cursor.execute("UPDATE audit_auditevent SET message = 'x' WHERE seq = 4")
    with pytest.raises(AuditChainBroken) as excinfo:
        audit_checkpoint_write()
    assert excinfo.value.result.first_bad_seq == 4
    assert audit_checkpoint_latest().seq == 3
    with pytest.raises(CommandError, match="event #4"):
        call_command("audit_checkpoint")


def test_beat_task_writes_a_checkpoint(db):
    _record(2)
    assert audit_checkpoint.delay().get() == {
        "seq": 2,
        "hash": AuditEvent.objects.get(seq=2).hash,
        "name": audit_checkpoint_latest().name,
    }


def test_empty_chain_checkpoint_is_the_genesis(db):
    written = audit_checkpoint_write()
    assert written.seq == 0
    assert audit_verify(checkpoint=written).ok


def test_unreadable_checkpoint_is_an_error(db, checkpoint_folder):
    folder = checkpoint_folder / "2030" / "01" / "01"
    folder.mkdir(parents=True)
    (folder / "000000000000Z-1.json").write_text("{not json")
    with pytest.raises(ValueError, match="unreadable"):
        checkpoints.latest()


def test_s3_checkpoints_are_object_locked():
    storage = CheckpointS3Storage(bucket_name="audit", object_lock_retention_days=30)
    params = storage.get_object_parameters("2026/01/01/x.json")
    assert params["ObjectLockMode"] == "COMPLIANCE"
    assert params["ObjectLockRetainUntilDate"] is not None


def test_checkpoints_round_trip_through_an_object_locked_s3_bucket(db, settings, monkeypatch):
    boto3 = pytest.importorskip("boto3")
    moto = pytest.importorskip("moto")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with moto.mock_aws():
        s3 = boto3.client("s3", region_name="eu-west-1")
        s3.create_bucket(
            Bucket="prr-audit",
            CreateBucketConfiguration={"LocationConstraint": "eu-west-1"},
            ObjectLockEnabledForBucket=True,
        )
        settings.STORAGES = {
            **settings.STORAGES,
            "audit_checkpoints": {
                "BACKEND": "audit.storage.CheckpointS3Storage",
                "OPTIONS": {
                    "bucket_name": "prr-audit",
                    "region_name": "eu-west-1",
                    "location": "audit-checkpoints",
                    "file_overwrite": False,
                    "default_acl": None,
                },
            },
        }
        _record(2)
        written = audit_checkpoint_write()
        assert audit_checkpoint_latest() == written
        key = f"audit-checkpoints/{written.name}"
        head = s3.head_object(Bucket="prr-audit", Key=key)
        assert head["ObjectLockMode"] == "COMPLIANCE"
        assert head["ObjectLockRetainUntilDate"] > written.time
        version = head["VersionId"]
        with pytest.raises(s3.exceptions.ClientError, match="AccessDenied"):
            s3.delete_object(Bucket="prr-audit", Key=key, VersionId=version)
