"""Pure disclosure rules: how long a record is shown and when it may be repaired.

No database access here: the rule sets themselves are data (``DisclosureRuleSet`` rows, shipped
by a data migration and editable in the admin); this module turns one rule and a record's
dates into the record's periods.

Minor information is the one severity whose disclosure a rule set may leave to the catalog: under
the 2026 rules it is in principle not disclosed, and shown (for at most the set's period) only
where the catalog item says the providing department found disclosure truly necessary.

Periods counted in months follow the Civil Code (Arts. 201-202): the decision day itself is not
counted, and a period ends on the corresponding day of the final month, or on that month's last
day where it has no corresponding day. So a one-year disclosure of a decision made on
2026-05-10 is shown up to and including 2027-05-10 and gone on 2027-05-11; a decision of
2024-02-29 is shown up to 2025-02-28. A minimum period before repair "has passed" once its last
day is over, so repair is possible from the day after; a minimum of zero months means repair is
possible from the decision day.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from dateutil.relativedelta import relativedelta
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Severity(models.TextChoices):
    MINOR = "minor", _("Minor")
    GENERAL = "general", _("General")
    SERIOUS = "serious", _("Serious")


class Category(models.TextChoices):
    ADMINISTRATIVE_LICENCE = "licence", _("Administrative licence")
    ADMINISTRATIVE_PENALTY = "penalty", _("Administrative penalty")
    RED_LIST = "red_list", _("Trustworthiness incentive (red list)")
    SERIOUS_DISHONESTY = "serious_dishonesty", _("Serious-dishonesty list")
    KEY_ATTENTION = "key_attention", _("Key-attention list")
    ABNORMAL_OPERATION = "abnormal_operation", _("Abnormal-operation list")
    CREDIT_COMMITMENT = "commitment", _("Credit commitment")
    DISHONEST_JUDGMENT_DEBTOR = "judgment_debtor", _("Dishonest person subject to enforcement")


# Categories shown for their validity period rather than by a severity rule.
VALIDITY_CATEGORIES = frozenset(
    {Category.ADMINISTRATIVE_LICENCE, Category.RED_LIST, Category.CREDIT_COMMITMENT}
)
# Categories that are dishonesty information: judged by severity, possibly repairable.
DISHONESTY_CATEGORIES = frozenset(set(Category) - VALIDITY_CATEGORIES)


class Disclosure(models.TextChoices):
    DISCLOSED = "disclosed", _("Disclosed")
    NOT_DISCLOSED = "not_disclosed", _("Not disclosed")
    WHERE_NECESSARY = "where_necessary", _("Only where the catalog item says disclosure is truly necessary")


@dataclass(frozen=True)
class SeverityRule:
    """One row of a rule set: what happens to dishonesty information of one severity.
    ``disclosure_months`` is the longest it is shown; ``repair_after_months`` the shortest."""

    disclosure: str
    repair_after_months: int
    disclosure_months: int

    def disclosed(self, *, disclosure_necessary: bool) -> bool:
        if self.disclosure == Disclosure.WHERE_NECESSARY:
            return disclosure_necessary
        return self.disclosure == Disclosure.DISCLOSED


@dataclass(frozen=True)
class Periods:
    """A record's computed dates. ``disclosure_end`` is the last day the record is shown
    (inclusive); both disclosure dates are None when the rules say it is not disclosed.
    ``earliest_repair_on`` is None when repair does not apply."""

    disclosure_start: dt.date | None
    disclosure_end: dt.date | None
    earliest_repair_on: dt.date | None


def add_months(day: dt.date, months: int) -> dt.date:
    """The corresponding day ``months`` later, or the last day of that month (Civil Code 202)."""
    return day + relativedelta(months=months)


def dishonesty_periods(
    *, decision_date: dt.date, rule: SeverityRule, repairable: bool, disclosure_necessary: bool
) -> Periods:
    """``disclosure_necessary``: the catalog item's word on information the rule discloses
    only where necessary."""
    if not rule.disclosed(disclosure_necessary=disclosure_necessary):
        return Periods(None, None, None)
    end = add_months(decision_date, rule.disclosure_months)
    earliest = None
    if repairable:
        if rule.repair_after_months == 0:
            earliest = decision_date
        else:
            earliest = add_months(decision_date, rule.repair_after_months) + dt.timedelta(days=1)
    return Periods(decision_date, end, earliest)


def validity_periods(*, valid_from: dt.date, valid_until: dt.date) -> Periods:
    """Licences, red lists and commitments are shown for exactly their validity period."""
    return Periods(valid_from, valid_until, None)


def day_start(day: dt.date) -> dt.datetime:
    """Midnight at the start of ``day`` in the site's time zone: where a day of disclosure
    begins (records lapse then; pages and the feed turn the day then)."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))
