"""Resident identity numbers (GB 11643): exact reasons, masking inside messages."""

import random

import pytest
from django.core.exceptions import ValidationError
from stdnum.cn import ric

from disclosure import identity

VALID = "11010519491231002X"


def reasons(number: str) -> list[str]:
    try:
        identity.validate(number)
    except ValidationError as exc:
        return exc.messages
    return []


def with_check(first17: str) -> str:
    return first17 + ric.calc_check_digit(first17 + "0")


def test_each_reason_is_said_exactly_and_never_quotes_the_number(english):
    assert identity.validate(" 110105-19491231-002x ") == VALID
    assert reasons("1101051949123100") == ["A resident identity number has 18 characters; this one has 16."]
    assert reasons("11010519491231002Y") == [
        "A resident identity number is 17 digits and a check character, a digit or X."
    ]
    assert reasons("110105194912310021") == ["The check character (position 18) should be “X”, not “1”."]
    assert reasons(with_check("11010519491331002")) == [
        "Positions 7-14 of a resident identity number are a date of birth; these are not."
    ]
    assert reasons(with_check("99999919491231002")) == [
        "Positions 1-6 of this identity number are not the code of a region in its year of birth."
    ]


def test_what_validate_accepts_is_what_stdnum_accepts():
    rng = random.Random(2026)
    divisions = ["110105", "110101", "110200", "130100", "310115", "440305", "500101", "999999"]
    for _ in range(5000):
        first17 = (f"{rng.choice(divisions)}{rng.randint(1900, 2030)}{rng.randint(0, 13):02d}"
                   f"{rng.randint(0, 32):02d}{rng.randint(0, 999):03d}")  # fmt: skip
        number = with_check(first17)
        assert (reasons(number) == []) == ric.is_valid(number), number


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("“11010519491231002X” is not a date", "“110105********002X” is not a date"),
        ("a wrong one 110105194912310021, too", "a wrong one 110105********0021, too"),
        ("codes stay: 91110000600037341L 911101052000000179", "codes stay: 91110000600037341L 911101052000000179"),
        ("longer runs stay: 11010519491231002X9", "longer runs stay: 11010519491231002X9"),
        ("short", "short"),
    ],
)
def test_mask_in_masks_what_looks_like_an_identity_number(text, masked):
    assert identity.mask_in(text) == masked
