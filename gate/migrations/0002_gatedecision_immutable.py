from django.db import migrations

# On PostgreSQL the database itself refuses to change or remove a stored gate decision.
IMMUTABLE_SQL = """
CREATE OR REPLACE FUNCTION gate_decision_immutable() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'gate decisions are immutable (% refused)', TG_OP;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER gate_gatedecision_immutable
    BEFORE UPDATE OR DELETE ON gate_gatedecision
    FOR EACH ROW EXECUTE FUNCTION gate_decision_immutable();
"""
DROP_SQL = """
DROP TRIGGER IF EXISTS gate_gatedecision_immutable ON gate_gatedecision;
DROP FUNCTION IF EXISTS gate_decision_immutable();
"""


def add_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(IMMUTABLE_SQL, params=None)


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_SQL, params=None)


class Migration(migrations.Migration):
    dependencies = [("gate", "0001_initial")]

    operations = [migrations.RunPython(add_trigger, drop_trigger)]
