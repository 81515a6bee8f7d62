import pytest
from django.core.exceptions import ValidationError

from disclosure import uscc

VALID = [
    "91110000600037341L",  # the example in GB 32100: enterprise, market regulation
    "92320506000000000D",  # individual business without an organisation code
    "51310115501234569K",  # social group, civil affairs
    "12100000400001117G",  # public institution
    "N2330106MA2B3C4D1G",  # village collective economic organisation: letter authority
    "A1110000123456788L",  # military public institution: letter authority
    "Y1440305MA5FXK2L9F",  # other: letter authority, letters in the organisation code
]


@pytest.mark.parametrize("code", VALID)
def test_valid_codes_pass_unchanged(code):
    assert uscc.validate(code) == code
    assert uscc.warnings(code) == []


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("９１１１００００６０００３７３４１Ｌ", "91110000600037341L"),  # full-width
        ("9111 0000 6000 3734 1l", "91110000600037341L"),  # spaces, lower case
        ("911100-006000-37341L", "91110000600037341L"),  # hyphens
        ("  91110000600037341L\u3000", "91110000600037341L"),  # ideographic space
        ("ｎ２３３０１０６ｍａ２ｂ３ｃ４ｄ１ｇ", "N2330106MA2B3C4D1G"),  # full-width lower case
    ],
)
def test_normalize_folds_what_people_type(typed, expected):
    assert uscc.normalize(typed) == expected
    assert uscc.validate(typed) == expected


def test_check_character_matches_the_standard_example():
    assert uscc.check_character("91110000600037341") == "L"
    assert uscc.WEIGHTS == (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def _message(text):
    with pytest.raises(ValidationError) as caught:
        uscc.validate(text)
    (message,) = caught.value.messages
    return caught.value.code, message


@pytest.mark.parametrize(
    ("text", "code", "message"),
    [
        ("", "empty", "Enter a Unified Social Credit Code."),
        (
            "9111000060003734",
            "length",
            "A Unified Social Credit Code has 18 characters; this one has 16.",
        ),
        (
            "91110000600037341LL",
            "length",
            "A Unified Social Credit Code has 18 characters; this one has 19.",
        ),
        (
            "91110000600O37341L",
            "character",
            "Character “O” at position 12 is not allowed: a code uses digits and the capital "
            "letters A-Y except I, O, S, V and Z.",
        ),
        (
            "9111000060003734IL",
            "character",
            "Character “I” at position 17 is not allowed: a code uses digits and the capital "
            "letters A-Y except I, O, S, V and Z.",
        ),
        (
            "91110000600037341M",
            "check",
            "The check character (position 18) should be “L”, not “M”.",
        ),
        (
            "91110000600037341Z",
            "character",
            "Character “Z” at position 18 is not allowed: a code uses digits and the capital "
            "letters A-Y except I, O, S, V and Z.",
        ),
    ],
)
def test_each_error_says_exactly_what_is_wrong(text, code, message, english):
    assert _message(text) == (code, message)


def test_error_messages_are_translated_to_chinese():
    from django.utils import translation

    with translation.override("zh-hans"):
        _code, message = _message("91110000600037341M")
    assert message == "第18位校验码应为“L”，而不是“M”。"


def test_unknown_authority_and_type_is_a_warning_not_an_error(english):
    code = "9F1100006000373419"
    assert uscc.validate(code) == code
    assert [str(w) for w in uscc.warnings(code)] == [
        "The registration authority and entity type “9F” are not in the GB 32100 table."
    ]


def test_failing_organisation_code_is_a_warning_not_an_error(english):
    code = "91110000600037342" + uscc.check_character("91110000600037342")
    assert uscc.validate(code) == code
    assert [str(w) for w in uscc.warnings(code)] == [
        "The organisation code 60003734-2 fails its GB 11714 check (some early codes do)."
    ]


def test_parse_reads_the_parts(english):
    parts = uscc.parse("N2330106MA2B3C4D1G")
    assert (parts.authority, parts.entity_type, parts.division, parts.organisation_code) == (
        "N",
        "2",
        "330106",
        "MA2B3C4D1",
    )
    assert str(parts.authority_name) == "Agriculture"
    assert str(parts.entity_type_name) == "Village-level collective economic organisation"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("91110000600037341L", True),
        ("9111 0000 6000 3734 1", True),
        ("91110000600037341", True),
        ("北京科技有限公司", False),
        ("Alibaba", False),
        ("12345", False),
    ],
)
def test_looks_like_code(query, expected):
    assert uscc.looks_like_code(query) is expected


def test_letters_in_the_division_code_are_a_warning_not_an_error(english):
    code = "91AB01081234567884"
    assert uscc.validate(code) == code
    assert [str(w) for w in uscc.warnings(code)] == [
        "The administrative division code “AB0108” (positions 3-8) should be 6 digits."
    ]
    assert [str(w) for w in uscc.parse(code).warnings] == [
        "The administrative division code “AB0108” (positions 3-8) should be 6 digits."
    ]


@pytest.mark.parametrize("division", ["11010A", "A10105", "1101Y5"])
def test_one_letter_anywhere_in_the_division_code_is_a_warning(division, english):
    first17 = f"91{division}600037341"
    code = first17 + uscc.check_character(first17)
    assert [str(w) for w in uscc.warnings(code)] == [
        f"The administrative division code “{division}” (positions 3-8) should be 6 digits."
    ]


@pytest.mark.parametrize("dash", ["-", "\u2010", "\u2011", "\u2012", "\u2013", "\u2014", "\u2015", "\u2212"])
def test_every_kind_of_dash_is_stripped_from_a_typed_code(dash):
    typed = f"911100{dash}006000{dash}37341L"
    assert uscc.normalize(typed) == "91110000600037341L"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("91110000600037", False),  # 14 characters
        ("911100006000373", True),  # 15: the shortest taken for a code
        ("91110000600037341L12", True),  # 20: the longest
        ("91110000600037341L123", False),  # 21
        ("9111000060ABCDEFGH", True),  # 10 digits
        ("9111000ABCDEFGHJKL", False),  # 7 digits: a name in Latin letters, not a code
        ("91110000ABCDEFGHJK", True),  # 8 digits
        ("91110000600037341北", False),  # CJK
    ],
)
def test_looks_like_code_at_its_boundaries(query, expected):
    assert uscc.looks_like_code(query) is expected
