"""Turn the ballots of one or many compounds into arrays, checking every field.

The fast path reads each field of all ballots with C-level loops and checks
the whole batch at once; when anything looks wrong, a slow path walks the
ballots one by one to name the first faulty ballot and field.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import chain
from operator import itemgetter
from typing import Any

import numpy as np
from numpy.typing import NDArray

from consult.tally.contract import CHANNELS, TallyInputError

_CHANNEL_CODE: dict[object, int] = {name: k for k, name in enumerate(CHANNELS)}
_CHANNEL_CODE[None] = len(CHANNELS)
_FLAGS = ("elderly", "children", "verified")
_NONE = type(None)


@dataclass(frozen=True, eq=False)
class Rows:
    """The ballots of a batch of compounds, one row per ballot.

    Rows of compound c are `offsets[c]:offsets[c + 1]`. `building` indexes
    `building_names` (-1 = none); building codes never span two compounds.
    `household_ids` may be empty when the ballots came without labels.
    """

    household_ids: tuple[str, ...]
    approve: NDArray[np.bool_]
    position: NDArray[np.int16]
    elderly: NDArray[np.bool_]
    children: NDArray[np.bool_]
    verified: NDArray[np.bool_]
    channel: NDArray[np.int8]
    building: NDArray[np.int32]
    building_names: tuple[str, ...]
    building_compound: NDArray[np.int64]
    offsets: NDArray[np.int64]


def read_rows_many(
    raws: Sequence[list[Any]],
    index: Mapping[str, int],
    rank_depths: Sequence[int],
    households: Sequence[int],
    codes: Sequence[str],
) -> Rows:
    """Check and read the ballots of several compounds sharing one item list."""
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
        raise AssertionError("fast ballot check failed but no ballot is faulty")
    return rows


def read_rows(raw: list[Any], index: Mapping[str, int], rank_depth: int, households: int) -> Rows:
    """Check and read the ballots of one compound."""
    return read_rows_many([raw], index, [rank_depth], [households], [""])


def _types(values: Sequence[Any]) -> set[type]:
    return set(map(type, values))


_FIELDS = ("household", "approve", "rank", "building", "channel", *_FLAGS)
_ALL_FIELDS = itemgetter(*_FIELDS)


def _columns(ballots: list[Any]) -> list[Sequence[Any]]:
    """Return each field of every ballot as a column (None where absent)."""
    try:
        # One C-level pass when every ballot spells out every field (exports do).
        return list(zip(*map(_ALL_FIELDS, ballots), strict=True)) or [()] * len(_FIELDS)
    except KeyError:
        return [[b.get(key) for b in ballots] for key in _FIELDS]


def _fast(
    raws: Sequence[list[Any]], index: Mapping[str, int], rank_depths: Sequence[int]
) -> Rows | None:
    counts = np.fromiter(map(len, raws), dtype=np.int64, count=len(raws))
    offsets = np.zeros(len(raws) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    ballots: list[Any] = raws[0] if len(raws) == 1 else list(chain.from_iterable(raws))
    n, m = len(ballots), len(index)
    if n and _types(ballots) != {dict}:
        return None
    households, approves, ranks, buildings, channels, *flag_columns = _columns(ballots)
    if n and (_types(households) != {str} or "" in households):
        return None
    bounds = offsets.tolist()
    for c in range(len(raws)):
        if len(set(households[bounds[c] : bounds[c + 1]])) != counts[c]:
            return None
    approve = _matrix(approves, index, n, m)
    if approve is None:
        return None
    position = _read_ranks(ranks, index, approve, counts, rank_depths)
    if position is None:
        return None
    flags: list[NDArray[np.bool_]] = []
    for values in flag_columns:
        kinds = _types(values)
        if not kinds <= {bool, _NONE}:
            return None
        if _NONE in kinds:
            values = [v is True for v in values]
        flags.append(np.fromiter(values, dtype=bool, count=n))
    try:
        channel = np.fromiter(map(_CHANNEL_CODE.__getitem__, channels), dtype=np.int8, count=n)
    except (KeyError, TypeError):
        return None
    if not _types(buildings) <= {str, _NONE}:
        return None
    building, names, owner = _building_codes(buildings, counts)
    return Rows(
        household_ids=tuple(households),
        approve=approve,
        position=position,
        elderly=flags[0],
        children=flags[1],
        verified=flags[2],
        channel=channel,
        building=building,
        building_names=names,
        building_compound=owner,
        offsets=offsets,
    )


def _matrix(
    lists: Sequence[Any], index: Mapping[str, int], n: int, m: int
) -> NDArray[np.bool_] | None:
    """Return the n x m matrix of ballots' approvals, or None if any list is bad."""
    if n and _types(lists) != {list}:
        return None
    try:
        flat = np.fromiter(map(index.__getitem__, chain.from_iterable(lists)), dtype=np.int64)
    except (KeyError, TypeError):
        return None
    lens = np.fromiter(map(len, lists), dtype=np.int64, count=n)
    out = np.zeros((n, m), dtype=bool)
    out[np.repeat(np.arange(n), lens), flat] = True
    if int(np.count_nonzero(out)) != flat.size:
        return None
    return out


def _read_ranks(
    lists: Sequence[Any],
    index: Mapping[str, int],
    approve: NDArray[np.bool_],
    counts: NDArray[np.int64],
    rank_depths: Sequence[int],
) -> NDArray[np.int16] | None:
    n, m = approve.shape
    kinds = _types(lists)
    if n and not kinds <= {list, _NONE}:
        return None
    if _NONE in kinds:
        lists = [x or () for x in lists]
    lens = np.fromiter(map(len, lists), dtype=np.int64, count=n)
    position = np.full((n, m), -1, dtype=np.int16)
    total = int(lens.sum())
    if total == 0:
        return position
    if (lens > np.repeat(np.asarray(rank_depths, dtype=np.int64), counts)).any():
        return None
    try:
        cols = np.fromiter(map(index.__getitem__, chain.from_iterable(lists)), dtype=np.int64)
    except (KeyError, TypeError):
        return None
    rows = np.repeat(np.arange(n), lens)
    if not approve[rows, cols].all():
        return None
    starts = np.cumsum(lens) - lens
    position[rows, cols] = np.arange(total) - np.repeat(starts, lens)
    if int(np.count_nonzero(position >= 0)) != total:
        return None
    return position


def _building_codes(
    buildings: Sequence[str | None], counts: NDArray[np.int64]
) -> tuple[NDArray[np.int32], tuple[str, ...], NDArray[np.int64]]:
    """Code buildings per compound, sorted by name within each compound (-1 = none)."""
    owners = np.repeat(np.arange(counts.size), counts).tolist()
    keys = list(zip(owners, buildings, strict=True))
    distinct = set(keys)
    named = sorted(key for key in distinct if key[1] is not None)
    lookup: dict[tuple[int, str | None], int] = {key: j for j, key in enumerate(named)}
    lookup.update((key, -1) for key in distinct if key[1] is None)
    code = np.fromiter(map(lookup.__getitem__, keys), dtype=np.int32, count=len(keys))
    names = tuple(str(name) for _, name in named)
    owner = np.fromiter((c for c, _ in named), dtype=np.int64, count=len(named))
    return code, names, owner


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
    for key in _FLAGS:
        if not isinstance(ballot.get(key), bool | _NONE):
            raise _bad(f"{who}: {key} must be true or false", key, household)
    channel = ballot.get("channel")
    if not isinstance(channel, str | _NONE) or channel not in _CHANNEL_CODE:
        allowed = ", ".join(CHANNELS)
        raise _bad(f"{who}: channel {channel!r} is not one of {allowed}", "channel", household)
    if not isinstance(ballot.get("building"), str | _NONE):
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
