import datetime as dt

from django.core.management.base import BaseCommand

from disclosure import services


class Command(BaseCommand):
    help = (
        "Write the `expired` event of every record whose disclosure period has ended. Run daily; "
        "safe to repeat. Visibility does not depend on it."
    )

    def add_arguments(self, parser):
        parser.add_argument("--on", type=dt.date.fromisoformat, default=None)

    def handle(self, *args, on, **options):
        written = services.records_record_expiries(on=on)
        self.stdout.write(f"{written} expiry events written.")
