"""Database-level protection of the audit table on PostgreSQL.

Row triggers refuse UPDATE and DELETE and a statement trigger refuses TRUNCATE on
``audit_auditevent``, whoever asks, so a bug or an injected query in the application cannot
rewrite history. An attacker with owner rights can still disable the triggers: that is what the
hash chain and the signed checkpoints detect.

The TRUNCATE trigger is left out when ``settings.AUDIT_TRUNCATE_TRIGGER`` is false: Django's
test runner empties every table with TRUNCATE between transactional tests. Tests install it
with :func:`install_truncate_trigger` where they check it.
"""

from __future__ import annotations

from django.conf import settings

TABLE = "audit_auditevent"
ROW_TRIGGER = "audit_event_append_only"
TRUNCATE_TRIGGER = "audit_event_no_truncate"

FUNCTION_SQL = """
CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
"""
ROW_TRIGGER_SQL = f"""
CREATE TRIGGER {ROW_TRIGGER} BEFORE UPDATE OR DELETE ON {TABLE}
    FOR EACH ROW EXECUTE FUNCTION audit_event_append_only();
"""
TRUNCATE_TRIGGER_SQL = f"""
CREATE TRIGGER {TRUNCATE_TRIGGER} BEFORE TRUNCATE ON {TABLE}
    FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only();
"""
DROP_SQL = f"""
DROP TRIGGER IF EXISTS {TRUNCATE_TRIGGER} ON {TABLE};
DROP TRIGGER IF EXISTS {ROW_TRIGGER} ON {TABLE};
DROP FUNCTION IF EXISTS audit_event_append_only();
"""


def install_triggers(connection) -> None:
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(FUNCTION_SQL)
        cursor.execute(ROW_TRIGGER_SQL)
    if getattr(settings, "AUDIT_TRUNCATE_TRIGGER", True):
        install_truncate_trigger(connection)


def install_truncate_trigger(connection) -> None:
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TRIGGER IF EXISTS {TRUNCATE_TRIGGER} ON {TABLE}")
        cursor.execute(TRUNCATE_TRIGGER_SQL)


def drop_triggers(connection) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(DROP_SQL)
