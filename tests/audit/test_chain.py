"""The chain: every audited write appends an event whose hash survives a database round-trip,
and the verifier names the first event that was edited, deleted, reordered or cut off."""

import math
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from audit.chain import GENESIS_HASH
from audit.choices import ActorType, Outcome
from audit.context import Actor
from audit.models import AuditChainHead, AuditEvent
from audit.services import (
    audit_checkpoint_latest,
    audit_checkpoint_write,
    audit_record,
    audit_verify,
)

TABLE = AuditEvent._meta.db_table


def _record(n, user=None, **kwargs):
    actor = Actor.for_user(user) if user else Actor.system("test")
    return [audit_record(actor=actor, action=f"test.step{i}", **kwargs) for i in range(n)]


def _sql(sql, params=()):
    """Tamper with the table directly, as someone with database owner rights would."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Fire pending deferred FK checks first: ALTER TABLE refuses to run with them.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(f"ALTER TABLE {TABLE} DISABLE TRIGGER USER")
        cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            cursor.execute(f"ALTER TABLE {TABLE} ENABLE TRIGGER USER")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def test_events_form_a_chain_from_genesis(db, owner):
    events = _record(3, owner)
    assert [e.seq for e in events] == [1, 2, 3]
    assert events[0].prev_hash == GENESIS_HASH
    assert events[1].prev_hash == events[0].hash
    assert events[2].prev_hash == events[1].hash
    head = AuditChainHead.objects.get()
    assert (head.seq, head.hash) == (3, events[2].hash)
    result = audit_verify()
    assert result.ok, result
    assert (result.checked, result.last_seq, result.last_hash) == (3, 3, events[2].hash)


TRICKY = {
    "float": 1.5,
    "integral_float": 2.0,
    "huge": 1e20,
    "tiny": 1.5e-10,
    "nan": math.nan,
    "inf": -math.inf,
    "decimal": Decimal("10.10"),
    "nul": "a\x00b",
    "unicode": "Zürich ✓ 中文 \U0001f600",
    "surrogate": "bad \udc80 byte",
    "nested": {"b": [1, {"z": None, "a": True}], "a": []},
    3: "int key",
    "big_int": 2**70,
}


def test_hash_survives_the_database_round_trip_for_awkward_values(db, owner):
    event = audit_record(
        actor=Actor(
            type=ActorType.USER,
            label="owner\x00",
            user=owner,
            source_ip="2001:0DB8:0000::0001",
            user_agent="agent \udcff",
            request_id="req-12345678",
        ),
        action="test.awkward",
        obj=owner,
        before=TRICKY,
        after={"list": [0.1, 0.2, 1e300]},
        details={"note": "x"},
        message="line\nbreak\x00",
    )
    stored = AuditEvent.objects.get(pk=event.pk)
    assert stored.compute_hash() == event.hash
    assert stored.source_ip == "2001:db8::1"
    assert stored.before["huge"] == 10**20
    assert stored.before["nan"] == "nan"
    assert stored.before["nul"] == "ab"
    assert audit_verify().ok


def test_secrets_are_redacted_before_they_are_hashed(db, owner):
    event = audit_record(
        actor=Actor.for_user(owner),
        action="test.secrets",
        before={"password": "hunter2", "role_arn": "arn:aws:iam::1:role/x"},
        after={
            "nested": {"api_key": "k", "client_secret": "s"},
            "header": "Bearer abcdefghijklmnop",
            "pem": "-----BEGIN PRIVATE KEY-----\nMC4C...",
        },
    )
    event.refresh_from_db()
    assert event.before == {"password": "[redacted]", "role_arn": "arn:aws:iam::1:role/x"}
    assert event.after["nested"] == {"api_key": "[redacted]", "client_secret": "[redacted]"}
    assert event.after["header"] == "[redacted]"
    assert event.after["pem"] == "[redacted]"
    assert "hunter2" not in str(AuditEvent.objects.values_list("before", "after"))


def test_edited_event_is_named(db, owner):
    _record(5, owner)
    _sql(f"UPDATE {TABLE} SET message = %s WHERE seq = 3", ["nothing to see"])
    result = audit_verify()
    assert not result.ok
    assert result.first_bad_seq == 3
    assert "edited" in result.reason


def test_edit_with_recomputed_hash_breaks_the_next_link(db, owner):
    _record(5, owner)
    event = AuditEvent.objects.get(seq=2)
    event.outcome = Outcome.DENIED
    new_hash = event.compute_hash()
    _sql(f"UPDATE {TABLE} SET outcome = %s, hash = %s WHERE seq = 2", ["denied", new_hash])
    result = audit_verify()
    assert (result.ok, result.first_bad_seq) == (False, 3)
    assert "prev_hash" in result.reason


def test_deleted_event_is_named(db, owner):
    _record(5, owner)
    _sql(f"DELETE FROM {TABLE} WHERE seq = 2")
    result = audit_verify()
    assert (result.ok, result.first_bad_seq) == (False, 2)
    assert "missing" in result.reason


def test_reordered_events_are_named(db, owner):
    _record(5, owner)
    # Swap events 2 and 3 by renumbering them (through a free number: seq is unique).
    _sql(f"UPDATE {TABLE} SET seq = 1000 WHERE seq = 2")
    _sql(f"UPDATE {TABLE} SET seq = 2 WHERE seq = 3")
    _sql(f"UPDATE {TABLE} SET seq = 3 WHERE seq = 1000")
    result = audit_verify()
    assert (result.ok, result.first_bad_seq) == (False, 2)
    assert "prev_hash" in result.reason


def test_truncated_tail_is_caught_by_the_signed_checkpoint(db, owner):
    _record(5, owner)
    audit_checkpoint_write()
    # The attacker also rewinds the head record, so only the checkpoint can tell.
    _sql(f"DELETE FROM {TABLE} WHERE seq >= 4")
    last = AuditEvent.objects.get(seq=3)
    AuditChainHead.objects.filter(id=1).update(seq=3, hash=last.hash)
    assert audit_verify().ok  # the chain alone cannot see it
    result = audit_verify(checkpoint=audit_checkpoint_latest())
    assert (result.ok, result.first_bad_seq) == (False, 4)
    assert "tail truncated" in result.reason


def test_truncated_tail_is_caught_by_the_head_record(db, owner):
    _record(5, owner)
    _sql(f"DELETE FROM {TABLE} WHERE seq >= 4")
    result = audit_verify()
    assert (result.ok, result.first_bad_seq) == (False, 4)
    assert "tail truncated" in result.reason


def test_truncated_and_regrown_tail_is_caught_by_the_checkpoint(db, owner):
    _record(5, owner)
    audit_checkpoint_write()
    _sql(f"DELETE FROM {TABLE} WHERE seq >= 4")
    last = AuditEvent.objects.get(seq=3)
    AuditChainHead.objects.filter(id=1).update(seq=3, hash=last.hash)
    _record(4, owner)  # new events reuse numbers 4..7
    result = audit_verify(checkpoint=audit_checkpoint_latest())
    assert (result.ok, result.first_bad_seq) == (False, 5)
    assert "checkpoint" in result.reason


def test_verify_from_checkpoint_only_reads_new_events(db, owner):
    _record(5, owner)
    checkpoint = audit_checkpoint_write()
    _record(2, owner)
    result = audit_verify(start_seq=checkpoint.seq, checkpoint=checkpoint)
    assert result.ok, result
    assert (result.checked, result.last_seq) == (3, 7)


def test_verify_command_prints_ok(db, owner, capsys):
    _record(3, owner)
    audit_checkpoint_write()
    call_command("verify_audit")
    out = capsys.readouterr().out
    assert "OK: 3 events verified, head #3; checkpoint #3 matches" in out


def test_verify_command_fails_naming_the_first_bad_event(db, owner):
    _record(4, owner)
    _sql(f"UPDATE {TABLE} SET actor_label = 'mallory' WHERE seq = 2")
    with pytest.raises(CommandError) as excinfo:
        call_command("verify_audit", "--no-checkpoint")
    assert excinfo.value.returncode == 1
    assert "FAILED at event #2: content does not match its hash (edited)" in str(excinfo.value)


def test_empty_chain_verifies(db):
    result = audit_verify()
    assert result.ok and result.checked == 0 and result.last_hash == GENESIS_HASH


def test_action_that_cannot_be_audited_does_not_happen(db, owner, team, monkeypatch):
    from django.db import DatabaseError

    from services.models import Service
    from services.services import service_create

    def broken_save(self, *args, **kwargs):
        raise DatabaseError("audit table unavailable")

    monkeypatch.setattr(AuditEvent, "save", broken_save)
    with pytest.raises(DatabaseError):
        service_create(
            actor=Actor.for_user(owner),
            team=team,
            name="Ghost",
            slug="ghost",
            tier=3,
            data_classification="internal",
            environments=["prod"],
            repository="acme/ghost",
        )
    assert not Service.objects.filter(slug="ghost").exists()
    assert AuditEvent.objects.count() == 0


def test_ci_and_api_token_actors_carry_request_context(db, rf):
    request = rf.post("/gate/", HTTP_USER_AGENT="gh-actions", REMOTE_ADDR="192.0.2.7")
    request.request_id = "req-abcdef12"
    actor = Actor.ci("repo:acme/pay:ref:refs/heads/main", request=request, run_id="42")
    event = audit_record(actor=actor, action="gate.decide")
    event.refresh_from_db()
    assert (event.actor_type, event.source_ip) == ("ci", "192.0.2.7")
    assert event.user_agent == "gh-actions"
    assert (event.request_id, event.details) == ("req-abcdef12", {"run_id": "42"})
    token = Actor.api_token("ci-uploader", token_id=7, token="s3cr3t")
    event = audit_record(actor=token, action="evidence.upload")
    assert event.actor_type == "api_token"
    assert event.details == {"token_id": 7, "token": "[redacted]"}


@pytest.mark.parametrize(
    ("key", "redacted"),
    [
        ("password", True),
        ("new_password", True),
        ("client_secret", True),
        ("access_token", True),
        ("token", True),
        ("session_id", True),
        ("Authorization", True),
        ("token_id", False),
        ("token_prefix", False),
        ("secret_name", False),
        ("external_id", False),
        ("role_arn", False),
    ],
)
def test_redaction_by_key(key, redacted):
    from audit.services import REDACTED, redact

    assert (redact({key: "value"})[key] == REDACTED) is redacted
