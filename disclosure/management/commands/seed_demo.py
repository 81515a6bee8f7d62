import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from disclosure.demo.seed import DemoSeeder
from disclosure.models import CatalogItem


class Command(BaseCommand):
    help = (
        "Load realistic demo data: departments, a catalog of real kinds of record, entities of "
        "every kind and records in every state. Deterministic: the same --seed and --as-of give "
        "the same data."
    )

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=2026)
        parser.add_argument(
            "--as-of",
            type=dt.date.fromisoformat,
            default=None,
            help="The day the data is built around (default: today).",
        )
        parser.add_argument("--entities", type=int, default=240)
        parser.add_argument("--records", type=int, default=680)
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Do nothing when the catalog already has data (for `make run`).",
        )

    def handle(self, *args, seed, as_of, entities, records, if_empty, **options):
        if CatalogItem.objects.exists():
            if if_empty:
                self.stdout.write("Demo data already loaded.")
                return
            raise CommandError("The database already has data; seed_demo fills an empty one.")
        today = timezone.localdate()
        as_of = as_of or today
        if as_of > today:
            raise CommandError("--as-of cannot be in the future.")
        self.stdout.write(f"Loading demo data (seed {seed}, as of {as_of})")
        DemoSeeder(seed=seed, as_of=as_of, entities=entities, records=records, stdout=self.stdout).run()
        if as_of == today:
            # Repair applications are dated from today: the review clock runs on the real calendar.
            from repair.demo import seed_applications

            count = seed_applications(
                seed=seed, reviewer_for=lambda department: department.staff.order_by("id").first()
            )
            self.stdout.write(f"  {count} credit repair applications")
        self.stdout.write(self.style.SUCCESS("Done. Staff admin: /admin/ as admin/admin."))
