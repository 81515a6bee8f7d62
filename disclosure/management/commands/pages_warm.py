import argparse

from django.core.management.base import BaseCommand, CommandError
from django.test.utils import override_settings
from redis.exceptions import RedisError

from disclosure import pagecache, warming


class Command(BaseCommand):
    help = (
        "Make the new day's pages that visitors asked for yesterday (entity, person and record "
        "pages, the lists' first pages), so that the day's first visitors find them kept; and the "
        "pages kept today by an earlier release. Run just after midnight (what a page shows "
        "follows the date, not records_record_expiries) and after a deployment; "
        "safe to repeat (a page already kept is left as it is). Needs the shared page cache in "
        "Redis. Exits with an error if a page could not be made."
    )

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=at_least(int, 0), default=None, help="at most this many pages")
        parser.add_argument("--seconds", type=at_least(float, 1), default=None, help="stop after this long")

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
        except RedisError as error:
            raise CommandError(f"The page cache did not answer: {error}") from error
        statuses = ", ".join(f"{status}: {count}" for status, count in sorted(warmed.statuses.items()))
        self.stdout.write(
            f"{warmed.made} pages made and kept for today, {warmed.kept} already kept, "
            f"{warmed.unkept} made but not kept, {warmed.gone} no longer pages, {warmed.failed} failed "
            f"(answers {statuses or 'none'})."
        )
        if warmed.failed:
            raise CommandError(f"{warmed.failed} pages could not be made (see the answers above and the site's log).")


def at_least(kind, least):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if value < least:
            raise argparse.ArgumentTypeError(f"{text} is less than {least}")
        return value

    return parse
