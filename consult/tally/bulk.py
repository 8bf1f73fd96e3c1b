"""Read and check a batch's ballots in bulk without compiled code (rows.py's fallback).

C-level loops of the standard library read each field of all ballots, a chunk
of compounds at a time (so that each chunk's objects stay in the processor's
cache across the passes), and numpy checks the whole batch at once. `read`
gives what the compiled reader (`_reader.pyx`) gives: the same arrays, or None
for any faulty ballot and for some unusual ones (subclasses of dict, list or
str), which the one-by-one path then names or reads.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import reduce
from itertools import accumulate, chain, repeat
from operator import contains, iadd, itemgetter, methodcaller
from types import NoneType
from typing import Any

import numpy as np
from numpy.typing import NDArray

from consult.tally.contract import CHANNELS

#: Each channel's code; none given is the last, "unspecified".
CHANNEL_CODE: dict[object, int] = {name: k for k, name in enumerate(CHANNELS)}
CHANNEL_CODE[None] = len(CHANNELS)
FLAGS = ("elderly", "children", "verified")

#: What a bulk reading gives: household ids, the approve matrix, approve rows and items,
#: rank rows, items and positions, flags (FLAGS x ballots), channel codes, building
#: codes, building names and each name's compound (as rows.Rows holds them).
Read = tuple[
    list[str],
    NDArray[np.bool_],
    NDArray[np.intp],
    NDArray[np.integer[Any]],
    NDArray[np.intp],
    NDArray[np.integer[Any]],
    NDArray[np.integer[Any]],
    NDArray[np.bool_],
    NDArray[np.int8],
    NDArray[np.int32],
    tuple[str, ...],
    NDArray[np.int64],
]


def read(
    raws: Sequence[list[Any]], index: Mapping[str, int], rank_depths: Sequence[int]
) -> Read | None:
    """Read and check the ballots of compounds `raws`; None when any is unusual or faulty."""
    sizes = list(map(len, raws))
    counts = np.asarray(sizes, dtype=np.int64)
    n, m = sum(sizes), len(index)
    reader = _Reader(index)
    for first, last in _chunks(sizes):
        ballots = raws[first] if last == first + 1 else reduce(iadd, raws[first:last], [])
        if not reader.read(ballots, sizes[first:last]):
            return None
    pairs = _pairs(reader, counts, rank_depths, n, m)
    if pairs is None:
        return None
    approve, rows, items, rank_rows, rank_items, rank_position = pairs
    flags = _joined(reader.flags, axis=1, empty=np.zeros((len(FLAGS), 0), dtype=bool))
    building, names, owner = _building_codes(reader, counts)
    return (
        reader.households,
        approve,
        rows,
        items,
        rank_rows,
        rank_items,
        rank_position,
        flags,
        _joined(reader.channels).astype(np.int8),
        building,
        names,
        owner,
    )


def _types(values: Iterable[Any]) -> set[type]:
    return set(map(type, values))


_FIELDS = ("household", "approve", "rank", "building", "channel", *FLAGS)
_ALL_FIELDS = itemgetter(*_FIELDS)


def _columns(ballots: list[dict[str, Any]]) -> list[list[Any]]:
    """Return each field of every ballot as a column (None where absent)."""
    try:
        # One C-level pass when every ballot spells out every field (exports do):
        # the fields of ballot b are values[b * 8 : b * 8 + 8].
        values = list(chain.from_iterable(map(_ALL_FIELDS, ballots)))
    except KeyError:
        return [list(map(methodcaller("get", key), ballots)) for key in _FIELDS]
    return [values[k :: len(_FIELDS)] for k in range(len(_FIELDS))]


#: Ballots read per chunk: each chunk's dicts, lists and strings stay in the
#: processor's cache across the passes that read and check them.
_CHUNK = 1024


def _chunks(sizes: list[int]) -> list[tuple[int, int]]:
    """Split compounds (by their numbers of ballots) into runs of about _CHUNK ballots."""
    out = []
    first = total = 0
    for c, size in enumerate(sizes):
        total += size
        if total >= _CHUNK:
            out.append((first, c + 1))
            first, total = c + 1, 0
    if first < len(sizes):
        out.append((first, len(sizes)))
    return out


def _small_ints(function: Callable[[Any], int], values: list[Any]) -> NDArray[Any]:
    """Return function(v) for every v as an array (bytes when all are below 256)."""
    try:
        return np.frombuffer(bytes(map(function, values)), dtype=np.uint8)
    except ValueError:  # a number of 256 or more
        return np.fromiter(map(function, values), dtype=np.intp, count=len(values))


class _Reader:
    """Read the columns of the ballots, one chunk of compounds at a time, checking as it goes.

    Every method returns False when something is unusual or faulty (or of a
    subclass of dict, list or str); the caller then checks the ballots one by one.
    """

    def __init__(self, index: Mapping[str, int]) -> None:
        self.index = index
        self.households: list[Any] = []
        self.lens: list[NDArray[Any]] = []
        self.items: list[NDArray[Any]] = []
        self.rank_lens: list[NDArray[Any]] = []
        self.rank_items: list[NDArray[Any]] = []
        self.flags: list[NDArray[np.bool_]] = []
        self.channels: list[NDArray[Any]] = []
        self.buildings: list[NDArray[Any]] = []
        self.building_names: list[list[str | None]] = []

    def numbers(self, items: list[Any]) -> NDArray[Any] | None:
        """Return the numbers of the items, in order; None for an unknown one."""
        try:
            # One C loop of lookups (itemgetter of one key gives the value, not a tuple).
            found = (
                itemgetter(*items)(self.index)
                if len(items) > 1
                else tuple(map(self.index.__getitem__, items))
            )
        except (KeyError, TypeError):
            return None
        if len(self.index) <= 2**8:
            return np.frombuffer(bytes(found), dtype=np.uint8)
        return np.array(found, dtype=np.intp).reshape(-1)

    def read(self, ballots: list[Any], sizes: list[int]) -> bool:
        """Read one chunk of ballots: whole compounds of `sizes` ballots each."""
        if ballots and _types(ballots) != {dict}:
            return False
        households, approves, ranks, buildings, channels, *flag_columns = _columns(ballots)
        ends = list(accumulate(sizes))
        try:  # each compound's households, once each and none empty
            seen = list(map(set, map(households.__getitem__, map(slice, [0, *ends], ends))))
        except TypeError:  # an unhashable household
            return False
        if list(map(len, seen)) != sizes or any(map(contains, seen, repeat(""))):
            return False
        if ballots and _types(households) != {str}:
            return False
        self.households.extend(households)
        return (
            self.lists(approves, ranks)
            and self.flag_columns(flag_columns)
            and self.channel(channels)
            and self.building(buildings)
        )

    def lists(self, approves: list[Any], ranks: list[Any]) -> bool:
        if approves and _types(approves) != {list}:
            return False
        kinds = _types(ranks)
        if not kinds <= {list, NoneType}:
            return False
        if NoneType in kinds:  # no priorities
            ranks = [value or () for value in ranks]
        # Every approval, then every priority, in one list looked up at once.
        items: list[Any] = reduce(iadd, approves, [])
        approved = len(items)
        items = reduce(iadd, ranks, items)
        if items and _types(items) != {str}:  # an object equal to an id is not the id
            return False
        numbers = self.numbers(items)
        if numbers is None:
            return False
        self.lens.append(_small_ints(len, approves))
        self.items.append(numbers[:approved])
        self.rank_lens.append(_small_ints(len, ranks))
        self.rank_items.append(numbers[approved:])
        return True

    def flag_columns(self, columns: list[list[Any]]) -> bool:
        kinds = _types(chain.from_iterable(columns))
        if not kinds <= {bool, NoneType}:
            return False
        if NoneType in kinds:
            columns = [[value is True for value in column] for column in columns]
        flags = np.frombuffer(bytes(chain.from_iterable(columns)), dtype=bool)
        self.flags.append(flags.reshape(len(FLAGS), -1))
        return True

    def channel(self, channels: list[Any]) -> bool:
        if not _types(channels) <= {str, NoneType}:  # an object equal to a name is not it
            return False
        try:
            self.channels.append(_small_ints(CHANNEL_CODE.__getitem__, channels))
        except (KeyError, TypeError):
            return False
        return True

    def building(self, buildings: list[Any]) -> bool:
        if not _types(buildings) <= {str, NoneType}:
            return False
        names = list(set(buildings))
        place = dict(zip(names, range(len(names)), strict=True))
        self.buildings.append(_small_ints(place.__getitem__, buildings))
        self.building_names.append(names)
        return True


def _joined(
    parts: list[NDArray[Any]], axis: int = 0, empty: NDArray[Any] | None = None
) -> NDArray[Any]:
    if not parts:
        return np.zeros(0, dtype=np.intp) if empty is None else empty
    return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=axis)


def _pairs(
    reader: _Reader, counts: NDArray[np.int64], rank_depths: Sequence[int], n: int, m: int
) -> (
    tuple[
        NDArray[np.bool_],
        NDArray[np.intp],
        NDArray[np.integer[Any]],
        NDArray[np.intp],
        NDArray[np.integer[Any]],
        NDArray[np.intp],
    ]
    | None
):
    """Return the approvals as a matrix, then rows and items, rank rows, items and positions.

    None if faulty.
    """
    lens = _joined(reader.lens)
    items = _joined(reader.items)  # narrow: one byte an item for up to 256 items
    if items.size != int(lens.sum(dtype=np.intp)):  # a list whose items are not its length
        return None
    rows = np.repeat(np.arange(n), lens)
    cells = rows * m
    cells += items
    approve = np.zeros((n, m), dtype=bool)
    flat = approve.reshape(-1)
    flat[cells] = True
    if int(np.count_nonzero(approve)) != items.size:  # an item listed twice
        return None
    rank_lens = _joined(reader.rank_lens)
    rank_items = _joined(reader.rank_items)
    if rank_items.size != int(rank_lens.sum(dtype=np.intp)):
        return None
    if (rank_lens > np.repeat(np.asarray(rank_depths, dtype=np.int64), counts)).any():
        return None
    rank_rows = np.repeat(np.arange(n), rank_lens)
    cells = rank_rows * m
    cells += rank_items
    if not flat[cells].all():  # a priority not approved
        return None
    # A priority listed twice: clearing the priorities' cells clears fewer than listed.
    flat[cells] = False
    twice = int(np.count_nonzero(approve)) != items.size - cells.size
    flat[cells] = True
    if twice:
        return None
    # Positions count up within each ballot's priorities: k minus the ballot's first k.
    rank_position = np.arange(rank_items.size, dtype=np.intp)
    rank_position -= np.repeat(np.cumsum(rank_lens, dtype=np.intp) - rank_lens, rank_lens)
    return approve, rows, items, rank_rows, rank_items, rank_position


def _building_codes(
    reader: _Reader, counts: NDArray[np.int64]
) -> tuple[NDArray[np.int32], tuple[str, ...], NDArray[np.int64]]:
    """Code buildings per compound, sorted by name within each compound (-1 = none).

    Each name's place among all names, offset by its compound, sorts the
    (compound, name) pairs; the distinct ones are numbered in that order.
    """
    distinct = set(chain.from_iterable(reader.building_names))
    distinct.discard(None)
    named = sorted(distinct)  # type: ignore[type-var]
    width = len(named) + 1  # the last place is "no building"
    place: dict[str | None, int] = dict(zip(named, range(len(named)), strict=True))
    place[None] = len(named)
    key = np.repeat(np.arange(counts.size) * width, counts)
    if reader.buildings:
        key += np.concatenate(
            [
                np.array([place[name] for name in names], dtype=np.int64)[local]
                for names, local in zip(reader.building_names, reader.buildings, strict=True)
            ]
        )
    if counts.size * width <= 4 * key.size + 1024:
        present = np.bincount(key, minlength=counts.size * width).astype(bool)
        distinct_keys = np.flatnonzero(present)
        present[len(named) :: width] = False
        number = np.cumsum(present) - 1
        number[len(named) :: width] = -1
        code = number[key]
    else:
        distinct_keys, inverse = np.unique(key, return_inverse=True)
        given = distinct_keys % width != len(named)
        number = np.where(given, np.cumsum(given) - 1, -1)
        code = number[inverse.reshape(-1)]
    kept = distinct_keys[distinct_keys % width != len(named)]
    names = tuple(str(named[k]) for k in (kept % width).tolist())
    return code.astype(np.int32), names, (kept // width).astype(np.int64)
