from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from reports import signing


class Command(BaseCommand):
    help = (
        "Create a self-signed demo key and certificate for signing credit reports at "
        "REPORT_SIGNING_P12, unless the file exists. For local development only."
    )

    def handle(self, *args, **options):
        if not settings.REPORT_SIGNING_P12:
            raise CommandError("REPORT_SIGNING_P12 is not set (it defaults to var/ only with DEBUG=1).")
        path = Path(settings.REPORT_SIGNING_P12)
        if path.exists():
            self.stdout.write(f"Report signing key: {path} (kept)")
            return
        signing.create_self_signed(
            path,
            passphrase=settings.REPORT_SIGNING_PASSPHRASE or "",
            common_name="Credit Disclosure DEMO report signing (not for production)",
        )
        key = signing.site_key()
        self.stdout.write(f"Report signing key: {path} (new, certificate SHA-256 {key.sha256})")
