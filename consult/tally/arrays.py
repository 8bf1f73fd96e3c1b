"""Ballots given as integer arrays rather than documents, checked as the contract checks them.

A database holds ballots as rows of numbers: which compound, which household,
which items approved and in which order of priority. `BallotArrays` takes them
as they come (no per-ballot dict), and `read_arrays` checks them, vectorised,
for everything `parse_ballots` rejects in a document: an unknown item, an item
listed twice, a household twice, a priority not approved or listed twice, more
priorities than `rank_depth`, an unknown channel or building, and more ballots
than households. Errors are TallyInputError naming the compound, the household
(by its label when given) and the field.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from consult.tally.contract import (
    CHANNELS,
    MAX_RANK_DEPTH,
    Header,
    Item,
    TallyInputError,
    parse_header,
)
from consult.tally.rows import Pairs, Rows
from consult.tally.stats import Batch

Ints = NDArray[np.int64]
Flags = NDArray[np.bool_]


@dataclass(frozen=True, eq=False)
class BallotArrays:
    """The ballots of compounds sharing one item list, one array entry per ballot or per pair.

    Ballot b belongs to compound `compound[b]` (indexing `headers`, whose items
    must all be the same list) and household `household[b]` (any whole number
    naming it; `labels[b]` when given, else `name_household(household[b])`
    when given, names it in errors). Approvals are the pairs (`approve_ballot[k]`, `approve_item[k]`), items indexing the headers'
    item list. Priorities are the triples (`rank_ballot[k]`, `rank_item[k]`,
    `rank_order[k]`): a ballot's priorities in increasing `rank_order` (ties
    kept in input order), like the `rank` list of a document. `channel` indexes
    CHANNELS (len(CHANNELS) = unspecified); `building` indexes
    `building_names` (-1 = none given).
    """

    headers: tuple[Header, ...]
    compound: Ints
    household: Ints
    approve_ballot: Ints
    approve_item: Ints
    rank_ballot: Ints
    rank_item: Ints
    rank_order: Ints
    elderly: Flags
    children: Flags
    verified: Flags
    channel: Ints
    building: Ints
    building_names: Sequence[str]
    labels: Sequence[str] | None = None
    name_household: Callable[[int], str] | None = None

    @property
    def n(self) -> int:
        """Return the number of ballots."""
        return int(self.compound.size)


class _Check:
    """Raise TallyInputError naming a ballot of the arrays."""

    def __init__(self, arrays: BallotArrays) -> None:
        self.arrays = arrays

    def who(self, b: int) -> str:
        a = self.arrays
        if a.labels is not None:
            return a.labels[b]
        key = int(a.household[b])
        return a.name_household(key) if a.name_household is not None else str(key)

    def fail(self, message: str, field: str, b: int | None) -> TallyInputError:
        a = self.arrays
        code = None
        if b is not None and 0 <= a.compound[b] < len(a.headers):
            code = a.headers[int(a.compound[b])].code
        household = None if b is None else self.who(b)
        where = "" if household is None else f"ballot of household {household!r}: "
        return TallyInputError(f"{where}{message}", field=field, household=household, compound=code)

    def first(self, bad: Flags, ballots: Ints, message: str, field: str) -> None:
        if bad.any():
            k = int(np.argmax(bad))
            raise self.fail(message.format(k=k), field, int(ballots[k]))


def _pairs_known(check: _Check, ballot: Ints, item: Ints, m: int, field: str) -> None:
    """Check that pairs name known ballots and items."""
    n = check.arrays.n
    if ballot.shape != item.shape or ballot.ndim != 1:
        raise check.fail(f"{field} ballots and items must be equal-length lists", field, None)
    known = (ballot >= 0) & (ballot < n)
    if not known.all():
        raise check.fail(
            f"{field} names ballot {int(ballot[~known][0])}, not one of the ballots", field, None
        )
    check.first((item < 0) | (item >= m), ballot, f"{field} names an unknown item", field)


def _marked(check: _Check, rows: Ints, item: Ints, m: int, field: str) -> Flags:
    """Return the (ballots, items) matrix of the pairs (rows in row order); each pair once."""
    ballot = getattr(check.arrays, f"{field}_ballot")
    out = np.zeros((check.arrays.n, m), dtype=bool)
    out[rows, item] = True
    if int(np.count_nonzero(out)) != item.size:  # some pair is listed twice: name it
        cell = ballot * m + item
        order = np.argsort(cell, kind="stable")
        twice = np.zeros(cell.size, dtype=bool)
        twice[order[1:]] = cell[order[1:]] == cell[order[:-1]]
        check.first(twice, ballot, f"{field} lists an item twice", field)
    return out


def read_arrays(arrays: BallotArrays) -> Batch:
    """Check ballot arrays and return them as a batch the counting reads (rows by compound)."""
    a, check = arrays, _Check(arrays)
    headers = a.headers
    first = headers[0].items if headers else ()
    ids = tuple(item.id for item in first)
    if any(h.items is not first and h.item_ids != ids for h in headers):
        raise check.fail("every compound of the arrays must list the same items", "items", None)
    for header in headers:  # headers made by hand rather than by parse_header
        if not 0 <= header.rank_depth <= MAX_RANK_DEPTH:
            error = check.fail(
                f"rank_depth must be a whole number from 0 to {MAX_RANK_DEPTH}", "rank_depth", None
            )
            error.compound = header.code
            raise error
    n, m, compounds = a.n, len(ids), len(headers)
    for name in ("household", "elderly", "children", "verified", "channel", "building"):
        if getattr(a, name).shape != (n,):
            raise check.fail(f"{name} must have one entry per ballot", name, None)
    if a.labels is not None and len(a.labels) != n:
        raise check.fail("labels must have one entry per ballot", "household", None)
    if ((a.compound < 0) | (a.compound >= compounds)).any():
        raise check.fail("a ballot names no compound of the arrays", "compound", None)

    # Rows grouped by compound, each compound's ballots in input order.
    order = np.argsort(a.compound, kind="stable")
    row_of = np.empty(n, dtype=np.int64)
    row_of[order] = np.arange(n)
    counts = np.bincount(a.compound, minlength=compounds)
    offsets = np.zeros(compounds + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    households = np.fromiter((h.households for h in headers), dtype=np.int64, count=compounds)
    over = np.flatnonzero(counts > households)
    if over.size:
        c = int(over[0])
        raise check.fail(
            f"{int(counts[c])} ballots but compound.households is {int(households[c])}",
            "compound.households",
            int(order[offsets[c] + households[c]]),
        )
    by_household = np.lexsort((a.household, a.compound))
    again = (a.compound[by_household[1:]] == a.compound[by_household[:-1]]) & (
        a.household[by_household[1:]] == a.household[by_household[:-1]]
    )
    check.first(again, by_household[1:], "household already voted", "household")

    _pairs_known(check, a.approve_ballot, a.approve_item, m, "approve")
    approve_rows = row_of[a.approve_ballot]
    approve = _marked(check, approve_rows, a.approve_item, m, "approve")
    position, ranks = _positions(check, approve, row_of, offsets, m)

    check.first(
        (a.channel < 0) | (a.channel > len(CHANNELS)),
        np.arange(n),
        f"channel is not one of {', '.join(CHANNELS)}",
        "channel",
    )
    check.first(
        (a.building < -1) | (a.building >= len(a.building_names)),
        np.arange(n),
        "building names no building",
        "building",
    )
    building, names, owner = _building_codes(a, order, counts)
    rows = Rows(
        household_ids=(),  # faults are named above; counting needs no names
        approve=approve,
        given_position=position,
        pairs=Pairs(
            approve_row=approve_rows,
            approve_item=np.asarray(a.approve_item, dtype=np.intp),
            rank_row=ranks[0],
            rank_item=ranks[1],
            rank_position=ranks[2],
        ),
        elderly=np.asarray(a.elderly, dtype=bool)[order],
        children=np.asarray(a.children, dtype=bool)[order],
        verified=np.asarray(a.verified, dtype=bool)[order],
        channel=a.channel[order].astype(np.int8),
        building=building,
        building_names=names,
        building_compound=owner,
        offsets=offsets,
    )
    return Batch(headers=tuple(headers), rows=rows)


def _positions(
    check: _Check, approve: Flags, row_of: Ints, offsets: Ints, m: int
) -> tuple[NDArray[np.int16], tuple[Ints, Ints, Ints]]:
    """Check the priorities; return each ballot's 0-based position per item (-1 = none).

    And the priorities as (rows, items, positions).
    """
    a = check.arrays
    n = a.n
    _pairs_known(check, a.rank_ballot, a.rank_item, m, "rank")
    if a.rank_order.shape != a.rank_ballot.shape:
        raise check.fail("rank orders must match the rank pairs", "rank", None)
    position = np.full((n, m), -1, dtype=np.int16)
    if not a.rank_ballot.size:
        none = np.zeros(0, dtype=np.intp)
        return position, (none, none, none)
    rows = row_of[a.rank_ballot]
    _marked(check, rows, a.rank_item, m, "rank")
    check.first(~approve[rows, a.rank_item], a.rank_ballot, "a priority is not approved", "rank")
    counts = np.bincount(rows, minlength=n)
    depth = np.repeat(
        np.fromiter((h.rank_depth for h in a.headers), dtype=np.int64, count=len(a.headers)),
        np.diff(offsets),
    )
    too_many = counts > depth
    if too_many.any():
        row = int(np.argmax(too_many))
        ballot = int(np.flatnonzero(row_of == row)[0])
        raise check.fail(
            f"rank lists {int(counts[row])} priorities, rank_depth allows {int(depth[row])}",
            "rank",
            ballot,
        )
    ordered = np.lexsort((a.rank_order, rows))
    rows = rows[ordered]
    items = np.asarray(a.rank_item[ordered], dtype=np.intp)
    starts = np.cumsum(counts) - counts
    places = np.arange(rows.size) - starts[rows]
    position[rows, items] = places
    return position, (rows, items, places)


def _building_codes(
    a: BallotArrays, order: Ints, counts: Ints
) -> tuple[NDArray[np.int32], tuple[str, ...], Ints]:
    """Code the ballots' buildings per compound, sorted by name within each (-1 = none)."""
    compound = a.compound[order]
    given = a.building[order]
    has = given >= 0
    keys = compound * max(len(a.building_names), 1) + given
    distinct, inverse = np.unique(keys[has], return_inverse=True)
    width = max(len(a.building_names), 1)
    pairs = [(int(k) // width, a.building_names[int(k) % width]) for k in distinct.tolist()]
    named = sorted(set(pairs))
    lookup = {pair: j for j, pair in enumerate(named)}
    code_of = np.fromiter(map(lookup.__getitem__, pairs), dtype=np.int32, count=len(pairs))
    building = np.full(compound.size, -1, dtype=np.int32)
    building[has] = code_of[inverse]
    owner = np.fromiter((c for c, _ in named), dtype=np.int64, count=len(named))
    return building, tuple(name for _, name in named), owner


def arrays_from_documents(docs: Sequence[object]) -> BallotArrays:
    """Return the ballots of documents sharing one item list as arrays (for tests and the shell).

    The headers are checked as `parse_ballots` checks them; the ballots must be
    objects with lists where lists belong, and are otherwise taken as they are,
    for `read_arrays` to check: an unknown item or channel becomes -1.
    """
    headers: list[Header] = []
    compound: list[int] = []
    labels: list[str] = []
    approve: list[tuple[int, int]] = []
    ranks: list[tuple[int, int, int]] = []
    flags: dict[str, list[bool]] = {key: [] for key in ("elderly", "children", "verified")}
    channels: list[int] = []
    buildings: list[int] = []
    building_names: dict[str, int] = {}
    channel_code = {name: k for k, name in enumerate(CHANNELS)}
    known: tuple[object, tuple[Item, ...]] | None = None
    for c, doc in enumerate(docs):
        header, raw = parse_header(doc, known)
        headers.append(header)
        if isinstance(doc, Mapping):
            known = (doc.get("items"), header.items)
        index = {item: k for k, item in enumerate(header.item_ids)}
        for ballot in raw:
            b = len(compound)
            compound.append(c)
            labels.append(ballot.get("household"))
            approve.extend((b, index.get(item, -1)) for item in ballot.get("approve") or ())
            ranks.extend(
                (b, index.get(item, -1), k) for k, item in enumerate(ballot.get("rank") or ())
            )
            for key, values in flags.items():
                values.append(ballot.get(key) is True)
            channel = ballot.get("channel")
            channels.append(len(CHANNELS) if channel is None else channel_code.get(channel, -1))
            name = ballot.get("building")
            buildings.append(
                -1 if name is None else building_names.setdefault(name, len(building_names))
            )
    keys: dict[str, int] = {}
    household = [keys.setdefault(label, len(keys)) for label in labels]

    def ints(values: Sequence[int]) -> Ints:
        return np.asarray(values, dtype=np.int64).reshape(-1)

    pairs = np.asarray(approve, dtype=np.int64).reshape(-1, 2)
    triples = np.asarray(ranks, dtype=np.int64).reshape(-1, 3)
    return BallotArrays(
        headers=tuple(headers),
        compound=ints(compound),
        household=ints(household),
        approve_ballot=pairs[:, 0].copy(),
        approve_item=pairs[:, 1].copy(),
        rank_ballot=triples[:, 0].copy(),
        rank_item=triples[:, 1].copy(),
        rank_order=triples[:, 2].copy(),
        elderly=np.asarray(flags["elderly"], dtype=bool),
        children=np.asarray(flags["children"], dtype=bool),
        verified=np.asarray(flags["verified"], dtype=bool),
        channel=ints(channels),
        building=ints(buildings),
        building_names=tuple(building_names),
        labels=tuple(labels),
    )
