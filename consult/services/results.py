"""What residents may see of a tally: ranked items, with small counts withheld."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from consult.models import Compound, Survey
from consult.services.surveys import offered_items
from consult.services.tallies import compound_menu

#: Figures drawn from fewer households than this are not shown in public.
PUBLIC_MIN_COUNT = 5


@dataclass(frozen=True)
class PublicItem:
    """One ranked item as the public page shows it."""

    id: str
    rank: int
    category: str
    name_zh: str
    name_en: str
    #: None when fewer than PUBLIC_MIN_COUNT households approve it.
    approvals: int | None
    #: Support in percent (rounded), None when withheld.
    percent: int | None
    #: 95 % interval in percent, None when withheld.
    interval: tuple[int, int] | None
    #: Whether the item cannot be told apart from the one ranked just above it.
    tied_with_previous: bool


@dataclass(frozen=True)
class PublicResults:
    """The public view of a compound's menu."""

    responses: int
    households: int
    #: False while fewer than `minimum` households have answered.
    shown: bool
    items: list[PublicItem]
    #: Figures from fewer households than this are withheld.
    minimum: int = PUBLIC_MIN_COUNT
    #: Only ballots verified by a household code or on paper are counted.
    verified_only: bool = False


def shown_count(count: int, minimum: int = PUBLIC_MIN_COUNT) -> int | None:
    """Return the count if it may be published (0 or at least the minimum), else None."""
    return count if count == 0 or count >= minimum else None


def public_results(
    session: Session, compound: Compound, survey: Survey, *, minimum: int = PUBLIC_MIN_COUNT
) -> PublicResults:
    """Tally the survey and keep what may be published."""
    menu = compound_menu(session, compound, survey)
    names = {item.id: item for item in offered_items(session, survey)}
    responses = int(menu["responses"])
    items: list[PublicItem] = []
    previous: dict[str, Any] | None = None
    for entry in menu["items"]:
        approvals = shown_count(int(entry["approvals"]), minimum)
        low, high = entry["ci95"]
        items.append(
            PublicItem(
                id=entry["id"],
                rank=int(entry["rank"]),
                category=entry["category"],
                name_zh=names[entry["id"]].name_zh,
                name_en=names[entry["id"]].name_en,
                approvals=approvals,
                percent=round(100 * entry["support"]) if approvals is not None else None,
                interval=(round(100 * low), round(100 * high)) if approvals is not None else None,
                tied_with_previous=previous is not None
                and previous["id"] in entry.get("tied_with", []),
            )
        )
        previous = entry
    return PublicResults(
        responses=responses,
        households=int(menu["households"]),
        shown=responses >= minimum,
        items=items,
        minimum=minimum,
        verified_only=bool(menu.get("verified_only")),
    )
