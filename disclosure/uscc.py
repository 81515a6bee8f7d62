"""Unified Social Credit Codes (统一社会信用代码), GB 32100-2015.

An 18-character code: position 1 registration authority, 2 entity type, 3-8 administrative
division, 9-17 organisation code (GB 11714), 18 check character over the first 17.

``validate`` raises for what makes a code invalid (length, a character outside the alphabet,
a wrong check character). What the standard allows but a careful reader should look at twice
(an authority/type pair not in the table, a division code that is not 6 digits, an
organisation code failing its own GB 11714 check, as some real early codes do) is reported by
``warnings``, never raised.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
VALUES = {char: value for value, char in enumerate(ALPHABET)}
WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
LENGTH = 18

ORG_CODE_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)

# Registration authority (position 1) -> (name, {entity type (position 2): name}).
AUTHORITIES: dict[str, tuple[str, dict[str, str]]] = {
    "1": (
        _("Institutional establishment"),
        {
            "1": _("Government body"),
            "2": _("Public institution"),
            "3": _("Mass organisation managed by the central establishment office"),
            "9": _("Other"),
        },
    ),
    "2": (_("Foreign affairs"), {"1": _("Resident foreign news agency"), "9": _("Other")}),
    "3": (
        _("Justice"),
        {
            "1": _("Law firm"),
            "2": _("Notary office"),
            "3": _("Grassroots legal service office"),
            "4": _("Judicial authentication institution"),
            "5": _("Arbitration commission"),
            "9": _("Other"),
        },
    ),
    "4": (_("Culture"), {"1": _("Foreign cultural centre in China"), "9": _("Other")}),
    "5": (
        _("Civil affairs"),
        {
            "1": _("Social group"),
            "2": _("Private non-enterprise unit"),
            "3": _("Foundation"),
            "9": _("Other"),
        },
    ),
    "6": (
        _("Tourism"),
        {
            "1": _("Resident office of a foreign tourism department"),
            "2": _("Resident office of a Hong Kong, Macao or Taiwan tourism department"),
            "9": _("Other"),
        },
    ),
    "7": (
        _("Religious affairs"),
        {
            "1": _("Venue for religious activities"),
            "2": _("Religious college"),
            "9": _("Other"),
        },
    ),
    "8": (_("Trade union"), {"1": _("Grassroots trade union"), "9": _("Other")}),
    "9": (
        _("Market regulation"),
        {
            "1": _("Enterprise"),
            "2": _("Individual business"),
            "3": _("Farmers' specialised cooperative"),
        },
    ),
    "A": (_("Central Military Commission"), {"1": _("Military public institution"), "9": _("Other")}),
    "N": (
        _("Agriculture"),
        {
            "1": _("Group-level collective economic organisation"),
            "2": _("Village-level collective economic organisation"),
            "3": _("Township-level collective economic organisation"),
            "9": _("Other"),
        },
    ),
    "Y": (_("Other"), {"1": _("Other")}),
}


def normalize(text: str) -> str:
    """Fold what people type into the canonical form: full-width to half-width, no spaces or
    hyphens (of any width), upper case."""
    folded = unicodedata.normalize("NFKC", text or "")
    return "".join(ch for ch in folded if not ch.isspace() and ch not in "-‐‑‒–—―−").upper()


def check_character(first17: str) -> str:
    """The check character (position 18) for the first 17 characters of a code."""
    if len(first17) != LENGTH - 1:
        raise ValueError(f"expected 17 characters, got {len(first17)}")
    total = sum(VALUES[char] * weight for char, weight in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def validate(text: str) -> str:
    """Return the normalized code, or raise ``ValidationError`` saying exactly what is wrong."""
    code = normalize(text)
    if not code:
        raise ValidationError(_("Enter a Unified Social Credit Code."), code="empty")
    if len(code) != LENGTH:
        raise ValidationError(
            _("A Unified Social Credit Code has 18 characters; this one has %(length)d."),
            code="length",
            params={"length": len(code)},
        )
    for position, char in enumerate(code, start=1):
        if char not in VALUES:
            raise ValidationError(
                _(
                    "Character “%(char)s” at position %(position)d is not allowed: a code uses "
                    "digits and the capital letters A-Y except I, O, S, V and Z."
                ),
                code="character",
                params={"char": char, "position": position},
            )
    expected = check_character(code[:17])
    if code[17] != expected:
        raise ValidationError(
            _("The check character (position 18) should be “%(expected)s”, not “%(actual)s”."),
            code="check",
            params={"expected": expected, "actual": code[17]},
        )
    return code


def org_code_check_character(first8: str) -> str:
    """GB 11714 check character for the first 8 characters of an organisation code."""
    total = 0
    for char, weight in zip(first8, ORG_CODE_WEIGHTS, strict=True):
        value = int(char) if char.isdigit() else ord(char) - ord("A") + 10
        total += value * weight
    check = 11 - total % 11
    return {10: "X", 11: "0"}.get(check, str(check))


@dataclass(frozen=True)
class CodeParts:
    code: str
    authority: str
    entity_type: str
    division: str
    organisation_code: str
    warnings: list[str] = field(default_factory=list)

    @property
    def authority_name(self):
        entry = AUTHORITIES.get(self.authority)
        return entry[0] if entry else None

    @property
    def entity_type_name(self):
        entry = AUTHORITIES.get(self.authority)
        return entry[1].get(self.entity_type) if entry else None


def warnings(code: str) -> list[str]:
    """What is allowed but unusual about a valid code, as translatable messages."""
    found = []
    entry = AUTHORITIES.get(code[0])
    if entry is None or code[1] not in entry[1]:
        found.append(
            _("The registration authority and entity type “%(pair)s” are not in the GB 32100 table.")
            % {"pair": code[:2]}
        )
    division = code[2:8]
    # The check character covers letters here too, so only this catches them (GB/T 2260 codes
    # are digits).
    if not (division.isascii() and division.isdigit()):
        found.append(
            _("The administrative division code “%(division)s” (positions 3-8) should be 6 digits.")
            % {"division": division}
        )
    org = code[8:17]
    if org == "0" * 9:
        pass  # Individual businesses without an organisation code carry nine zeros.
    elif not org[:8].isalnum() or org_code_check_character(org[:8]) != org[8]:
        found.append(
            _("The organisation code %(org)s fails its GB 11714 check (some early codes do).")
            % {"org": f"{org[:8]}-{org[8]}"}
        )
    return found


def parse(text: str) -> CodeParts:
    """Validate a code and split it into its parts, with any warnings."""
    code = validate(text)
    return CodeParts(
        code=code,
        authority=code[0],
        entity_type=code[1],
        division=code[2:8],
        organisation_code=code[8:17],
        warnings=warnings(code),
    )


def looks_like_code(text: str) -> bool:
    """Whether a search query was meant as a code rather than a name: mostly code characters,
    at least 15 of them, no CJK."""
    code = normalize(text)
    if len(code) < 15 or len(code) > 20:
        return False
    if any("\u4e00" <= ch <= "\u9fff" for ch in code):
        return False
    return sum(ch.isdigit() for ch in code) >= 8


def make_code(authority_and_type: str, division: str, org_first8: str) -> str:
    """Build a valid code (used by demo data and tests): the organisation code gets its
    GB 11714 check character and the whole its GB 32100 check character."""
    first17 = f"{authority_and_type}{division}{org_first8}{org_code_check_character(org_first8)}"
    return first17 + check_character(first17)
