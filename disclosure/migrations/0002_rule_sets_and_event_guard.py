import datetime

from django.db import migrations

# The disclosure periods as data, versioned by the date they took effect (DOMAIN.md,
# "Disclosure periods"). Months: (disclosed, earliest repair, disclosure ends).
RULE_SETS = [
    (
        "2019 rules",
        datetime.date(2019, 1, 1),
        "National rules on disclosing administrative penalties and on credit repair, 2019: "
        "minor penalties not disclosed; general shown 1 year, repair after 3 months; serious "
        "shown 3 years, repair after 6 months.",
        {"minor": (False, 0, 0), "general": (True, 3, 12), "serious": (True, 6, 36)},
    ),
    (
        "Rules in force since 2026-04-01",
        datetime.date(2026, 4, 1),
        "National rules on credit repair in force since 2026-04-01: minor shown at most "
        "3 months, repair as soon as obligations are met; general shown 1 year, repair after "
        "3 months; serious shown 3 years, repair after 1 year.",
        {"minor": (True, 0, 3), "general": (True, 3, 12), "serious": (True, 12, 36)},
    ),
]

APPEND_ONLY_SQL = """
CREATE OR REPLACE FUNCTION disclosure_recordevent_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'record events are append-only (%% refused)', TG_OP;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER disclosure_recordevent_append_only
    BEFORE UPDATE OR DELETE ON disclosure_recordevent
    FOR EACH ROW EXECUTE FUNCTION disclosure_recordevent_append_only();
"""
DROP_APPEND_ONLY_SQL = """
DROP TRIGGER IF EXISTS disclosure_recordevent_append_only ON disclosure_recordevent;
DROP FUNCTION IF EXISTS disclosure_recordevent_append_only();
"""


def load_rule_sets(apps, schema_editor):
    RuleSet = apps.get_model("disclosure", "DisclosureRuleSet")
    Rule = apps.get_model("disclosure", "DisclosureRule")
    for name, effective_from, source, rows in RULE_SETS:
        rule_set = RuleSet.objects.create(name=name, effective_from=effective_from, source=source)
        for severity, (disclosed, repair_after, disclosure) in rows.items():
            Rule.objects.create(
                rule_set=rule_set,
                severity=severity,
                disclosed=disclosed,
                repair_after_months=repair_after,
                disclosure_months=disclosure,
            )


def unload_rule_sets(apps, schema_editor):
    apps.get_model("disclosure", "DisclosureRuleSet").objects.filter(
        effective_from__in=[effective_from for _n, effective_from, _s, _r in RULE_SETS]
    ).delete()


def guard_events(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(APPEND_ONLY_SQL)


def unguard_events(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_APPEND_ONLY_SQL)


class Migration(migrations.Migration):
    dependencies = [("disclosure", "0001_initial")]

    operations = [
        migrations.RunPython(load_rule_sets, unload_rule_sets),
        migrations.RunPython(guard_events, unguard_events),
    ]
