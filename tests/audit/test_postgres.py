"""PostgreSQL guarantees: the database refuses to change or remove audit events, and many
concurrent writers still produce one unforked chain."""

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, connections, transaction
from django.db.utils import DatabaseError

from accounts.models import Team
from audit.context import Actor
from audit.db import install_truncate_trigger
from audit.models import AuditEvent
from audit.services import audit_record, audit_verify


@pytest.fixture
def event(postgres_only, owner):
    return audit_record(actor=Actor.for_user(owner), action="test.event", message="original")


def test_update_through_the_orm_is_refused(event):
    with pytest.raises(DatabaseError, match="append-only: UPDATE"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(message="rewritten")
    event.refresh_from_db()
    assert event.message == "original"


def test_model_save_is_refused(event):
    event.message = "rewritten"
    with pytest.raises(DatabaseError, match="append-only: UPDATE"), transaction.atomic():
        event.save()


def test_delete_is_refused(event):
    with pytest.raises(DatabaseError, match="append-only: DELETE"), transaction.atomic():
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.count() == 1


def test_truncate_is_refused(event):
    # Production migrations install this trigger; test settings leave it out because the
    # test runner's flush truncates every table (see audit/db.py).
    install_truncate_trigger(connection)
    refused = pytest.raises(DatabaseError, match="append-only: TRUNCATE")
    with refused, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no pending FK checks in the way
        cursor.execute("TRUNCATE audit_auditevent CASCADE")
    assert AuditEvent.objects.count() == 1


ACTIONS = 200
WORKERS = 16


def _audited_action(i: int) -> int:
    """One business write plus its audit event, in one transaction, on this thread's own
    database connection."""
    try:
        with transaction.atomic():
            team = Team.objects.create(slug=f"team-{i}", name=f"Team {i}")
            event = audit_record(actor=Actor.system(f"worker-{i}"), action="team.create", obj=team)
        return event.seq
    finally:
        connections.close_all()


@pytest.mark.django_db(transaction=True)
def test_concurrent_audited_actions_leave_one_unforked_chain(postgres_only):
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        seqs = list(pool.map(_audited_action, range(ACTIONS)))
    assert sorted(seqs) == list(range(1, ACTIONS + 1))
    rows = list(AuditEvent.objects.order_by("seq").values_list("seq", "prev_hash", "hash"))
    assert len(rows) == ACTIONS
    assert len({prev for _, prev, _ in rows}) == ACTIONS  # no two events share a parent
    for (_, _, earlier_hash), (_, prev, _) in zip(rows, rows[1:], strict=False):
        assert prev == earlier_hash
    result = audit_verify()
    assert result.ok, result
    assert result.checked == ACTIONS
    assert Team.objects.filter(slug__startswith="team-").count() == ACTIONS
