"""Django set-up shared by the audit benchmarks (run against DATABASE_URL)."""

import os
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def django_setup(*, migrate: bool = True) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-0123456789abcdefghijklmnopqrstu")
    os.environ.setdefault("DEBUG", "true")
    os.environ.setdefault("PORTAL_HTTPS", "false")
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        print("warning: DATABASE_URL is not PostgreSQL: numbers mean little", file=sys.stderr)
    import django

    django.setup()
    if migrate:
        from django.core.management import call_command

        call_command("migrate", verbosity=0)


def reset_audit_table() -> None:
    """Empty the audit table of a throwaway benchmark database (needs the table owner: the
    append-only triggers are switched off for the moment of the TRUNCATE)."""
    from django.db import connection, transaction

    from audit.chain import GENESIS_HASH
    from audit.models import AuditChainHead

    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER USER")
            cursor.execute("TRUNCATE audit_auditevent")
            cursor.execute("ALTER TABLE audit_auditevent ENABLE TRIGGER USER")
        else:
            cursor.execute("DELETE FROM audit_auditevent")
        AuditChainHead.objects.update_or_create(id=1, defaults={"seq": 0, "hash": GENESIS_HASH})
    # The old checkpoints vouch for the events just removed: they would (rightly) fail.
    from django.core.files.storage import FileSystemStorage

    from audit.checkpoints import storage

    store = storage()
    if isinstance(store, FileSystemStorage):
        shutil.rmtree(store.location, ignore_errors=True)
    else:
        print("note: checkpoints in object storage still cover the old chain", file=sys.stderr)
