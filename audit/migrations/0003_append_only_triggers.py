"""On PostgreSQL, refuse UPDATE, DELETE and TRUNCATE of audit events (see audit/db.py), and
create the chain head row so the first audited actions never race to create it."""

from django.db import migrations

from audit.chain import GENESIS_HASH


def forwards(apps, schema_editor):
    from audit.db import install_triggers

    install_triggers(schema_editor.connection)
    head = apps.get_model("audit", "AuditChainHead")
    event = apps.get_model("audit", "AuditEvent")
    if not head.objects.filter(id=1).exists():
        last = event.objects.order_by("-seq").values_list("seq", "hash").first()
        seq, hash_ = last if last else (0, GENESIS_HASH)
        head.objects.create(id=1, seq=seq, hash=hash_)


def backwards(apps, schema_editor):
    from audit.db import drop_triggers

    drop_triggers(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_chain_indexes_no_fork")]

    operations = [migrations.RunPython(forwards, backwards)]
