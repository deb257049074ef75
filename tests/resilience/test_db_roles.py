"""The application's database role cannot rewrite history (PostgreSQL).

scripts/services.sh creates ``portal`` (owner, runs migrations) and ``portal_app`` (the
application). pytest-django builds the test database as ``portal``; this test grants
``portal_app`` what a deployment grants it (``manage.py grant_app_role portal_app``), then
connects as ``portal_app``: it can read and append audit events, and UPDATE, DELETE and TRUNCATE
of the audit table are refused by privilege (even before the append-only triggers run).
"""

from __future__ import annotations

import os

import psycopg
import pytest
from django.core.management import call_command
from django.db import connection

from audit.context import Actor
from audit.models import AuditEvent
from audit.services import audit_record, audit_verify

pytestmark = pytest.mark.postgres


@pytest.fixture
def app_role(postgres_only, transactional_db):
    user, _, password = os.environ.get("PRR_TEST_PG_APP_ROLE", "").partition(":")
    if not user:
        pytest.skip("needs the portal_app role of scripts/services.sh (scripts/test.sh)")
    call_command("grant_app_role", user)
    s = connection.settings_dict
    conninfo = {
        "host": s["HOST"] or "127.0.0.1",
        "port": s["PORT"] or 5432,
        "dbname": s["NAME"],
        "user": user,
        "password": password,
        "autocommit": True,
    }
    with psycopg.connect(**conninfo) as conn:
        yield conn, user, password


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_auditevent SET message = 'rewritten'",
        "DELETE FROM audit_auditevent",
        "TRUNCATE audit_auditevent",
        "UPDATE evidence_evidence SET title = 'x'",
        "DELETE FROM gate_gatedecision",
        "ALTER TABLE audit_auditevent DISABLE TRIGGER USER",
        "DROP TABLE audit_auditevent",
    ],
)
def test_app_role_cannot_rewrite_history(app_role, statement):
    conn, _, _ = app_role
    audit_record(actor=Actor.system("test"), action="test.before")

    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute(statement)

    assert AuditEvent.objects.filter(action="test.before", message="").count() == 1


def test_app_role_owns_nothing_and_runs_the_audited_path(app_role):
    conn, user, password = app_role
    owners = conn.execute(
        "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tableowner = %s", [user]
    ).fetchone()[0]
    assert owners == 0
    # The application, connected as portal_app, appends to the chain as usual.
    connection.close()
    original = dict(connection.settings_dict)
    connection.settings_dict.update(USER=user, PASSWORD=password)
    try:
        for n in range(3):
            audit_record(actor=Actor.system("app-role"), action=f"test.as_app_role_{n}")
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_user")
            assert cursor.fetchone()[0] == user
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(original)
    assert AuditEvent.objects.filter(actor_label="app-role").count() == 3
    assert audit_verify().ok
