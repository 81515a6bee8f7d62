from django.core.management.base import BaseCommand, CommandError
from django.test.utils import override_settings

from disclosure import pagecache, warming


class Command(BaseCommand):
    help = (
        "Make the new day's pages that visitors asked for yesterday (entity, person and record "
        "pages, the lists' first pages), so that the day's first visitors find them kept. Run "
        "just after midnight, after records_record_expiries; safe to repeat (a page already kept "
        "is left as it is). Needs the shared page cache in Redis."
    )

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=None, help="at most this many pages")
        parser.add_argument("--seconds", type=float, default=None, help="stop after this long")

    def handle(self, *args, limit, seconds, **options):
        if not pagecache.enabled():
            raise CommandError(
                "There is no shared page cache (set REDIS_URL or PAGE_CACHE_URL): nothing to warm."
            )
        # The pages are asked for from this process, one client: the per-client limit on
        # pages is for visitors, not for the site making its own.
        try:
            with override_settings(RATELIMIT_ENABLE=False):
                warmed = warming.warm(limit=limit, seconds=seconds)
        except NotImplementedError as error:
            raise CommandError(str(error)) from error
        statuses = ", ".join(f"{status}: {count}" for status, count in sorted(warmed.statuses.items()))
        self.stdout.write(
            f"{warmed.made} pages made and kept for today, {warmed.kept} already kept, "
            f"{warmed.unkept} made but not kept, {warmed.gone} no longer pages (answers {statuses or 'none'})."
        )
