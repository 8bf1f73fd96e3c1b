"""Turn the ballots of one or many compounds into arrays, checking every field.

The fast path reads and checks every ballot of a batch at once: in one
compiled pass (`_reader.pyx`, built when the package is installed where a C
compiler is) or, without it, with C-level passes of the standard library over
each field (`bulk.py`). When anything looks wrong, a slow path walks the
ballots one by one to name the first faulty ballot and field (or, finding
none, reads them one by one).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from itertools import chain
from types import NoneType
from typing import Any

import numpy as np
from numpy.typing import NDArray

from consult.tally import bulk
from consult.tally.bulk import CHANNEL_CODE, FLAGS
from consult.tally.contract import CHANNELS, TallyInputError

try:
    from consult.tally import _reader
except ImportError:  # installed without a C compiler: the pure-Python reader reads alone
    _reader = None  # type: ignore[assignment]

#: Whether the bulk reading is the compiled one (tests switch it off to hold the other).
COMPILED = _reader is not None

_NAMED_CHANNEL = {name: k for k, name in enumerate(CHANNELS)}


@dataclass(frozen=True, eq=False)
class Pairs:
    """A batch's approvals and priorities as index arrays, in no particular order.

    Approval k is ballot row `approve_row[k]` approving item `approve_item[k]`;
    priority k puts item `rank_item[k]` of row `rank_row[k]` at 0-based
    position `rank_position[k]`. Rows are intp; items and positions may be any
    unsigned or signed whole-number type that holds them (read ballots give the
    narrowest), so multiply them only after widening.
    """

    approve_row: NDArray[np.intp]
    approve_item: NDArray[np.integer[Any]]
    rank_row: NDArray[np.intp]
    rank_item: NDArray[np.integer[Any]]
    rank_position: NDArray[np.integer[Any]]


@dataclass(frozen=True, eq=False)
class Rows:
    """The ballots of a batch of compounds, one row per ballot.

    Rows of compound c are `offsets[c]:offsets[c + 1]`. `building` indexes
    `building_names` (-1 = none); building codes never span two compounds.
    `household_ids` may be empty when the ballots came without labels.
    `pairs`, when given, holds the same approvals and priorities as
    `approve` and `position` (as read; `as_pairs` finds them otherwise).
    `position` (each ballot's 0-based priority position per item, -1 = none)
    is `given_position`, or made from `pairs` when first read.
    """

    household_ids: Sequence[str]
    approve: NDArray[np.bool_]
    elderly: NDArray[np.bool_]
    children: NDArray[np.bool_]
    verified: NDArray[np.bool_]
    channel: NDArray[np.int8]
    building: NDArray[np.int32]
    building_names: tuple[str, ...]
    building_compound: NDArray[np.int64]
    offsets: NDArray[np.int64]
    pairs: Pairs | None = None
    given_position: NDArray[np.int16] | None = None

    def __post_init__(self) -> None:
        if self.pairs is None and self.given_position is None:
            raise ValueError("rows need their priorities: pairs or given_position")

    @cached_property
    def position(self) -> NDArray[np.int16]:
        """Return each ballot's 0-based priority position per item (-1 = not a priority)."""
        if self.given_position is not None:
            return self.given_position
        assert self.pairs is not None
        position = np.full(self.approve.shape, -1, dtype=np.int16)
        m = self.approve.shape[1]
        cells = self.pairs.rank_row * m
        cells += self.pairs.rank_item
        position.reshape(-1)[cells] = self.pairs.rank_position
        return position

    def as_pairs(self) -> Pairs:
        """Return the approvals and priorities as pairs (those read, or the matrices')."""
        if self.pairs is not None:
            return self.pairs
        rows, items = np.nonzero(self.approve)
        rank_rows, rank_items = np.nonzero(self.position >= 0)
        return Pairs(
            approve_row=rows,
            approve_item=items,
            rank_row=rank_rows,
            rank_item=rank_items,
            rank_position=self.position[rank_rows, rank_items].astype(np.intp),
        )


def read_rows_many(
    raws: Sequence[list[Any]],
    index: Mapping[str, int],
    rank_depths: Sequence[int],
    households: Sequence[int],
    codes: Sequence[str],
) -> Rows:
    """Check and read the ballots of several compounds sharing one item list.

    The fast path reads and checks every ballot at once; when it finds
    anything unusual the ballots are checked one by one (naming the first
    faulty ballot and field) and, when none is faulty, read one by one.
    """
    for c, raw in enumerate(raws):
        if len(raw) > households[c]:
            extra = raw[households[c]]
            who = extra.get("household") if isinstance(extra, dict) else None
            raise TallyInputError(
                f"{len(raw)} ballots but compound.households is {households[c]}"
                f" (ballots[{households[c]}] is one too many)",
                field="compound.households",
                household=who if isinstance(who, str) else None,
                compound=codes[c],
            )
    rows = _fast(raws, index, rank_depths)
    if rows is None:
        for c, raw in enumerate(raws):
            try:
                _diagnose(raw, index, rank_depths[c])
            except TallyInputError as error:
                error.compound = codes[c]
                raise
        return _slow(raws, index)
    return rows


def read_rows(raw: list[Any], index: Mapping[str, int], rank_depth: int, households: int) -> Rows:
    """Check and read the ballots of one compound."""
    return read_rows_many([raw], index, [rank_depth], [households], [""])


def _fast(
    raws: Sequence[list[Any]], index: Mapping[str, int], rank_depths: Sequence[int]
) -> Rows | None:
    """Read and check the ballots in bulk; None when any ballot is unusual or faulty."""
    read: bulk.Read | None
    if COMPILED and type(index) is dict:
        read = _reader.read(raws, index, rank_depths, _NAMED_CHANNEL, len(CHANNELS))
    else:
        read = bulk.read(raws, index, rank_depths)
    if read is None:
        return None
    households, approve, rows, items, rank_rows, rank_items, positions = read[:7]
    flags, channel, building, names, owner = read[7:]
    return Rows(
        household_ids=households,
        approve=approve,
        elderly=flags[0],
        children=flags[1],
        verified=flags[2],
        channel=channel,
        building=building,
        building_names=names,
        building_compound=owner,
        offsets=_offsets(raws),
        pairs=Pairs(rows, items, rank_rows, rank_items, positions),
    )


def _offsets(raws: Sequence[list[Any]]) -> NDArray[np.int64]:
    """Return where each compound's rows begin, and the end."""
    offsets = np.zeros(len(raws) + 1, dtype=np.int64)
    np.cumsum([len(raw) for raw in raws], out=offsets[1:])
    return offsets


def _slow(raws: Sequence[list[Any]], index: Mapping[str, int]) -> Rows:
    """Read checked ballots one by one (for those the fast path leaves, e.g. dict subclasses)."""
    ballots = list(chain.from_iterable(raws))
    n, m = len(ballots), len(index)
    approve = np.zeros((n, m), dtype=bool)
    position = np.full((n, m), -1, dtype=np.int16)
    flags = np.zeros((len(FLAGS), n), dtype=bool)
    channel = np.zeros(n, dtype=np.int8)
    for b, ballot in enumerate(ballots):
        for item in ballot["approve"]:
            approve[b, index[item]] = True
        for k, item in enumerate(ballot.get("rank") or ()):
            position[b, index[item]] = k
        for f, key in enumerate(FLAGS):
            flags[f, b] = ballot.get(key) is True
        channel[b] = CHANNEL_CODE[ballot.get("channel")]
    owners = [c for c, raw in enumerate(raws) for _ in raw]
    keys = [(c, ballot.get("building")) for c, ballot in zip(owners, ballots, strict=True)]
    named = sorted({key for key in keys if key[1] is not None})
    lookup = {key: j for j, key in enumerate(named)}
    return Rows(
        household_ids=[ballot["household"] for ballot in ballots],
        approve=approve,
        given_position=position,
        elderly=flags[0],
        children=flags[1],
        verified=flags[2],
        channel=channel,
        building=np.array([lookup.get(key, -1) for key in keys], dtype=np.int32),
        building_names=tuple(str(name) for _, name in named),
        building_compound=np.array([c for c, _ in named], dtype=np.int64),
        offsets=_offsets(raws),
    )


def _diagnose(raw: list[Any], index: Mapping[str, int], rank_depth: int) -> None:
    """Raise TallyInputError for the first faulty ballot of one compound."""
    seen: dict[str, int] = {}
    for k, ballot in enumerate(raw):
        _check_ballot(k, ballot, index, rank_depth, seen)


def _bad(message: str, field: str, household: str | None) -> TallyInputError:
    return TallyInputError(message, field=field, household=household)


def _check_ballot(
    k: int, ballot: object, index: Mapping[str, int], rank_depth: int, seen: dict[str, int]
) -> None:
    where = f"ballots[{k}]"
    if not isinstance(ballot, dict):
        raise _bad(f"{where} must be an object", where, None)
    household = ballot.get("household")
    if not isinstance(household, str) or not household:
        raise _bad(f"{where}: household must be a non-empty string", "household", None)
    who = f"ballot of household {household!r} ({where})"
    if household in seen:
        raise _bad(
            f"{who}: household already voted in ballots[{seen[household]}]",
            "household",
            household,
        )
    seen[household] = k
    approved = _check_ids(ballot.get("approve"), "approve", who, household, index, required=True)
    ranked = _check_ids(ballot.get("rank"), "rank", who, household, index, required=False)
    for item in ranked:
        if item not in approved:
            raise _bad(f"{who}: rank entry {item!r} is not approved", "rank", household)
    if len(ranked) > rank_depth:
        raise _bad(
            f"{who}: rank lists {len(ranked)} priorities, rank_depth allows {rank_depth}",
            "rank",
            household,
        )
    for key in FLAGS:
        if not isinstance(ballot.get(key), bool | NoneType):
            raise _bad(f"{who}: {key} must be true or false", key, household)
    channel = ballot.get("channel")
    if not isinstance(channel, str | NoneType) or channel not in CHANNEL_CODE:
        allowed = ", ".join(CHANNELS)
        raise _bad(f"{who}: channel {channel!r} is not one of {allowed}", "channel", household)
    if not isinstance(ballot.get("building"), str | NoneType):
        raise _bad(f"{who}: building must be a string", "building", household)


def _check_ids(
    value: object,
    field: str,
    who: str,
    household: str,
    index: Mapping[str, int],
    *,
    required: bool,
) -> list[str]:
    if value is None and not required:
        return []
    if not isinstance(value, list):
        raise _bad(f"{who}: {field} must be a list of item ids", field, household)
    out: list[str] = []
    for entry in value:
        if not isinstance(entry, str) or entry not in index:
            raise _bad(f"{who}: {field} names unknown item {entry!r}", field, household)
        if entry in out:
            raise _bad(f"{who}: {field} lists item {entry!r} twice", field, household)
        out.append(entry)
    return out
