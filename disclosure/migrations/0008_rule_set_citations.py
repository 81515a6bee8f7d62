"""The three national rule sets, each cited with its document, and minor information as a
per-catalog-item choice.

Updates the two shipped sets (0002) with their documents, inserts NDRC Order 58 (in force
2023-05-01 to 2026-03-31), and turns ``DisclosureRule.disclosed`` into ``disclosure``, whose
third value leaves minor information to the catalog item (the 2026 rules: in principle not
disclosed, at most 3 months where truly necessary).

Existing records keep their computed dates: recompute them from the rule set's admin page
("Recompute the records' periods"), which writes a ``corrected`` event for each record whose
dates change.
"""

import datetime

from django.db import migrations, models

D = datetime.date

# (name, document title, document number, issued by, published on, in force from, notes,
#  {severity: (disclosure, earliest repair in months, longest disclosure in months, provision)})
RULE_SETS = [
    (
        "2019 notice",
        "《国家发展改革委办公厅关于进一步完善“信用中国”网站及地方信用门户网站行政处罚信息信用修复机制的通知》",
        "发改办财金〔2019〕527号",
        "国家发展改革委办公厅",
        D(2019, 5, 14),
        D(2019, 7, 1),
        "Published on the NDRC website on 2019-05-14; the repair of penalty information on the "
        "credit websites under it applied from 2019-07-01. Periods count from the decision date.",
        {
            "minor": (
                "not_disclosed",
                0,
                0,
                "The notice grades penalty information as general or serious dishonesty only and "
                "sets no disclosure period for minor penalties: they are not disclosed.",
            ),
            "general": (
                "disclosed",
                3,
                12,
                "涉及一般失信行为的行政处罚信息自行政处罚决定之日起，在信用网站最短公示期限为三个月，"
                "最长公示期限为一年。",
            ),
            "serious": (
                "disclosed",
                6,
                36,
                "涉及严重失信行为的行政处罚信息自行政处罚决定之日起，在信用网站最短公示期限为六个月，"
                "最长公示期限为三年。",
            ),
        },
    ),
    (
        "Order 58 (trial measures, 2023)",
        "《失信行为纠正后的信用信息修复管理办法（试行）》",
        "国家发展改革委令2023年第58号",
        "国家发展和改革委员会",
        D(2023, 1, 13),
        D(2023, 5, 1),
        "Adopted 2023-01-11, published by Order No. 58 of 2023-01-13, in force from 2023-05-01; "
        "repealed by the 《信用修复管理办法》 from 2026-04-01.",
        {
            "minor": (
                "not_disclosed",
                0,
                0,
                "The measures grade penalty information as general or serious dishonesty only and "
                "set no disclosure period for minor penalties: they are not disclosed.",
            ),
            "general": (
                "disclosed",
                3,
                12,
                "涉及一般失信行为的行政处罚信息最短公示期为三个月，最长公示期为一年。",
            ),
            "serious": (
                "disclosed",
                12,
                36,
                "涉及严重失信行为的行政处罚信息最短公示期为一年，最长公示期为三年。",
            ),
        },
    ),
    (
        "Credit repair measures (2026)",
        "《信用修复管理办法》",
        "国家发展改革委令2025年第36号",
        "国家发展和改革委员会",
        D(2025, 11, 20),
        D(2026, 4, 1),
        "Adopted 2025-11-19, Order No. 36 dated 2025-11-20 (released on the NDRC website "
        "2025-11-26), in force from 2026-04-01; repeals Order 58. Periods count from the day the "
        "judicial or administrative document made the finding.",
        {
            "minor": (
                "where_necessary",
                0,
                3,
                "轻微失信信息原则上不予公示；行业主管部门认为确有必要公示的，公示期最长不超过3个月，"
                "且法定责任履行完毕即可申请修复。",
            ),
            "general": ("disclosed", 3, 12, "一般失信信息的最短公示期为3个月，最长为1年。"),
            "serious": ("disclosed", 12, 36, "严重失信信息的最短公示期为1年，最长为3年。"),
        },
    ),
]
# 0002 shipped the 2019 set as in force from 2019-01-01; its notice applied from 2019-07-01.
EARLIER_EFFECTIVE_FROM = {D(2019, 7, 1): D(2019, 1, 1)}


def convert_disclosed(apps, schema_editor):
    Rule = apps.get_model("disclosure", "DisclosureRule")
    Rule.objects.filter(disclosed=False).update(disclosure="not_disclosed")
    Rule.objects.filter(disclosed=True).update(disclosure="disclosed")


def restore_disclosed(apps, schema_editor):
    Rule = apps.get_model("disclosure", "DisclosureRule")
    Rule.objects.filter(disclosure="not_disclosed").update(disclosed=False)
    Rule.objects.exclude(disclosure="not_disclosed").update(disclosed=True)


def ship_rule_sets(apps, schema_editor):
    """Bring the shipped sets to the documents' figures: update those that exist (found by
    the day they took effect), create the others. Tests that flush the database call it too."""
    RuleSet = apps.get_model("disclosure", "DisclosureRuleSet")
    Rule = apps.get_model("disclosure", "DisclosureRule")
    for name, title, number, authority, published, effective_from, notes, rows in RULE_SETS:
        days = [effective_from, EARLIER_EFFECTIVE_FROM.get(effective_from, effective_from)]
        rule_set = RuleSet.objects.filter(effective_from__in=days).first() or RuleSet(
            effective_from=effective_from
        )
        rule_set.name = name
        rule_set.document_title = title
        rule_set.document_number = number
        rule_set.issuing_authority = authority
        rule_set.published_on = published
        rule_set.effective_from = effective_from
        rule_set.source = notes
        rule_set.save()
        for severity, (disclosure, repair_after, longest, provision) in rows.items():
            Rule.objects.update_or_create(
                rule_set=rule_set,
                severity=severity,
                defaults={
                    "disclosure": disclosure,
                    "repair_after_months": repair_after,
                    "disclosure_months": longest,
                    "provision": provision,
                },
            )


def unship_rule_sets(apps, schema_editor):
    RuleSet = apps.get_model("disclosure", "DisclosureRuleSet")
    RuleSet.objects.filter(effective_from=D(2023, 5, 1)).delete()  # refused while records use it
    for now, before in EARLIER_EFFECTIVE_FROM.items():
        RuleSet.objects.filter(effective_from=now).update(effective_from=before)


class Migration(migrations.Migration):
    dependencies = [("disclosure", "0007_feed_from_the_event_log")]

    operations = [
        migrations.AddField(
            model_name="catalogitem",
            name="minor_disclosure_necessary",
            field=models.BooleanField(
                default=False,
                help_text="Minor dishonesty information is in principle not disclosed (《信用修复管理办法》, 2026). Tick only where the providing department has found its disclosure truly necessary: it is then shown for at most the rule set's period (3 months). Records already published change only when their rule set's periods are recomputed.",
                verbose_name="minor information: disclosure truly necessary",
            ),
        ),
        migrations.AddField(
            model_name="disclosureruleset",
            name="document_title",
            field=models.CharField(
                default="",
                help_text="The title as published, e.g. 《信用修复管理办法》.",
                max_length=300,
                verbose_name="document",
            ),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="disclosureruleset",
            name="document_number",
            field=models.CharField(
                default="",
                help_text="e.g. 国家发展改革委令2025年第36号.",
                max_length=100,
                verbose_name="document number",
            ),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="disclosureruleset",
            name="issuing_authority",
            field=models.CharField(default="", max_length=200, verbose_name="issued by"),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="disclosureruleset",
            name="published_on",
            field=models.DateField(null=True, verbose_name="published on"),
        ),
        migrations.AlterField(
            model_name="disclosureruleset",
            name="effective_from",
            field=models.DateField(
                help_text="Records decided on or after this day are judged by this set, until the next set.",
                unique=True,
                verbose_name="in force from",
            ),
        ),
        migrations.AlterField(
            model_name="disclosureruleset",
            name="source",
            field=models.TextField(blank=True, verbose_name="notes on the source"),
        ),
        migrations.AddField(
            model_name="disclosurerule",
            name="disclosure",
            field=models.CharField(
                choices=[
                    ("disclosed", "Disclosed"),
                    ("not_disclosed", "Not disclosed"),
                    ("where_necessary", "Only where the catalog item says disclosure is truly necessary"),
                ],
                default="disclosed",
                max_length=16,
                verbose_name="disclosed",
            ),
        ),
        migrations.AddField(
            model_name="disclosurerule",
            name="provision",
            field=models.TextField(
                blank=True,
                help_text="What the document says about these figures, in its words.",
                verbose_name="provision",
            ),
        ),
        migrations.AlterField(
            model_name="disclosurerule",
            name="repair_after_months",
            field=models.PositiveSmallIntegerField(
                help_text="The shortest disclosure period. 0: as soon as the obligations are met.",
                verbose_name="earliest repair (months after the decision)",
            ),
        ),
        migrations.AlterField(
            model_name="disclosurerule",
            name="disclosure_months",
            field=models.PositiveSmallIntegerField(
                help_text="The longest disclosure period.",
                verbose_name="disclosure ends (months after the decision)",
            ),
        ),
        migrations.RunPython(convert_disclosed, restore_disclosed),
        migrations.RemoveField(model_name="disclosurerule", name="disclosed"),
        migrations.RunPython(ship_rule_sets, unship_rule_sets),
    ]
