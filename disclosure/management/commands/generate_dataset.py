from django.core.management.base import BaseCommand
from django.utils import timezone

from disclosure.demo.dataset import DatasetGenerator
from disclosure.demo.seed import DemoSeeder
from disclosure.models import CatalogItem


class Command(BaseCommand):
    help = (
        "Generate a large synthetic dataset for benchmarks (bulk COPY on PostgreSQL), e.g. "
        "--entities 1000000 --records 3000000. Loads the demo catalog first when there is none."
    )

    def add_arguments(self, parser):
        parser.add_argument("--entities", type=int, required=True)
        parser.add_argument("--records", type=int, required=True)
        parser.add_argument("--seed", type=int, default=1)

    def handle(self, *args, entities, records, seed, **options):
        as_of = timezone.localdate()
        if not CatalogItem.objects.exists():
            seeder = DemoSeeder(seed=seed, as_of=as_of, entities=0, records=0)
            departments = seeder.departments()
            seeder.catalog(departments)
            seeder.users(departments)
        self.stdout.write(f"Generating {entities:,} entities and {records:,} records")
        DatasetGenerator(
            entities=entities, records=records, seed=seed, as_of=as_of, progress=self.stdout.write
        ).run()
