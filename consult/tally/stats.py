"""Count approvals and compute every per-item statistic, many compounds at once.

All figures of a batch of compounds come from one ballots x items matrix and
segment reductions over its rows, so a whole city costs a handful of numpy
calls rather than a loop over compounds; the paired ties, a test for every
pair of items of every compound, are counted by compiled code (`_ties.pyx`)
where a C compiler built it, else by matrix products.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import compress
from typing import Any

import numpy as np
from numpy.typing import NDArray

from consult.tally.contract import CHANNELS, Ballots, Header, Item, parse_header
from consult.tally.rows import Rows, read_rows_many

try:
    from consult.tally import _ties
except ImportError:  # installed without a C compiler: matrix products count the ties
    _ties = None  # type: ignore[assignment]

#: Whether co_approval_ties is the compiled one (tests switch it off to hold the other).
COMPILED = _ties is not None

#: The 97.5 % standard normal quantile (two-sided 95 %).
Z95 = 1.959964

Floats = NDArray[np.float64]
Ints = NDArray[np.int64]


@dataclass(frozen=True, eq=False)
class Batch:
    """Checked compounds that share one item list, their ballots stacked as rows."""

    headers: tuple[Header, ...]
    rows: Rows


@dataclass(frozen=True, eq=False)
class Columns:
    """Every per-item figure of a batch as (compounds, items) arrays."""

    responses: Ints  # (C,) ballots counted, n
    households: Ints  # (C,) N
    approvals: Ints  # (C, m)
    borda: Ints  # (C, m)
    support: Floats  # (C, m)
    ci_low: Floats
    ci_high: Floats
    bound_low: Floats
    bound_high: Floats
    z: Floats  # (C,) the finite-population z of the interval and the paired test
    tied: NDArray[np.bool_]  # (C, m, m)
    elderly_approvals: Ints  # (C, m)
    elderly_ballots: Ints  # (C,)
    children_approvals: Ints
    children_ballots: Ints
    channels: Ints  # (C, len(CHANNELS) + 1), the last column unspecified
    building_approvals: Ints  # (buildings, m)
    meeting: Ints  # (C, m, 3)


def batch_of(ballots: Ballots) -> Batch:
    """Wrap one compound's ballots as a batch of one."""
    rows = Rows(
        household_ids=ballots.household_ids,
        approve=ballots.approve,
        given_position=ballots.position,
        elderly=ballots.elderly,
        children=ballots.children,
        verified=ballots.verified,
        channel=ballots.channel,
        building=ballots.building,
        building_names=ballots.buildings,
        building_compound=np.zeros(len(ballots.buildings), dtype=np.int64),
        offsets=np.array([0, ballots.n], dtype=np.int64),
    )
    return Batch(headers=(ballots.header,), rows=rows)


def only_verified(batch: Batch) -> Batch:
    """Return the batch keeping only verified ballots."""
    r = batch.rows
    keep = r.verified
    compound = np.repeat(np.arange(len(batch.headers)), np.diff(r.offsets))
    offsets = np.zeros_like(r.offsets)
    np.cumsum(np.bincount(compound[keep], minlength=len(batch.headers)), out=offsets[1:])
    ids = tuple(compress(r.household_ids, keep.tolist())) if r.household_ids else ()
    rows = Rows(
        household_ids=ids,
        approve=r.approve[keep],
        given_position=r.position[keep],
        elderly=r.elderly[keep],
        children=r.children[keep],
        verified=r.verified[keep],
        channel=r.channel[keep],
        building=r.building[keep],
        building_names=r.building_names,
        building_compound=r.building_compound,
        offsets=offsets,
    )
    return Batch(headers=batch.headers, rows=rows)


def finite_population_z(n: Ints, households: Ints) -> Floats:
    """Return z = 1.959964 * sqrt((N - n) / (N - 1)), and 0 when n >= N."""
    short = n < households
    ratio = np.where(short, (households - n) / np.maximum(households - 1, 1), 0.0)
    return np.asarray(Z95 * np.sqrt(ratio), dtype=np.float64)


def wilson(approvals: Ints, n: Ints, z: Floats) -> tuple[Floats, Floats, Floats]:
    """Return support and its Wilson interval (lo, hi) per (compound, item).

    n is per compound. With no ballots the support is 0 and the interval the
    uninformative [0, 1]; with z = 0 the interval is the point support.
    """
    nn = np.maximum(n, 1).astype(np.float64)[:, None]
    zz = z[:, None]
    p = approvals / nn
    z2n = zz * zz / nn
    denominator = 1.0 + z2n
    centre = (p + z2n / 2.0) / denominator
    half = zz * np.sqrt(p * (1.0 - p) / nn + z2n / (4.0 * nn)) / denominator
    low = np.minimum(np.maximum(centre - half, 0.0), p)
    high = np.maximum(np.minimum(centre + half, 1.0), p)
    empty = (n == 0)[:, None]
    return (
        np.where(empty, 0.0, p),
        np.where(empty, 0.0, low),
        np.where(empty, 1.0, high),
    )


#: Rows per matrix product in co_approvals: small enough (rows x items x items under
#: OpenBLAS's 262,144) that BLAS never starts threads, which stall on a busy machine.
_PRODUCT_CELLS = 250_000


def co_approvals(approve: NDArray[np.bool_], offsets: Ints) -> Ints:
    """Return (C, m, m): ballots approving both i and j, per compound.

    Compound c's ballots are rows offsets[c]:offsets[c + 1] of `approve`.
    """
    return co_approval_counts(approve, offsets).astype(np.int64)


#: Whole numbers up to this are exact in float32 (sums of co-approvals, squared gaps).
_EXACT32 = 2**24


def co_approval_counts(approve: NDArray[np.bool_], offsets: Ints) -> NDArray[np.floating[Any]]:
    """Return (C, m, m) co-approvals as whole-number floats.

    Each compound's approvals matrix times its transpose, in pieces of rows,
    summed in float32 when no compound has 2**24 ballots (exact), else float64.
    """
    m = approve.shape[1]
    sizes = np.diff(offsets)
    wide = bool(sizes.size) and int(sizes.max()) >= _EXACT32
    both = np.zeros((sizes.size, m, m), dtype=np.float64 if wide else np.float32)
    _multiply(approve, offsets.tolist(), 0, sizes.size, both)
    return both


def _multiply(
    approve: NDArray[np.bool_],
    bounds: list[int],
    first: int,
    last: int,
    both: NDArray[np.floating[Any]],
) -> None:
    """Add compound c's approvals times their transpose to both[c - first], c in first:last."""
    m = approve.shape[1]
    if not m or bounds[last] == bounds[first]:
        return
    x = approve[bounds[first] : bounds[last]].astype(np.float32)
    step = max(1, _PRODUCT_CELLS // (m * m))  # products of pieces of at most `step` rows: exact
    straight = both.dtype == np.float32
    piece = np.empty((m, m), dtype=np.float32)
    for c in range(first, last):
        lo, hi = bounds[c] - bounds[first], bounds[c + 1] - bounds[first]
        if lo < hi <= lo + step and straight:  # one piece, straight into its place
            rows = x[lo:hi]
            np.matmul(rows.T, rows, out=both[c - first])
            continue
        for start in range(lo, hi, step):
            rows = x[start : min(start + step, hi)]
            np.matmul(rows.T, rows, out=piece)
            both[c - first] += piece


#: Cells (compounds x items x items) per block in co_approval_ties: a block's temporaries
#: stay small (in cache, and reused rather than freshly mapped memory).
_TIE_BLOCK = 90_000


def co_approval_ties(
    approve: NDArray[np.bool_], offsets: Ints, approvals: Ints, z: Floats
) -> NDArray[np.bool_]:
    """Return paired_ties(co_approval_counts(approve, offsets), approvals, z), block by block."""
    compounds, m = approvals.shape
    sizes = np.diff(offsets)
    wide = bool(sizes.size) and int(sizes.max()) >= _EXACT32
    if COMPILED and not wide:  # (its counts are 32-bit)
        return _ties.co_approval_ties(approve, offsets, approvals, z)
    tied = np.empty((compounds, m, m), dtype=bool)
    bounds = offsets.tolist()
    block = max(1, _TIE_BLOCK // max(1, m * m))
    for first in range(0, compounds, block):
        last = min(compounds, first + block)
        both = np.zeros((last - first, m, m), dtype=np.float64 if wide else np.float32)
        _multiply(approve, bounds, first, last, both)
        tied[first:last] = paired_ties(both, approvals[first:last], z[first:last])
    return tied


def paired_ties(both: NDArray[np.number[Any]], approvals: Ints, z: Floats) -> NDArray[np.bool_]:
    """Return (C, m, m): whether the ballots cannot tell items i and j apart.

    With b ballots approving i but not j and c the reverse, i and j are tied
    when |b - c| <= z * sqrt(b + c) (McNemar's test); b + c = 0 counts as
    tied. z is the interval's finite-population z, so when every household
    has answered (z = 0) only items with equal approvals are tied, and with
    no ballots every pair is. `both` holds the co-approvals (co_approvals).
    """
    m = approvals.shape[1]
    # (a_i - a_j)**2 <= (a_i + a_j - 2 * both) * z**2, the product in float64. The whole
    # numbers on either side are exact in float32 while the gap is below 2**12 and
    # b + c below 2**24; past that, everything in float64 (exact below 2**26).
    small = int(approvals.max(initial=0)) < 2**11
    kind: type[np.floating[Any]] = np.float32 if small else np.float64
    a: NDArray[np.floating[Any]] = approvals.astype(kind)
    squared_gap = a[:, :, None] - a[:, None, :]
    squared_gap *= squared_gap
    discordant = a[:, :, None] + a[:, None, :]  # b + c
    counted: NDArray[np.floating[Any]] = np.asarray(both, dtype=kind)
    discordant -= counted
    discordant -= counted
    allowed = np.multiply(discordant, (z * z)[:, None, None], dtype=np.float64)
    tied = np.less_equal(squared_gap, allowed)
    index = np.arange(m)
    tied[:, index, index] = False
    return np.asarray(tied)


def meeting_hands(header: Header) -> Ints:
    """Return summed hands per item as an (m, 3) array: for, against, abstain."""
    index = {item.id: k for k, item in enumerate(header.items)}
    hands = np.zeros((len(header.items), 3), dtype=np.int64)
    for vote in header.meeting_votes:
        hands[index[vote.item]] += (vote.votes_for, vote.against, vote.abstain)
    return hands


def _meetings(headers: Sequence[Header], m: int) -> Ints:
    """Return summed hands per compound and item: (C, m, 3), for, against, abstain."""
    hands = np.zeros((len(headers), m, 3), dtype=np.int64)
    cells: list[int] = []
    votes: list[tuple[int, int, int]] = []
    index_of: dict[int, dict[str, int]] = {}  # item lists are shared: each indexed once
    for c, header in enumerate(headers):
        if header.meeting_votes:
            index = index_of.get(id(header.items))
            if index is None:
                index = index_of[id(header.items)] = {
                    item.id: k for k, item in enumerate(header.items)
                }
            for vote in header.meeting_votes:
                cells.append(c * m + index[vote.item])
                votes.append((vote.votes_for, vote.against, vote.abstain))
    if cells:
        np.add.at(hands.reshape(-1, 3), np.asarray(cells), np.asarray(votes, dtype=np.int64))
    return hands


def compute_columns(batch: Batch) -> Columns:
    """Compute every per-item figure for all compounds of the batch."""
    r, headers = batch.rows, batch.headers
    compounds, offsets = len(headers), r.offsets
    n = np.diff(offsets)
    households = np.fromiter((h.households for h in headers), dtype=np.int64, count=compounds)
    depth = np.fromiter((h.rank_depth for h in headers), dtype=np.int64, count=compounds)
    m = r.approve.shape[1]
    pairs = r.as_pairs()
    rows, cols = pairs.approve_row, pairs.approve_item
    compound_of_row = np.repeat(np.arange(compounds), n)
    # One count of (compound, elderly, children, item) gives the approvals and segments.
    segment = compound_of_row * (4 * m)
    segment += (2 * m) * r.elderly + m * r.children.astype(np.intp)
    key = segment[rows]
    key += cols
    by_segment = np.bincount(key, minlength=compounds * 4 * m).reshape(compounds, 2, 2, m)
    approvals = by_segment.sum(axis=(1, 2))  # [compound, elderly, children, item]
    elderly_approvals = by_segment[:, 1].sum(axis=1)
    children_approvals = by_segment[:, :, 1].sum(axis=1)
    rank_rows = pairs.rank_row
    key = (compound_of_row * m)[rank_rows]
    key += pairs.rank_item
    # Borda points: the depth for each ranking less the sum of the positions, counted
    # apart, so that every figure stays exact (depth < 2**31, rankings < 2**32).
    ranked = np.bincount(key, minlength=compounds * m).reshape(compounds, m)
    positions = np.bincount(key, weights=pairs.rank_position, minlength=compounds * m)
    borda = depth[:, None] * ranked - positions.astype(np.int64).reshape(compounds, m)
    z = finite_population_z(n, households)
    support, ci_low, ci_high = wilson(approvals, n, z)
    scale = np.maximum(households, 1).astype(np.float64)[:, None]
    silent = (households - n)[:, None]
    slots = len(CHANNELS) + 1
    channels = np.bincount(compound_of_row * slots + r.channel, minlength=compounds * slots)
    buildings = len(r.building_names)
    # Rows without a building count in an extra last building, dropped.
    building_base = np.where(r.building >= 0, r.building, buildings).astype(np.intp) * m
    building_approvals = np.bincount(building_base[rows] + cols, minlength=(buildings + 1) * m)[
        : buildings * m
    ].reshape(buildings, m)
    return Columns(
        responses=n,
        households=households,
        approvals=approvals,
        borda=borda,
        support=support,
        ci_low=ci_low,
        ci_high=ci_high,
        bound_low=np.where(households[:, None] > 0, approvals / scale, 0.0),
        bound_high=np.where(households[:, None] > 0, (approvals + silent) / scale, 1.0),
        z=z,
        tied=co_approval_ties(r.approve, offsets, approvals, z),
        elderly_approvals=elderly_approvals,
        elderly_ballots=np.bincount(compound_of_row[r.elderly], minlength=compounds),
        children_approvals=children_approvals,
        children_ballots=np.bincount(compound_of_row[r.children], minlength=compounds),
        channels=channels.reshape(compounds, slots).astype(np.int64),
        building_approvals=building_approvals.astype(np.int64),
        meeting=_meetings(headers, m),
    )


def read_batches(docs: Sequence[object]) -> list[tuple[list[int], Batch]]:
    """Check many documents; group those sharing an item list into batches.

    Returns (positions in `docs`, batch) pairs; errors name the compound.
    """
    parsed: list[tuple[Header, list[Any]]] = []
    known: tuple[object, tuple[Item, ...]] | None = None
    for doc in docs:
        header, raw = parse_header(doc, known)
        parsed.append((header, raw))
        if isinstance(doc, Mapping):
            known = (doc.get("items"), header.items)
    groups: dict[tuple[str, ...], list[int]] = {}
    ids_of: dict[int, tuple[str, ...]] = {}  # item lists are shared: their ids found once
    for k, (header, _) in enumerate(parsed):
        ids = ids_of.get(id(header.items))
        if ids is None:
            ids = ids_of[id(header.items)] = header.item_ids
        groups.setdefault(ids, []).append(k)
    out: list[tuple[list[int], Batch]] = []
    for ids, members in groups.items():
        headers = tuple(parsed[k][0] for k in members)
        rows = read_rows_many(
            [parsed[k][1] for k in members],
            {item: j for j, item in enumerate(ids)},
            [h.rank_depth for h in headers],
            [h.households for h in headers],
            [h.code for h in headers],
        )
        out.append((members, Batch(headers=headers, rows=rows)))
    return out
