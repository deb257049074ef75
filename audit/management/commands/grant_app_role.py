"""``manage.py grant_app_role ROLE``: give the application's database role what it needs to run,
and nothing more. Run by the migration (owner) role after ``migrate``; see docs/operations.md.

The application role owns nothing, so it cannot ALTER, DROP or TRUNCATE tables or disable the
audit triggers. It may read and write rows of every table, except the append-only ones (audit
events, evidence, gate decisions) where it may only read and insert: even if the triggers were
dropped, the application could not rewrite history. Default privileges cover tables that later
migrations create, so a deployment re-runs this only to pick up new append-only tables.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

# Rows in these tables are never updated or deleted by the application.
APPEND_ONLY_TABLES = ("audit_auditevent", "evidence_evidence", "gate_gatedecision")


def grant_statements(role: str, *, database: str, owner: str) -> list[str]:
    """The SQL that grants ``role`` row access (identifiers quoted by the caller's backend)."""
    q = connection.ops.quote_name
    role_q, owner_q = q(role), q(owner)
    statements = [
        f"GRANT CONNECT ON DATABASE {q(database)} TO {role_q}",
        f"GRANT USAGE ON SCHEMA public TO {role_q}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role_q}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role_q}",
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner_q} IN SCHEMA public "
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {role_q}",
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner_q} IN SCHEMA public "
        f"GRANT USAGE, SELECT ON SEQUENCES TO {role_q}",
    ]
    for table in APPEND_ONLY_TABLES:
        statements.append(f"REVOKE UPDATE, DELETE, TRUNCATE ON {q(table)} FROM {role_q}")
    return statements


class Command(BaseCommand):
    help = "Grant the application database role row access (append-only tables: read/insert)."

    def add_arguments(self, parser):
        parser.add_argument("role", help="the application's login role, e.g. portal_app")

    def handle(self, *args, role, **options):
        if connection.vendor != "postgresql":
            raise CommandError("Database roles exist only on PostgreSQL.")
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_database(), current_user")
            database, owner = cursor.fetchone()
            cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
            if cursor.fetchone() is None:
                raise CommandError(f"Role {role!r} does not exist: create it first.")
            if role == owner:
                raise CommandError("The application role must not be the migration role.")
            with transaction.atomic():
                for sql in grant_statements(role, database=database, owner=owner):
                    cursor.execute(sql)
        self.stdout.write(
            f"Granted {role} row access on {database}; "
            f"{', '.join(APPEND_ONLY_TABLES)}: SELECT and INSERT only."
        )
