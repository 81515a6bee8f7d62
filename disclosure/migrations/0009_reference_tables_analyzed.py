"""The catalog, the departments and the rule sets are a few dozen rows that change rarely:
they never reach autovacuum's default analyze threshold (50 changed rows), so PostgreSQL
planned the entity page's records query without statistics on them, guessed one public
catalog item instead of sixteen and read the records index once per item. Analyze them now,
and after any change from now on."""

from django.db import migrations

TABLES = ("disclosure_catalogitem", "disclosure_department", "disclosure_disclosureruleset", "disclosure_disclosurerule")


def analyze(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(f"ALTER TABLE {table} SET (autovacuum_analyze_threshold = 1, autovacuum_analyze_scale_factor = 0)")
        schema_editor.execute(f"ANALYZE {table}")


def reset(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(f"ALTER TABLE {table} RESET (autovacuum_analyze_threshold, autovacuum_analyze_scale_factor)")


class Migration(migrations.Migration):
    dependencies = [("disclosure", "0008_rule_set_citations")]

    operations = [migrations.RunPython(analyze, reset)]
