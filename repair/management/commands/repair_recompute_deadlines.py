from django.core.management.base import BaseCommand

from repair.services import repair_recompute_deadlines


class Command(BaseCommand):
    help = (
        "Compute provisional repair due dates again. Run it after upgrading chinesecalendar to a "
        "release that knows the next year's holiday schedule (a daily cron job is harmless)."
    )

    def handle(self, *args, **options):
        changed = repair_recompute_deadlines()
        self.stdout.write(f"{changed} due date(s) changed")
