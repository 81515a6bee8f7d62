"""How names are compared in search: full-width and half-width alike, case-insensitive,
white space ignored."""

import unicodedata


def fold(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text or "").casefold().split())


def fold_with_positions(text: str) -> tuple[str, list[int]]:
    """The folded text and, for each of its characters, the index of the character of
    ``text`` it came from (so a match found in the folded text can be highlighted in the
    original)."""
    folded: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(text):
        part = fold(char)
        folded.append(part)
        origin.extend([index] * len(part))
    return "".join(folded), origin
