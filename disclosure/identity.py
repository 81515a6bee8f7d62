"""Natural persons' identity numbers (GB 11643): matched, never shown or exported in full.

The site stores an HMAC of the normalized number (to find the person again when someone
searches by it) and a masked form for display; the number itself is not stored.
"""

import datetime as dt
import functools
import hashlib
import hmac
import re
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from stdnum.cn import ric
from stdnum.exceptions import ValidationError as StdnumError

from .uscc import normalize

LENGTH = 18


def validate(text: str) -> str:
    """Return the normalized number, or raise ``ValidationError`` saying exactly what is
    wrong, without quoting the number."""
    number = normalize(text)
    if len(number) != LENGTH:
        raise ValidationError(
            _("A resident identity number has 18 characters; this one has %(length)d."),
            code="identity_number",
            params={"length": len(number)},
        )
    if not number[:17].isdigit() or number[17] not in "0123456789X":
        raise ValidationError(
            _("A resident identity number is 17 digits and a check character, a digit or X."),
            code="identity_number",
        )
    expected = ric.calc_check_digit(number)
    if number[17] != expected:
        raise ValidationError(
            _("The check character (position 18) should be “%(expected)s”, not “%(actual)s”."),
            code="identity_number",
            params={"expected": expected, "actual": number[17]},
        )
    try:
        born = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))  # YYYYMMDD
    except ValueError:
        raise ValidationError(
            _("Positions 7-14 of a resident identity number are a date of birth; these are not."),
            code="identity_number",
        ) from None
    if not _region_existed(number[:6], born.year):
        raise ValidationError(
            _("Positions 1-6 of this identity number are not the code of a region in its year of birth."),
            code="identity_number",
        )
    return number


@functools.lru_cache(maxsize=8192)
def _region_existed(division: str, year: int) -> bool:
    """Whether ``division`` was a county's code in ``year`` (stdnum's table; a file of many
    numbers shares few regions and years, looked up once each)."""
    try:
        ric.get_birth_place(f"{division}{year:04d}0101000X")
    except StdnumError:
        return False
    return True


def digest(number: str) -> str:
    key = settings.IDENTITY_HASH_KEY.encode()
    return hmac.new(key, normalize(number).encode(), hashlib.sha256).hexdigest()


def mask(number: str) -> str:
    """Keep the region (6) and the last 4 characters: ``110101********123X``."""
    number = normalize(number)
    return number[:6] + "*" * (len(number) - 10) + number[-4:]


@dataclass(frozen=True)
class Fingerprint:
    """All the site keeps of a validated identity number: its keyed digest and its masked
    form (which keeps the region)."""

    digest: str
    masked: str

    @property
    def division_code(self) -> str:
        return self.masked[:6]


def fingerprint(number: str) -> Fingerprint:
    """The fingerprint of a number ``validate`` has returned."""
    return Fingerprint(digest(number), mask(number))


# Eighteen characters shaped like an identity number (a date of birth at positions 7-14), not
# part of a longer run of letters and digits.
_NUMBER_IN_TEXT = re.compile(
    r"(?<![0-9A-Za-z])\d{6}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[0-9Xx](?![0-9A-Za-z])"
)


def mask_in(text: str) -> str:
    """``text`` with everything shaped like an identity number masked (``mask``), valid or
    not: for messages that quote what someone submitted."""
    if len(text) < LENGTH:
        return text
    return _NUMBER_IN_TEXT.sub(lambda found: mask(found.group()), text)
