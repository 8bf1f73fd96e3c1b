"""Turn the ballots of one or many compounds into arrays, checking every field.

The fast path reads and checks every ballot of a batch in one compiled pass
(`_reader.pyx`, built when the package is installed where a C compiler is);
without it, C-level loops of the standard library read each field of all
ballots (a chunk of compounds at a time, so that each chunk's objects stay in
the processor's cache across the passes) and check the whole batch at once.
When anything looks wrong, a slow path walks the ballots one by one to name
the first faulty ballot and field (or, finding none, reads them one by one).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property, reduce
from itertools import accumulate, chain, repeat
from operator import contains, iadd, itemgetter, methodcaller
from typing import Any

import numpy as np
from numpy.typing import NDArray

from consult.tally.contract import CHANNELS, TallyInputError

try:
    from consult.tally import _reader
except ImportError:  # installed without a C compiler: the pure-Python reader reads alone
    _reader = None  # type: ignore[assignment]

#: Whether the bulk reading is the compiled one (tests switch it off to hold the other).
COMPILED = _reader is not None

_NAMED_CHANNEL = {name: k for k, name in enumerate(CHANNELS)}
_CHANNEL_CODE: dict[object, int] = {name: k for k, name in enumerate(CHANNELS)}
_CHANNEL_CODE[None] = len(CHANNELS)
_FLAGS = ("elderly", "children", "verified")
_NONE = type(None)


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


def _types(values: Iterable[Any]) -> set[type]:
    return set(map(type, values))


_FIELDS = ("household", "approve", "rank", "building", "channel", *_FLAGS)
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
        if not kinds <= {list, _NONE}:
            return False
        if _NONE in kinds:  # no priorities
            ranks = [value or () for value in ranks]
        # Every approval, then every priority, in one list looked up at once.
        items: list[Any] = reduce(iadd, approves, [])
        approved = len(items)
        numbers = self.numbers(reduce(iadd, ranks, items))
        if numbers is None:
            return False
        self.lens.append(_small_ints(len, approves))
        self.items.append(numbers[:approved])
        self.rank_lens.append(_small_ints(len, ranks))
        self.rank_items.append(numbers[approved:])
        return True

    def flag_columns(self, columns: list[list[Any]]) -> bool:
        kinds = _types(chain.from_iterable(columns))
        if not kinds <= {bool, _NONE}:
            return False
        if _NONE in kinds:
            columns = [[value is True for value in column] for column in columns]
        flags = np.frombuffer(bytes(chain.from_iterable(columns)), dtype=bool)
        self.flags.append(flags.reshape(len(_FLAGS), -1))
        return True

    def channel(self, channels: list[Any]) -> bool:
        try:
            self.channels.append(_small_ints(_CHANNEL_CODE.__getitem__, channels))
        except (KeyError, TypeError):
            return False
        return True

    def building(self, buildings: list[Any]) -> bool:
        if not _types(buildings) <= {str, _NONE}:
            return False
        names = list(set(buildings))
        place = dict(zip(names, range(len(names)), strict=True))
        self.buildings.append(_small_ints(place.__getitem__, buildings))
        self.building_names.append(names)
        return True


def _fast(
    raws: Sequence[list[Any]], index: Mapping[str, int], rank_depths: Sequence[int]
) -> Rows | None:
    """Read and check the ballots in bulk; None when any ballot is unusual or faulty."""
    sizes = list(map(len, raws))
    offsets = np.zeros(len(raws) + 1, dtype=np.int64)
    np.cumsum(sizes, out=offsets[1:])
    if COMPILED and type(index) is dict:
        return _compiled(raws, index, rank_depths, offsets)
    counts = np.asarray(sizes, dtype=np.int64)
    n, m = int(offsets[-1]), len(index)
    reader = _Reader(index)
    for first, last in _chunks(sizes):
        ballots = raws[first] if last == first + 1 else reduce(iadd, raws[first:last], [])
        if not reader.read(ballots, sizes[first:last]):
            return None
    pairs = _pairs(reader, counts, rank_depths, n, m)
    if pairs is None:
        return None
    approve, read = pairs
    flags = _joined(reader.flags, axis=1, empty=np.zeros((len(_FLAGS), 0), dtype=bool))
    building, names, owner = _building_codes(reader, counts)
    return Rows(
        household_ids=reader.households,
        approve=approve,
        elderly=flags[0],
        children=flags[1],
        verified=flags[2],
        channel=_joined(reader.channels).astype(np.int8),
        building=building,
        building_names=names,
        building_compound=owner,
        offsets=offsets,
        pairs=read,
    )


def _compiled(
    raws: Sequence[list[Any]],
    index: dict[str, int],
    rank_depths: Sequence[int],
    offsets: NDArray[np.int64],
) -> Rows | None:
    """Read and check the ballots in one compiled pass; None as `_fast`."""
    read = _reader.read(raws, index, rank_depths, _NAMED_CHANNEL, len(CHANNELS))
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
        offsets=offsets,
        pairs=Pairs(rows, items, rank_rows, rank_items, positions),
    )


def _joined(
    parts: list[NDArray[Any]], axis: int = 0, empty: NDArray[Any] | None = None
) -> NDArray[Any]:
    if not parts:
        return np.zeros(0, dtype=np.intp) if empty is None else empty
    return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=axis)


def _pairs(
    reader: _Reader, counts: NDArray[np.int64], rank_depths: Sequence[int], n: int, m: int
) -> tuple[NDArray[np.bool_], Pairs] | None:
    """Return the approvals as a matrix, with approvals and priorities as pairs; None if faulty."""
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
    read = Pairs(
        approve_row=rows,
        approve_item=items,
        rank_row=rank_rows,
        rank_item=rank_items,
        rank_position=rank_position,
    )
    return approve, read


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


def _slow(raws: Sequence[list[Any]], index: Mapping[str, int]) -> Rows:
    """Read checked ballots one by one (for those the fast path leaves, e.g. dict subclasses)."""
    ballots = list(chain.from_iterable(raws))
    n, m = len(ballots), len(index)
    approve = np.zeros((n, m), dtype=bool)
    position = np.full((n, m), -1, dtype=np.int16)
    flags = np.zeros((len(_FLAGS), n), dtype=bool)
    channel = np.zeros(n, dtype=np.int8)
    for b, ballot in enumerate(ballots):
        for item in ballot["approve"]:
            approve[b, index[item]] = True
        for k, item in enumerate(ballot.get("rank") or ()):
            position[b, index[item]] = k
        for f, key in enumerate(_FLAGS):
            flags[f, b] = ballot.get(key) is True
        channel[b] = _CHANNEL_CODE[ballot.get("channel")]
    owners = [c for c, raw in enumerate(raws) for _ in raw]
    keys = [(c, ballot.get("building")) for c, ballot in zip(owners, ballots, strict=True)]
    named = sorted({key for key in keys if key[1] is not None})
    lookup = {key: j for j, key in enumerate(named)}
    offsets = np.zeros(len(raws) + 1, dtype=np.int64)
    np.cumsum([len(raw) for raw in raws], out=offsets[1:])
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
        offsets=offsets,
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
