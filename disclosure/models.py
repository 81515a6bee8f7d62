"""Entities, the catalog, the departments that provide records, the rule sets, the records
and their append-only event log.

What the public may see is decided in exactly one place: ``CreditRecordQuerySet.disclosed``.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from ops.fields import request_id_field

from . import rules, uscc
from .fold import fold
from .rules import Category, Severity


class BilingualName(models.Model):
    """A Chinese name with an English one for the English pages."""

    name = models.CharField(_("name"), max_length=200)
    name_en = models.CharField(_("English name"), max_length=200, blank=True)

    class Meta:
        abstract = True

    def __str__(self):
        return self.name

    @property
    def display_name(self) -> str:
        if self.name_en and (get_language() or "").startswith("en"):
            return self.name_en
        return self.name


class EntityKind(models.TextChoices):
    ENTERPRISE = "enterprise", _("Enterprise")
    INDIVIDUAL_BUSINESS = "individual_business", _("Individual business")
    SOCIAL_ORGANISATION = "social_organisation", _("Social organisation")
    PUBLIC_INSTITUTION = "public_institution", _("Public institution")
    GOVERNMENT_BODY = "government_body", _("Government body")
    NATURAL_PERSON = "natural_person", _("Natural person in a key profession")


class Entity(models.Model):
    code = models.CharField(
        _("unified social credit code"),
        max_length=18,
        unique=True,
        null=True,
        blank=True,
        help_text=_("18 characters (GB 32100-2015). Empty only for natural persons."),
    )
    name = models.CharField(_("name"), max_length=200)
    search_name = models.CharField(max_length=200, editable=False, db_index=True)
    kind = models.CharField(_("kind"), max_length=32, choices=EntityKind.choices)
    registration_authority = models.CharField(
        _("registration authority"), max_length=1, blank=True, editable=False
    )
    entity_type = models.CharField(_("entity type"), max_length=1, blank=True, editable=False)
    division_code = models.CharField(_("division code"), max_length=6, blank=True, editable=False)
    province_code = models.CharField(_("province"), max_length=2, blank=True, editable=False, db_index=True)
    region = models.CharField(_("region"), max_length=100, blank=True, editable=False)
    legal_representative = models.CharField(_("legal representative"), max_length=100, blank=True)
    id_number_digest = models.CharField(max_length=64, unique=True, null=True, blank=True, editable=False)
    id_number_masked = models.CharField(_("identity number"), max_length=18, blank=True, editable=False)
    indexed_names = models.JSONField(
        default=list,
        blank=True,
        editable=False,
        help_text="The names as last written to the search index, to update it by difference.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Bumped with every change to any of the entity's records (services write it with the
    # record's event), so the entity page's validators need no look at the records.
    records_version = models.PositiveIntegerField(default=0, db_default=0, editable=False)
    records_changed_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("entity")
        verbose_name_plural = _("entities")
        constraints = [
            models.CheckConstraint(
                name="entity_person_has_identity_not_code",
                condition=(
                    Q(kind=EntityKind.NATURAL_PERSON, code__isnull=True, id_number_digest__isnull=False)
                    | (~Q(kind=EntityKind.NATURAL_PERSON) & Q(code__isnull=False))
                ),
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.code or self.id_number_masked})"

    def save(self, *args, **kwargs):
        self.search_name = fold(self.name)
        if kwargs.get("update_fields") is not None and "name" in kwargs["update_fields"]:
            kwargs["update_fields"] = {*kwargs["update_fields"], "search_name"}
        super().save(*args, **kwargs)

    @property
    def registration_authority_name(self):
        entry = uscc.AUTHORITIES.get(self.registration_authority)
        if entry is None:
            return self.registration_authority
        type_name = entry[1].get(self.entity_type)
        return f"{entry[0]} · {type_name}" if type_name else entry[0]

    @property
    def public_identifier(self) -> str:
        """What identifies the entity on public pages: its code, or a masked identity number."""
        return self.code or self.id_number_masked


class FormerName(models.Model):
    entity = models.ForeignKey(Entity, on_delete=models.CASCADE, related_name="former_names")
    name = models.CharField(_("former name"), max_length=200)
    search_name = models.CharField(max_length=200, editable=False)
    changed_on = models.DateField(_("changed on"), help_text=_("The day the name stopped being used."))

    class Meta:
        verbose_name = _("former name")
        verbose_name_plural = _("former names")
        ordering = ["-changed_on"]
        constraints = [
            models.UniqueConstraint(fields=["entity", "name"], name="former_name_unique_per_entity"),
        ]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        self.search_name = fold(self.name)
        super().save(*args, **kwargs)


class Department(BilingualName):
    """An authority that decides penalties or listings and provides the records."""

    code = models.SlugField(_("code"), max_length=50, unique=True)
    scope = models.ManyToManyField(
        "CatalogItem",
        related_name="departments_in_scope",
        blank=True,
        verbose_name=_("business scope"),
        help_text=_("The kinds of record this department may publish."),
    )
    staff = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        related_name="departments",
        blank=True,
        verbose_name=_("staff"),
        help_text=_("Users who act for this department: they see and edit only its records."),
    )

    class Meta:
        verbose_name = _("department")
        verbose_name_plural = _("departments")
        ordering = ["code"]


class LegalBasisLevel(models.TextChoices):
    LAW = "law", _("Law")
    ADMINISTRATIVE_REGULATION = "administrative_regulation", _("Administrative regulation")
    LOCAL_REGULATION = "local_regulation", _("Local regulation")
    CENTRAL_POLICY = "central_policy", _("Policy document of the central authorities")


class DisclosureAttribute(models.TextChoices):
    PUBLIC = "public", _("Public")
    SHARED = "shared", _("Shared between departments")
    AUTHORIZED = "authorized", _("Released on authorization")


class Subjects(models.TextChoices):
    """Which kinds of entity a catalog item's records may concern (信用主体类型)."""

    ORGANISATIONS = "organisations", _("Legal persons and unincorporated organisations")
    NATURAL_PERSONS = "natural_persons", _("Natural persons")
    BOTH = "both", _("Organisations and natural persons")


class CatalogItem(BilingualName):
    """One entry of the public credit information catalog (公共信用信息目录)."""

    code = models.SlugField(_("code"), max_length=50, unique=True)
    category = models.CharField(_("category"), max_length=32, choices=Category.choices)
    subjects = models.CharField(
        _("subjects"),
        max_length=16,
        choices=Subjects.choices,
        # Both: what every item allowed before items said; an item narrows it.
        default=Subjects.BOTH,
        help_text=_(
            "The kinds of entity its records may concern (信用主体类型): organisations (every entity with a "
            "unified social credit code: enterprises, individual businesses, social organisations, public "
            "institutions, government bodies), natural persons in key professions, or both. A record about "
            "another kind is refused, in the admin and in intake; a kind that disclosed records concern "
            "cannot be left out."
        ),
    )
    legal_basis = models.TextField(_("legal basis"))
    legal_basis_level = models.CharField(
        _("level of legal basis"), max_length=32, choices=LegalBasisLevel.choices
    )
    provider = models.ForeignKey(
        Department,
        on_delete=models.PROTECT,
        related_name="provided_items",
        verbose_name=_("providing department"),
    )
    disclosure_attribute = models.CharField(
        _("disclosure attribute"),
        max_length=16,
        choices=DisclosureAttribute.choices,
        default=DisclosureAttribute.PUBLIC,
        help_text=_("Only public items are shown on the site and in the API."),
    )
    severity = models.CharField(
        _("default severity"),
        max_length=16,
        choices=Severity.choices,
        blank=True,
        help_text=_("For dishonesty information: the severity a record takes unless it states one."),
    )
    repairable = models.BooleanField(_("repairable"), default=True)
    minor_disclosure_necessary = models.BooleanField(
        _("minor information: disclosure truly necessary"),
        default=False,
        help_text=_(
            "Minor dishonesty information is in principle not disclosed (《信用修复管理办法》, 2026). "
            "Tick only where the providing department has found its disclosure truly necessary: it "
            "is then shown for at most the rule set's period (3 months). Records already published "
            "change only when their rule set's periods are recomputed."
        ),
    )

    class Meta:
        verbose_name = _("catalog item")
        verbose_name_plural = _("catalog items")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(name="catalog_item_subjects_known", condition=Q(subjects__in=Subjects.values)),
        ]

    @property
    def is_dishonesty(self) -> bool:
        return self.category in rules.DISHONESTY_CATEGORIES

    def applies_to(self, kind: str) -> bool:
        """Whether a record of this item may concern an entity of ``kind`` (an ``EntityKind``).
        The one rule: the record services (and so the admin) and intake's row check ask it."""
        if self.subjects == Subjects.BOTH:
            return True
        return (kind == EntityKind.NATURAL_PERSON) == (self.subjects == Subjects.NATURAL_PERSONS)


class DisclosureRuleSetQuerySet(models.QuerySet):
    def in_force_on(self, day: dt.date) -> DisclosureRuleSet | None:
        return self.filter(effective_from__lte=day).order_by("-effective_from").first()


class DisclosureRuleSet(models.Model):
    """The disclosure periods of one national document, versioned by the date it took effect.
    A record is judged by the set in force on its decision date; a set stops applying the day
    before the next one takes effect (derived, so adding a set is one row)."""

    name = models.CharField(_("name"), max_length=200)
    document_title = models.CharField(
        _("document"), max_length=300, help_text=_("The title as published, e.g. 《信用修复管理办法》.")
    )
    document_number = models.CharField(
        _("document number"), max_length=100, help_text=_("e.g. 国家发展改革委令2025年第36号.")
    )
    issuing_authority = models.CharField(_("issued by"), max_length=200)
    published_on = models.DateField(_("published on"), null=True)
    effective_from = models.DateField(
        _("in force from"),
        unique=True,
        help_text=_("Records decided on or after this day are judged by this set, until the next set."),
    )
    source = models.TextField(_("notes on the source"), blank=True)

    objects = DisclosureRuleSetQuerySet.as_manager()

    class Meta:
        verbose_name = _("disclosure rule set")
        verbose_name_plural = _("disclosure rule sets")
        ordering = ["-effective_from"]

    def __str__(self):
        return f"{self.name} ({self.effective_from})"

    @property
    def citation(self) -> str:
        return f"{self.document_title}（{self.document_number}）"

    def in_force_until(self) -> dt.date | None:
        """The last day the set applied: the day before the next set took effect, or None
        while it is the newest."""
        following = (
            DisclosureRuleSet.objects.filter(effective_from__gt=self.effective_from)
            .order_by("effective_from")
            .values_list("effective_from", flat=True)
            .first()
        )
        return following - dt.timedelta(days=1) if following else None

    def rule_for(self, severity: str) -> rules.SeverityRule | None:
        """The rule for ``severity`` (from prefetched rules when there are), or None when the
        set lacks one."""
        row = next((row for row in self.rules.all() if row.severity == severity), None)
        return row.as_rule() if row else None


class DisclosureRule(models.Model):
    rule_set = models.ForeignKey(DisclosureRuleSet, on_delete=models.CASCADE, related_name="rules")
    severity = models.CharField(_("severity"), max_length=16, choices=Severity.choices)
    disclosure = models.CharField(
        _("disclosed"), max_length=16, choices=rules.Disclosure.choices, default=rules.Disclosure.DISCLOSED
    )
    repair_after_months = models.PositiveSmallIntegerField(
        _("earliest repair (months after the decision)"),
        help_text=_("The shortest disclosure period. 0: as soon as the obligations are met."),
    )
    disclosure_months = models.PositiveSmallIntegerField(
        _("disclosure ends (months after the decision)"), help_text=_("The longest disclosure period.")
    )
    provision = models.TextField(
        _("provision"), blank=True, help_text=_("What the document says about these figures, in its words.")
    )

    class Meta:
        verbose_name = _("disclosure rule")
        verbose_name_plural = _("disclosure rules")
        constraints = [
            models.UniqueConstraint(fields=["rule_set", "severity"], name="one_rule_per_severity"),
            models.CheckConstraint(
                name="repair_within_disclosure",
                condition=Q(repair_after_months__lte=models.F("disclosure_months")),
            ),
        ]

    def __str__(self):
        return f"{self.rule_set} / {self.get_severity_display()}"

    def as_rule(self) -> rules.SeverityRule:
        return rules.SeverityRule(
            disclosure=self.disclosure,
            repair_after_months=self.repair_after_months,
            disclosure_months=self.disclosure_months,
        )


class RecordStatus(models.TextChoices):
    DISCLOSED = "disclosed", _("Disclosed")
    WITHDRAWN = "withdrawn", _("Withdrawn after repair")
    REVOKED = "revoked", _("Revoked")
    SUPERSEDED = "superseded", _("Superseded by a correction")


# What the public may see, in named pieces. Every reader (pages, lists, the agency feed, the
# snapshot, the digest, the expiry job, repair) builds on these and nothing restates them;
# ``prefix`` reaches a record through a relation (``"record__"``).


def published_q(prefix: str = "") -> Q:
    """Records the public side may ever show: disclosed status, a public catalog item, and
    disclosure dates (a record the rules do not disclose has none)."""
    return Q(
        **{
            f"{prefix}status": RecordStatus.DISCLOSED,
            f"{prefix}catalog_item__disclosure_attribute": DisclosureAttribute.PUBLIC,
            f"{prefix}disclosure_start__isnull": False,
        }
    )


def shown_on_q(day: dt.date, prefix: str = "") -> Q:
    """Published records whose period covers ``day`` (both ends inclusive)."""
    return published_q(prefix) & Q(**{f"{prefix}disclosure_start__lte": day, f"{prefix}disclosure_end__gte": day})


def held_on_q(day: dt.date, prefix: str = "") -> Q:
    """Published records shown on ``day`` or later (a licence valid from next month): what an
    agency's copy holds on ``day``, since no event marks a record's first day."""
    return published_q(prefix) & Q(**{f"{prefix}disclosure_end__gte": day})


def expiry_due_q(day: dt.date) -> Q:
    """Disclosed records whose period ended before ``day`` and whose lapse is not yet written
    to their history (and to agencies' feeds)."""
    return Q(status=RecordStatus.DISCLOSED, disclosure_end__lt=day, expiry_recorded_on__isnull=True)


class CreditRecordQuerySet(models.QuerySet):
    def disclosed(self, *, on: dt.date | None = None) -> CreditRecordQuerySet:
        """The records the public may see on ``on`` (default: today in the site's time zone).

        The one place that decides visibility: every page, list, export and API response
        starts here. A record is visible from its disclosure start to its disclosure end
        inclusive, while its status is ``disclosed`` and its catalog item is public; a record
        the rules do not disclose has no disclosure dates and never matches.
        """
        return self.filter(shown_on_q(on or timezone.localdate()))

    def disclosed_now_or_later(self, *, on: dt.date | None = None) -> CreditRecordQuerySet:
        """``disclosed(on=)`` plus the records whose disclosure starts after ``on``: what
        agencies' copies hold (see ``held_on_q``). The public pages never use it."""
        return self.filter(held_on_q(on or timezone.localdate()))

    def expiry_due(self, *, on: dt.date | None = None) -> CreditRecordQuerySet:
        return self.filter(expiry_due_q(on or timezone.localdate()))

    def for_department_staff(self, user) -> CreditRecordQuerySet:
        if user.is_superuser:
            return self
        return self.filter(department__staff=user)


class CreditRecord(models.Model):
    entity = models.ForeignKey(
        Entity, on_delete=models.PROTECT, related_name="records", verbose_name=_("entity")
    )
    catalog_item = models.ForeignKey(
        CatalogItem, on_delete=models.PROTECT, related_name="records", verbose_name=_("kind of record")
    )
    department = models.ForeignKey(
        Department, on_delete=models.PROTECT, related_name="records", verbose_name=_("department")
    )
    decision_number = models.CharField(
        _("decision document number"), max_length=100, help_text=_("Unique within the department.")
    )
    decision_date = models.DateField(_("decision date"))
    facts = models.TextField(_("facts"))
    legal_basis_cited = models.TextField(_("legal basis cited"))
    outcome = models.TextField(_("outcome"), help_text=_("The measure decided, e.g. a fine or a listing."))
    penalty_amount = models.DecimalField(
        _("amount (yuan)"), max_digits=16, decimal_places=2, null=True, blank=True
    )
    severity = models.CharField(
        _("severity"),
        max_length=16,
        choices=Severity.choices,
        blank=True,
        help_text=_("Dishonesty information only; defaults to the catalog item's severity."),
    )
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_until = models.DateField(_("valid until"), null=True, blank=True)

    rule_set = models.ForeignKey(
        DisclosureRuleSet,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        verbose_name=_("rule set applied"),
    )
    disclosure_start = models.DateField(
        _("disclosed from"),
        null=True,
        blank=True,
        editable=False,
        help_text=_("The decision date, or the start of validity for licences, red lists and commitments."),
    )
    disclosure_end = models.DateField(
        _("disclosed until"),
        null=True,
        blank=True,
        editable=False,
        help_text=_(
            "Last day shown (inclusive): the decision date plus the rule set's period for the "
            "severity (Civil Code Arts. 201-202), or the end of validity. Empty when the rules "
            "do not disclose the record."
        ),
    )
    earliest_repair_on = models.DateField(
        _("repair possible from"),
        null=True,
        blank=True,
        editable=False,
        help_text=_("The day after the rule set's minimum period; empty when repair does not apply."),
    )
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=RecordStatus.choices,
        default=RecordStatus.DISCLOSED,
        editable=False,
    )
    status_reason = models.TextField(_("reason for the status"), blank=True, editable=False)
    status_changed_at = models.DateTimeField(null=True, blank=True, editable=False)
    superseded_by = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        related_name="supersedes",
    )
    expiry_recorded_on = models.DateField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = CreditRecordQuerySet.as_manager()

    class Meta:
        verbose_name = _("credit record")
        verbose_name_plural = _("credit records")
        constraints = [
            models.UniqueConstraint(
                fields=["department", "decision_number"],
                condition=~Q(status="superseded"),
                name="decision_number_unique_per_department",
                violation_error_message=_("This department already has a record with that decision number."),
            ),
            models.CheckConstraint(
                name="validity_in_order",
                condition=Q(valid_from__isnull=True)
                | Q(valid_until__isnull=True)
                | Q(valid_from__lte=models.F("valid_until")),
                violation_error_message=_("“Valid until” must not be before “valid from”."),
            ),
            # Both dates or neither: spelled with IS NOT NULL, since a CHECK whose condition is
            # NULL (a start compared with a missing end) passes.
            models.CheckConstraint(
                name="disclosure_dates_together",
                condition=Q(disclosure_start__isnull=True, disclosure_end__isnull=True)
                | Q(
                    disclosure_start__isnull=False,
                    disclosure_end__isnull=False,
                    disclosure_start__lte=models.F("disclosure_end"),
                ),
            ),
        ]
        indexes = [
            models.Index(
                fields=["entity", "disclosure_end"],
                condition=Q(status="disclosed"),
                name="record_entity_disclosed",
            ),
            models.Index(
                fields=["disclosure_end"],
                condition=Q(status="disclosed"),
                name="record_disclosed_end",
            ),
            models.Index(fields=["-decision_date", "-id"], name="record_newest"),
            # Records whose period ended and whose expiry event is not written yet: a handful
            # on any day, so checking for them on every feed poll costs nothing.
            models.Index(
                fields=["disclosure_end"],
                condition=Q(status="disclosed", expiry_recorded_on__isnull=True),
                name="record_expiry_due",
            ),
        ]

    def __str__(self):
        return f"{self.decision_number} · {self.entity.name}"

    @property
    def category(self) -> str:
        return self.catalog_item.category

    @property
    def repair_open(self) -> bool:
        """Whether an application for credit repair can be made today (the repair service
        still checks the rest: no open application, no bar)."""
        return self.earliest_repair_on is not None and self.earliest_repair_on <= timezone.localdate()


class EventKind(models.TextChoices):
    CREATED = "created", _("Created")
    CORRECTED = "corrected", _("Corrected")
    WITHDRAWN = "withdrawn", _("Withdrawn after repair")
    REDISCLOSED = "redisclosed", _("Disclosed again")
    REVOKED = "revoked", _("Revoked")
    SUPERSEDED = "superseded", _("Superseded")
    EXPIRED = "expired", _("Disclosure period ended")
    ENTITY_RENAMED = "entity_renamed", _("Entity renamed")
    CATALOG_CHANGED = "catalog_changed", _("Catalog item changed")


class FeedType(models.TextChoices):
    """What an event tells agencies' copies. ``disclosed`` and ``updated`` carry the whole
    document; the others are tombstones: the record leaves the copies."""

    DISCLOSED = "disclosed", _("Disclosed")
    UPDATED = "updated", _("Updated")
    WITHDRAWN = "withdrawn", _("Withdrawn after repair")
    REVOKED = "revoked", _("Revoked")
    EXPIRED = "expired", _("Disclosure period ended")
    REMOVED = "removed", _("No longer published")


TOMBSTONES = frozenset({FeedType.WITHDRAWN, FeedType.REVOKED, FeedType.EXPIRED, FeedType.REMOVED})


class AppendOnlyQuerySet(models.QuerySet):
    def in_feed(self):
        """The events that changed what agencies' copies hold: the agency feed."""
        return self.exclude(feed_type="")

    def update(self, **kwargs):
        raise TypeError("Record events are append-only.")

    def delete(self):
        raise TypeError("Record events are append-only.")


class RecordEvent(models.Model):
    """Every change to a record, written in the same transaction as the change: who, when,
    why, what changed. Never updated or deleted (PostgreSQL enforces it with a trigger)."""

    record = models.ForeignKey(CreditRecord, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(_("event"), max_length=16, choices=EventKind.choices)
    occurred_at = models.DateTimeField(_("time"), default=timezone.now)
    effective_on = models.DateField(
        _("effective on"), help_text=_("The day the change takes effect for the public.")
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    actor_label = models.CharField(_("by"), max_length=200)
    reason = models.TextField(_("reason"), blank=True)
    reference = models.CharField(
        _("reference"),
        max_length=64,
        blank=True,
        help_text=_("What the change came from, e.g. a repair application number."),
    )
    changes = models.JSONField(_("what changed"), default=dict, blank=True)
    # What the event told agencies, fixed when it was written: the feed reads these and
    # nothing else, so an event once served at a cursor is served the same way forever.
    feed_type = models.CharField(
        _("in the agency feed as"), max_length=16, choices=FeedType.choices, blank=True,
        help_text=_("Empty: the change did not alter what agencies' copies hold."),
    )  # fmt: skip
    document = models.TextField(_("published document"), blank=True)
    request_id = request_id_field()

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        verbose_name = _("record event")
        verbose_name_plural = _("record events")
        ordering = ["id"]
        indexes = [
            models.Index(fields=["record", "id"], name="event_record"),
            models.Index(fields=["id"], condition=~Q(feed_type=""), name="event_feed"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} · {self.record_id} · {self.occurred_at:%Y-%m-%d %H:%M}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise TypeError("Record events are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("Record events are append-only.")


class PublishedDocument(models.Model):
    """The document agencies' copies hold for a record, as of the latest event in the feed:
    written by ``disclosure.publication`` in the same transaction as that event, so the
    snapshot (these rows) and a replay of the feed are always the same set."""

    record = models.OneToOneField(
        CreditRecord, on_delete=models.CASCADE, primary_key=True, related_name="published"
    )
    version = models.CharField(max_length=32)
    document = models.TextField()

    class Meta:
        verbose_name = _("published document")
        verbose_name_plural = _("published documents")

    def __str__(self):
        return f"{self.record_id} @ {self.version}"


class ExpiryDay(models.Model):
    """A day whose expiry events are all written: the daily job
    (``services.records_record_expiries``) adds the row in the same transaction as the day's
    last expiry events. The agency feed shows no event of a later day until that day's row
    is here (``disclosure.feed``)."""

    day = models.DateField(_("day"), primary_key=True)
    written_at = models.DateTimeField(_("written at"))
    expiry_events = models.PositiveIntegerField(_("expiry events written that day"), default=0)

    class Meta:
        verbose_name = _("day whose expiries are written")
        verbose_name_plural = _("days whose expiries are written")

    def __str__(self):
        return self.day.isoformat()


class NameGram(models.Model):
    """Search postings: entity ``entity`` has the 1- or 2-character ``gram`` in its current
    name (``in_current``) or only in a former name. Exact for 1- and 2-character queries;
    the candidates for longer ones. Maintained by ``disclosure.search``.

    Keyed by (gram, entity), with no surrogate id: the key's index is the one every search
    reads. The foreign key is not a database constraint: the rows are derived data, rebuilt
    from the names, and tens of millions of constraint checks would dominate bulk loads."""

    pk = models.CompositePrimaryKey("gram", "entity")
    gram = models.CharField(max_length=2)
    entity = models.ForeignKey(Entity, on_delete=models.CASCADE, related_name="grams", db_constraint=False)
    in_current = models.BooleanField()

    def __str__(self):
        return f"{self.gram} → {self.entity_id}"


class NameGramCount(models.Model):
    """How many entities have ``gram`` (1 to 4 characters) in their current name, and in any
    of their names: the exact totals of short searches, read in one row."""

    gram = models.CharField(max_length=4, primary_key=True)
    current = models.PositiveIntegerField(default=0)
    any_name = models.PositiveIntegerField(default=0)

    def __str__(self):
        return f"{self.gram}: {self.current}/{self.any_name}"


class Agency(models.Model):
    """A credit service agency authorized to keep a copy of the disclosed records."""

    code = models.SlugField(_("code"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=200)
    contact_email = models.EmailField(_("contact email"), blank=True)
    active = models.BooleanField(
        _("authorized"), default=True, help_text=_("Unticked: every key of the agency stops working at once.")
    )
    created_at = models.DateTimeField(auto_now_add=True)
    applied_cursor = models.BigIntegerField(
        _("cursor applied"),
        null=True,
        blank=True,
        editable=False,
        help_text=_("The last feed cursor the agency reported as applied to its copy."),
    )
    applied_at = models.DateTimeField(_("reported at"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("credit service agency")
        verbose_name_plural = _("credit service agencies")
        ordering = ["code"]

    def __str__(self):
        return self.name

    # What DRF asks of request.user.
    is_authenticated = True
    is_anonymous = False


class AgencyKey(models.Model):
    """An API key: shown once when issued, stored only as its SHA-256 digest."""

    agency = models.ForeignKey(
        Agency, on_delete=models.CASCADE, related_name="keys", verbose_name=_("agency")
    )
    prefix = models.CharField(_("key prefix"), max_length=12, unique=True, editable=False)
    digest = models.CharField(max_length=64, unique=True, editable=False)
    label = models.CharField(_("label"), max_length=100, blank=True)
    created_at = models.DateTimeField(_("issued"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True, editable=False)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.prefix}… ({self.agency})"


class AgencyCall(models.Model):
    """One call of an agency endpoint: which agency, with which key, what, when, answered how."""

    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="calls")
    key = models.ForeignKey(AgencyKey, on_delete=models.SET_NULL, null=True, related_name="calls")
    method = models.CharField(max_length=8)
    endpoint = models.CharField(max_length=300)
    status = models.PositiveSmallIntegerField()
    at = models.DateTimeField(default=timezone.now, db_index=True)
    request_id = request_id_field()

    class Meta:
        verbose_name = _("agency call")
        verbose_name_plural = _("agency calls")
        ordering = ["-at"]

    def __str__(self):
        return f"{self.agency_id} {self.method} {self.endpoint} {self.status}"


class PageCacheDebt(models.Model):
    """Tokens of the shared page cache that a write could not renew because the cache did
    not answer (``disclosure.pagecache``): the pages kept under them may show the state
    before that write. Written after the write commits; the first reader to find the cache's
    lease gone renews these tokens and deletes the rows it paid."""

    # The token keys (``gen:…``); ["gen:site"] when there were too many to list, which
    # retires every kept page.
    keys = models.JSONField(_("tokens to renew"))
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("page cache renewal owed")
        verbose_name_plural = _("page cache renewals owed")

    def __str__(self):
        return f"{len(self.keys)} tokens @ {self.recorded_at:%Y-%m-%d %H:%M:%S}"
