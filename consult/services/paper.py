"""Paper questionnaires: items are numbered on paper, and typed back as numbers."""

from __future__ import annotations

import re
from dataclasses import dataclass

from consult.models import CatalogItem

_SEPARATORS = re.compile(r"[\s,，、;；/.。]+")


class NumbersError(ValueError):
    """Typed numbers that cannot stand: `reason` is a key the pages translate."""

    def __init__(self, reason: str, token: str = "") -> None:
        super().__init__(f"{reason}: {token}")
        self.reason = reason
        self.token = token


@dataclass(frozen=True)
class NumberedItem:
    """An item with the number it has on paper."""

    number: int
    item: CatalogItem


def numbered(items: list[CatalogItem]) -> list[NumberedItem]:
    """Number the survey's items 1, 2, 3 … in form order (as printed)."""
    return [NumberedItem(n, item) for n, item in enumerate(items, start=1)]


def parse_numbers(text: str, count: int) -> list[int]:
    """Read "3 7 12" (or with commas, 、 or full-width digits) into item numbers.

    Raises NumbersError for a token that is not a number, a number outside 1..count,
    or a number given twice.
    """
    numbers: list[int] = []
    cleaned = text.translate(str.maketrans("０１２３４５６７８９", "0123456789")).strip()[:400]
    for token in filter(None, _SEPARATORS.split(cleaned)):
        if not token.isdecimal() or not token.isascii():
            raise NumbersError("not_a_number", token[:12])
        number = int(token)
        if not 1 <= number <= count:
            raise NumbersError("out_of_range", token[:12])
        if number in numbers:
            raise NumbersError("twice", token[:12])
        numbers.append(number)
    return numbers
