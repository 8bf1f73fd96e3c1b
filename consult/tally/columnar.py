"""Every compound's menu held as arrays, any one compound's `consult.menu/1` on demand.

A whole city's menus as Python dicts cost more than all of its counting; the
planners' exports and pages read one compound's menu at a time, so the figures
of a batch of compounds stay as (compounds, items) arrays (`MenuColumns`) and
a compound's dict is built only when asked for, by the same code `tally` uses.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from consult.tally.assemble import Menu, assemble, attach_greedy, attach_selection
from consult.tally.schulze import schulze_order
from consult.tally.selection import satisfied_shares, select_greedy_many
from consult.tally.stats import Batch, Columns, compute_columns, only_verified

METHODS = ("approval", "borda", "schulze")
RULES = ("greedy", "equal_shares")


def check_options(method: str, select: str, budget: float | None = None) -> None:
    """Raise ValueError for an unknown method or selection rule or a bad budget."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    if select not in RULES:
        raise ValueError(f"select must be one of {', '.join(RULES)}, got {select!r}")
    if budget is not None and not (0 <= budget < math.inf):
        raise ValueError(f"budget must be a finite amount >= 0, got {budget!r}")


@dataclass(frozen=True, eq=False)
class MenuColumns:
    """The menus of a batch of compounds sharing one item list, as arrays.

    `columns` holds every figure of every item of every compound in input item
    order (approvals, support, intervals, bounds, Borda points, paired ties,
    segments, buildings, meetings, channels, responses); `orders[c]` is
    compound c's menu order as item indices. `menu(c)` builds compound c's
    `consult.menu/1` dict, equal to `tally` of its document with the same
    options; the selection (when the compound has a budget or `budget`
    overrides it) is made then.
    """

    batch: Batch
    columns: Columns
    orders: NDArray[np.int64]
    method: str
    verified_only: bool
    select: str
    budget: float | None = None
    #: The greedy selection of every compound with a budget (items in input order)
    #: and the share of its ballots it satisfies; None when computed per menu.
    greedy: NDArray[np.bool_] | None = None
    greedy_share: NDArray[np.float64] | None = None

    @property
    def codes(self) -> tuple[str, ...]:
        """Return the compounds' codes in batch order."""
        return tuple(header.code for header in self.batch.headers)

    def __len__(self) -> int:
        return len(self.batch.headers)

    def menu(self, c: int) -> Menu:
        """Return compound c's menu (c indexes the batch)."""
        return self.menus(slice(c, c + 1))[0]

    def menus(self, span: slice = slice(None)) -> list[Menu]:
        """Return the menus of compounds span (all by default), in batch order."""
        start, stop, _ = span.indices(len(self))
        span = slice(start, max(start, stop))
        menus = assemble(
            self.batch, self.columns, self.orders, self.method, self.verified_only, span
        )
        bounds = self.batch.rows.offsets.tolist()
        made = self.greedy is not None and self.greedy_share is not None
        if made and self.select == "greedy":
            assert self.greedy is not None and self.greedy_share is not None
            taken = np.take_along_axis(self.greedy[span], self.orders[span], axis=1).tolist()
            shares = self.greedy_share[span].tolist()
        for c, menu in enumerate(menus, start):
            header = self.batch.headers[c]
            amount = header.budget if self.budget is None else self.budget
            if amount is None:
                continue
            if made and self.select == "greedy":
                attach_greedy(menu, amount, taken[c - start], shares[c - start])
                continue
            approve = self.batch.rows.approve[bounds[c] : bounds[c + 1]]
            order = self.orders[c].tolist()
            greedy = None
            if self.greedy is not None and self.greedy_share is not None:
                greedy = np.flatnonzero(self.greedy[c]).tolist(), float(self.greedy_share[c])
            attach_selection(menu, header.items, approve, order, amount, self.select, greedy)
        return menus


def tally_columns(
    batch: Batch,
    *,
    method: str = "approval",
    verified_only: bool = False,
    select: str = "greedy",
    budget: float | None = None,
) -> MenuColumns:
    """Count a batch of checked compounds into their menus as arrays."""
    check_options(method, select, budget)
    if verified_only:
        batch = only_verified(batch)
    cols = compute_columns(batch)
    orders = _orders(batch, cols, method)
    greedy = _greedy(batch, orders, budget)
    pairs = batch.rows.pairs
    approvals = None if pairs is None else (pairs.approve_row, pairs.approve_item)
    return MenuColumns(
        batch=batch,
        columns=cols,
        orders=orders,
        method=method,
        verified_only=verified_only,
        select=select,
        budget=budget,
        greedy=greedy,
        greedy_share=(
            None
            if greedy is None
            else satisfied_shares(batch.rows.approve, batch.rows.offsets, greedy, approvals)
        ),
    )


#: Whole numbers up to this convert to floats exactly (greedy compares them as Python does).
_EXACT = 2**53


def _greedy(
    batch: Batch, orders: NDArray[np.int64], budget: float | None
) -> NDArray[np.bool_] | None:
    """Return every compound's greedy selection as a mask, or None to leave it to each menu."""
    headers = batch.headers
    if not headers or all(h.budget is None for h in headers) and budget is None:
        return None
    groups: dict[int, list[int]] = {}  # compounds by item list (shared lists are common)
    for c, header in enumerate(headers):
        groups.setdefault(id(header.items), []).append(c)
    costs = np.empty(orders.shape, dtype=np.float64)
    for members in groups.values():
        raw = [item.cost for item in headers[members[0]].items]
        if any(isinstance(x, int) and abs(x) > _EXACT for x in raw):
            return None
        costs[members] = [math.nan if x is None else float(x) for x in raw]
    amounts = [h.budget if budget is None else budget for h in headers]
    if any(isinstance(x, int) and abs(x) > _EXACT for x in amounts):
        return None
    budgets = np.array([math.nan if x is None else float(x) for x in amounts], dtype=np.float64)
    return select_greedy_many(costs, budgets, orders)


class CityMenus(Mapping[str, Menu]):
    """Many batches of menus as arrays, read as a mapping from compound code to menu.

    Each `self[code]` builds that compound's menu afresh; iteration follows the
    order the codes were given in.
    """

    def __init__(self, parts: Sequence[MenuColumns], codes: Sequence[str] | None = None) -> None:
        self.parts = tuple(parts)
        self._where = {code: (part, c) for part in self.parts for c, code in enumerate(part.codes)}
        self._codes = tuple(self._where) if codes is None else tuple(codes)
        if sorted(self._codes) != sorted(self._where):
            raise ValueError("codes must list each compound of the parts once")

    def __getitem__(self, code: str) -> Menu:
        part, c = self._where[code]
        return part.menu(c)

    def __iter__(self) -> Iterator[str]:
        return iter(self._codes)

    def __len__(self) -> int:
        return len(self._codes)

    def all_menus(self) -> dict[str, Menu]:
        """Return every menu, keyed by code in order, each batch assembled in one pass."""
        built: dict[str, Menu] = {}
        for part in self.parts:
            built.update(zip(part.codes, part.menus(), strict=True))
        return {code: built[code] for code in self._codes}


def _orders(batch: Batch, cols: Columns, method: str) -> NDArray[np.int64]:
    ids = [item.id for item in batch.headers[0].items] if batch.headers else []
    id_rank = np.empty(len(ids), dtype=np.int64)
    id_rank[sorted(range(len(ids)), key=ids.__getitem__)] = np.arange(len(ids))
    by_id = np.broadcast_to(id_rank, cols.approvals.shape)
    if method == "approval":
        keys = (by_id, -cols.borda, -cols.approvals)
    elif method == "borda":
        keys = (by_id, -cols.approvals, -cols.borda)
    else:
        return _schulze_orders(batch, cols, ids)
    return np.asarray(np.lexsort(keys, axis=-1), dtype=np.int64)


def _schulze_orders(batch: Batch, cols: Columns, ids: list[str]) -> NDArray[np.int64]:
    r = batch.rows
    bounds = r.offsets.tolist()
    orders = np.zeros(cols.approvals.shape, dtype=np.int64)
    for c, header in enumerate(batch.headers):
        lo, hi = bounds[c], bounds[c + 1]
        orders[c] = schulze_order(
            r.approve[lo:hi], r.position[lo:hi], header.rank_depth, cols.approvals[c].tolist(), ids
        )
    return orders
