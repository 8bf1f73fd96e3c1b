"""Read and check `consult.ballots/1` documents (the engine's input contract)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from operator import methodcaller
from typing import Any, TypeGuard

import numpy as np
from numpy.typing import NDArray

BALLOTS_FORMAT = "consult.ballots/1"
MENU_FORMAT = "consult.menu/1"

#: The largest rank depth a document may give: Borda points stay exact whole numbers.
MAX_RANK_DEPTH = 2**31 - 1

#: How a ballot reached us; ballots without a channel count as "unspecified".
CHANNELS = ("qr", "invite", "paper", "meeting")
UNSPECIFIED = "unspecified"


class TallyInputError(ValueError):
    """A `consult.ballots/1` document that breaks the contract.

    `household` names the offending ballot (None when the fault is not in a
    ballot) and `field` the field at fault, e.g. ``"approve"`` or
    ``"compound.households"``; `compound` is the compound's code when known.
    """

    def __init__(
        self,
        message: str,
        *,
        field: str,
        household: str | None = None,
        compound: str | None = None,
    ) -> None:
        super().__init__(message)
        self.field = field
        self.household = household
        self.compound = compound


@dataclass(frozen=True, slots=True)
class Item:
    """One menu item as the input lists it."""

    id: str
    category: str
    cost: float | None = None
    name_zh: str | None = None
    name_en: str | None = None


@dataclass(frozen=True, slots=True)
class MeetingVote:
    """Hands counted for one item at one meeting."""

    meeting: str
    item: str
    votes_for: int
    against: int
    abstain: int


@dataclass(frozen=True, eq=False)
class Ballots:
    """A checked `consult.ballots/1` document as arrays (n ballots, m items).

    `approve[b, i]` is true when ballot b approves item i; `position[b, i]` is
    the 0-based priority position of item i on ballot b, or -1 when unranked.
    `channel` indexes CHANNELS (4 = unspecified); `building` indexes
    `buildings` (-1 = no building given).
    """

    code: str
    name: str
    households: int
    rank_depth: int
    items: tuple[Item, ...]
    budget: float | None
    household_ids: tuple[str, ...]
    approve: NDArray[np.bool_]
    position: NDArray[np.int16]
    elderly: NDArray[np.bool_]
    children: NDArray[np.bool_]
    verified: NDArray[np.bool_]
    channel: NDArray[np.int8]
    building: NDArray[np.int32]
    buildings: tuple[str, ...]
    meeting_votes: tuple[MeetingVote, ...] = ()

    @property
    def n(self) -> int:
        """Return the number of ballots."""
        return int(self.approve.shape[0])

    @property
    def item_ids(self) -> tuple[str, ...]:
        """Return the item ids in input order."""
        return tuple(item.id for item in self.items)

    @property
    def header(self) -> Header:
        """Return the document's header."""
        return Header(
            code=self.code,
            name=self.name,
            households=self.households,
            rank_depth=self.rank_depth,
            budget=self.budget,
            items=self.items,
            meeting_votes=self.meeting_votes,
        )

    def only_verified(self) -> Ballots:
        """Return the same document keeping only verified ballots."""
        keep = self.verified
        ids = tuple(h for h, k in zip(self.household_ids, keep.tolist(), strict=True) if k)
        return Ballots(
            code=self.code,
            name=self.name,
            households=self.households,
            rank_depth=self.rank_depth,
            items=self.items,
            budget=self.budget,
            household_ids=ids,
            approve=self.approve[keep],
            position=self.position[keep],
            elderly=self.elderly[keep],
            children=self.children[keep],
            verified=self.verified[keep],
            channel=self.channel[keep],
            building=self.building[keep],
            buildings=self.buildings,
            meeting_votes=self.meeting_votes,
        )


_COST = methodcaller("get", "cost")


def _fail(message: str, field: str, household: str | None = None) -> TallyInputError:
    return TallyInputError(message, field=field, household=household)


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_amount(value: object) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return math.isfinite(value) and value >= 0


def _text(doc: Mapping[str, Any], key: str, field: str, *, required: bool) -> str | None:
    value = doc.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value):
        raise _fail(f"{field} must be a non-empty string", field)
    return value


@dataclass(frozen=True, slots=True)
class Header:
    """Everything a `consult.ballots/1` document says besides its ballots."""

    code: str
    name: str
    households: int
    rank_depth: int
    budget: float | None
    items: tuple[Item, ...]
    meeting_votes: tuple[MeetingVote, ...]

    @property
    def item_ids(self) -> tuple[str, ...]:
        """Return the item ids in input order."""
        return tuple(item.id for item in self.items)


def parse_header(
    doc: object, known: tuple[object, tuple[Item, ...]] | None = None
) -> tuple[Header, list[Any]]:
    """Check everything but the ballots; return the header and the raw ballots.

    `known` is a raw item list already checked and its items: a document
    listing equal items reuses them instead of checking them again.
    """
    if not isinstance(doc, Mapping):
        raise _fail("the document must be a JSON object", "format")
    if doc.get("format") != BALLOTS_FORMAT:
        raise _fail(f"format must be {BALLOTS_FORMAT!r}, got {doc.get('format')!r}", "format")
    compound = doc.get("compound")
    if not isinstance(compound, Mapping):
        raise _fail("compound must be an object", "compound")
    code = _text(compound, "code", "compound.code", required=True)
    assert code is not None
    try:
        name = _text(compound, "name", "compound.name", required=False) or ""
        households = compound.get("households")
        if not _is_int(households) or households < 0:
            raise _fail("compound.households must be a whole number >= 0", "compound.households")
        rank_depth = doc.get("rank_depth")
        if not _is_int(rank_depth) or not 0 <= rank_depth <= MAX_RANK_DEPTH:
            raise _fail(
                f"rank_depth must be a whole number from 0 to {MAX_RANK_DEPTH}", "rank_depth"
            )
        budget = doc.get("budget")
        if budget is not None and not _is_amount(budget):
            raise _fail("budget must be a finite amount >= 0", "budget")
        ballots = doc.get("ballots")
        if not isinstance(ballots, list):
            raise _fail("ballots must be a list", "ballots")
        items = _parse_items(doc.get("items"), known)
        meetings = parse_meetings(doc.get("meetings"), items)
    except TallyInputError as error:
        error.compound = code
        raise
    header = Header(
        code=code,
        name=name,
        households=households,
        rank_depth=rank_depth,
        budget=budget,
        items=items,
        meeting_votes=meetings,
    )
    return header, ballots


def _parse_items(raw: object, known: tuple[object, tuple[Item, ...]] | None) -> tuple[Item, ...]:
    if known is not None and raw is known[0]:  # the very list already checked
        return known[1]
    if not isinstance(raw, list):
        raise _fail("items must be a list", "items")
    # Equal lists check out the same, but for a boolean cost equal to 0 or 1.
    if (
        known is not None
        and (raw is known[0] or raw == known[0])
        and bool not in set(map(type, map(_COST, raw)))
    ):
        return known[1]
    items: list[Item] = []
    seen: set[str] = set()
    for k, entry in enumerate(raw):
        where = f"items[{k}]"
        if not isinstance(entry, Mapping):
            raise _fail(f"{where} must be an object", where)
        item_id = _text(entry, "id", f"{where}.id", required=True)
        assert item_id is not None
        if item_id in seen:
            raise _fail(f"{where}.id {item_id!r} is listed twice", f"{where}.id")
        seen.add(item_id)
        category = _text(entry, "category", f"{where}.category", required=True)
        assert category is not None
        cost = entry.get("cost")
        if cost is not None and not _is_amount(cost):
            raise _fail(f"{where}.cost must be a finite amount >= 0", f"{where}.cost")
        items.append(
            Item(
                id=item_id,
                category=category,
                cost=cost,
                name_zh=_text(entry, "name_zh", f"{where}.name_zh", required=False),
                name_en=_text(entry, "name_en", f"{where}.name_en", required=False),
            )
        )
    return tuple(items)


#: The ids of the item tuple last checked against (documents of a city share one).
_LAST_IDS: tuple[object, frozenset[str]] = ((), frozenset())


def _ids_of(items: Sequence[Item]) -> frozenset[str]:
    global _LAST_IDS
    last = _LAST_IDS
    if last[0] is items:
        return last[1]
    ids = frozenset(item.id for item in items)
    if type(items) is tuple:  # immutable (and its Items frozen): safe to remember
        _LAST_IDS = (items, ids)
    return ids


def parse_meetings(raw: object, items: Sequence[Item]) -> tuple[MeetingVote, ...]:
    """Check the optional `meetings` list and return its votes."""
    if raw is None or raw == []:
        return ()
    known = _ids_of(items)
    if not isinstance(raw, list):
        raise _fail("meetings must be a list", "meetings")
    votes: list[MeetingVote] = []
    for k, meeting in enumerate(raw):
        where = f"meetings[{k}]"
        if not isinstance(meeting, Mapping):
            raise _fail(f"{where} must be an object", where)
        meeting_id = _text(meeting, "id", f"{where}.id", required=True)
        assert meeting_id is not None
        _text(meeting, "date", f"{where}.date", required=False)
        raw_votes = meeting.get("votes", [])
        if not isinstance(raw_votes, list):
            raise _fail(f"{where}.votes must be a list", f"{where}.votes")
        for v, vote in enumerate(raw_votes):
            at = f"{where}.votes[{v}]"
            if not isinstance(vote, Mapping):
                raise _fail(f"{at} must be an object", at)
            item = vote.get("item")
            if not isinstance(item, str) or item not in known:
                raise _fail(f"{at}.item {item!r} is not one of the items", f"{at}.item")
            hands = [vote.get(key, 0) for key in ("for", "against", "abstain")]
            for key, count in zip(("for", "against", "abstain"), hands, strict=True):
                if not _is_int(count) or count < 0:
                    raise _fail(f"{at}.{key} must be a whole number >= 0", f"{at}.{key}")
            votes.append(MeetingVote(meeting_id, item, hands[0], hands[1], hands[2]))
    return tuple(votes)


def parse_ballots(doc: object) -> Ballots:
    """Check a `consult.ballots/1` document and return it as arrays.

    Raises TallyInputError naming the ballot (by household) and the field for:
    a malformed file or wrong types, an unknown item, a household twice, a
    priority not approved or listed twice, more priorities than `rank_depth`,
    an unknown channel, and more ballots than households.
    """
    from consult.tally.rows import read_rows_many

    header, raw = parse_header(doc)
    index = {item.id: k for k, item in enumerate(header.items)}
    rows = read_rows_many([raw], index, [header.rank_depth], [header.households], [header.code])
    return Ballots(
        code=header.code,
        name=header.name,
        households=header.households,
        rank_depth=header.rank_depth,
        items=header.items,
        budget=header.budget,
        household_ids=tuple(rows.household_ids),
        approve=rows.approve,
        position=rows.position,
        elderly=rows.elderly,
        children=rows.children,
        verified=rows.verified,
        channel=rows.channel,
        building=rows.building,
        buildings=rows.building_names,
        meeting_votes=header.meeting_votes,
    )
