from django.conf import settings
from django.core.checks import Error, Tags, register

from . import signing


@register(Tags.security, deploy=True)
def signing_key_check(app_configs, **kwargs):
    """``check --deploy`` fails when reports cannot be signed (the site then refuses to issue
    them rather than hand out unsigned ones)."""
    try:
        signing.site_key()
    except signing.SigningUnavailable as exc:
        return [
            Error(
                f"Credit reports cannot be signed: {exc}",
                hint="Set REPORT_SIGNING_P12 and REPORT_SIGNING_PASSPHRASE.",
                id="reports.E001",
            )
        ]
    if settings.DEBUG is False and "DEMO" in signing.site_key().subject.upper():
        return [Error("Credit reports are signed with the demo key.", id="reports.E002")]
    return []
