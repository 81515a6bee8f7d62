"""Natural persons' identity numbers (GB 11643): matched, never shown or exported in full.

The site stores an HMAC of the normalized number (to find the person again when someone
searches by it) and a masked form for display; the number itself is not stored.
"""

import hashlib
import hmac

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from stdnum.cn import ric
from stdnum.exceptions import ValidationError as StdnumError

from .uscc import normalize


def validate(text: str) -> str:
    number = normalize(text)
    try:
        return ric.validate(number)
    except StdnumError:
        raise ValidationError(
            _("This is not a valid resident identity number."), code="identity_number"
        ) from None


def digest(number: str) -> str:
    key = settings.IDENTITY_HASH_KEY.encode()
    return hmac.new(key, normalize(number).encode(), hashlib.sha256).hexdigest()


def mask(number: str) -> str:
    """Keep the region (6) and the last 4 characters: ``110101********123X``."""
    number = normalize(number)
    return number[:6] + "*" * (len(number) - 10) + number[-4:]
