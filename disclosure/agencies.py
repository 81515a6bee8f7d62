"""Writes for credit service agencies: issuing and revoking API keys, logging calls."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ops.logs import current_request_id

from . import feed
from .models import Agency, AgencyCall, AgencyKey

KEY_PREFIX_LENGTH = 8


def digest(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


@transaction.atomic
def agency_key_issue(*, agency: Agency, actor, label: str = "") -> tuple[AgencyKey, str]:
    """A new key for the agency. Returns the key row and the key itself, which is shown to
    staff this once and never stored (only its SHA-256 digest is)."""
    prefix = secrets.token_hex(KEY_PREFIX_LENGTH // 2)
    raw = f"cc_{prefix}_{secrets.token_urlsafe(32)}"
    key = AgencyKey.objects.create(
        agency=agency, prefix=prefix, digest=digest(raw), label=label, created_by=actor
    )
    return key, raw


def agency_key_revoke(*, key: AgencyKey) -> AgencyKey:
    """Stop a key working, at once; compare-and-swap, so a second revocation changes nothing."""
    AgencyKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    key.refresh_from_db()
    return key


def agency_key_authenticate(raw_key: str) -> AgencyKey | None:
    """The live key matching ``raw_key`` (an active agency's, not revoked), or None."""
    parts = raw_key.split("_", 2)  # the secret part may itself contain "_"
    if len(parts) != 3 or parts[0] != "cc":
        return None
    try:
        key = AgencyKey.objects.select_related("agency").get(prefix=parts[1])
    except AgencyKey.DoesNotExist:
        return None
    if not secrets.compare_digest(key.digest, digest(raw_key)):
        return None
    if key.revoked_at is not None or not key.agency.active:
        return None
    return key


# "Last used" is for staff deciding whether a key is still needed: to the minute is plenty,
# and a key polled every second then costs one write a minute, not one a call.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


@transaction.atomic
def agency_call_log(*, key: AgencyKey, method: str, endpoint: str, status: int) -> None:
    """One row per call. Written with PostgreSQL's asynchronous commit: the row is in the
    write-ahead log at once and on disk within a fraction of a second, so a database crash
    could lose the last moment of the call log (never corrupt it), and a poll does not wait
    for a disk flush to be answered."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")
    now = timezone.now()
    AgencyCall.objects.create(
        agency_id=key.agency_id,
        key=key,
        method=method,
        endpoint=endpoint,
        status=status,
        at=now,
        request_id=current_request_id(),
    )
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_RESOLUTION:
        AgencyKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now


def agency_acknowledge(*, agency: Agency, cursor: int) -> Agency:
    """Record that the agency's copy has applied every event up to ``cursor``. A cursor
    beyond the feed's head is refused: nobody can have applied events that do not exist."""
    head = feed.head().latest
    if cursor < 0 or cursor > head:
        raise ValidationError(
            {
                "cursor": _("The cursor must be between 0 and the feed's latest cursor, %(head)d.")
                % {"head": head}
            }
        )
    now = timezone.now()
    Agency.objects.filter(pk=agency.pk).update(applied_cursor=cursor, applied_at=now)
    agency.applied_cursor, agency.applied_at = cursor, now
    return agency
