import io

from django.core.management import call_command

from disclosure import uscc
from disclosure.models import CreditRecord, Entity, EntityKind, EventKind, RecordEvent


def test_generates_the_requested_rows_with_valid_codes_and_events(db, frozen_today):
    out = io.StringIO()
    call_command("generate_dataset", "--entities", "300", "--records", "900", stdout=out)
    assert Entity.objects.count() == 300
    assert CreditRecord.objects.count() == 900
    assert RecordEvent.objects.filter(kind=EventKind.CREATED).count() == 900
    codes = list(Entity.objects.exclude(kind=EntityKind.NATURAL_PERSON).values_list("code", flat=True))
    assert [uscc.validate(code) for code in codes] == codes
    assert Entity.objects.filter(kind=EntityKind.NATURAL_PERSON, id_number_digest=None).count() == 0
    # Computed dates are the site's own: a record recomputed through the service is unchanged.
    from disclosure import services

    for record in CreditRecord.objects.select_related("catalog_item")[:50]:
        before = (
            record.disclosure_start,
            record.disclosure_end,
            record.earliest_repair_on,
            record.rule_set_id,
        )
        services.record_apply_rules(record)
        assert (
            record.disclosure_start,
            record.disclosure_end,
            record.earliest_repair_on,
            record.rule_set_id,
        ) == before
    assert "records: 900/900" in out.getvalue()
    # The sequences continue after the generated ids: the site can add rows afterwards.
    call_command("generate_dataset", "--entities", "10", "--records", "10", stdout=io.StringIO())
    assert Entity.objects.count() == 310
