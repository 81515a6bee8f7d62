import datetime as dt

from django.core.management.base import BaseCommand
from django.utils import timezone

from disclosure import services


class Command(BaseCommand):
    help = (
        "Write the `expired` event of every record whose disclosure period has ended, and record "
        "that the day's expiries are written: the agency feed shows nothing of a day before. Run "
        "daily just after midnight; safe to repeat and to run twice at once. Visibility does not "
        "depend on it."
    )

    def add_arguments(self, parser):
        parser.add_argument("--on", type=dt.date.fromisoformat, default=None)

    def handle(self, *args, on, **options):
        on = on or timezone.localdate()
        written = services.records_record_expiries(on=on)
        self.stdout.write(f"{written} expiry events written; the expiries of {on.isoformat()} are all written.")
