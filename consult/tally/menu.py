"""From checked ballots to `consult.menu/1`: rank the items, attach the figures."""

from __future__ import annotations

import gc
import math
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
from numpy.typing import NDArray

from consult.tally.contract import (
    CHANNELS,
    MENU_FORMAT,
    UNSPECIFIED,
    Ballots,
    Item,
    parse_ballots,
)
from consult.tally.schulze import schulze_order
from consult.tally.selection import equal_shares_matrix, satisfied_share, select_greedy
from consult.tally.stats import (
    Batch,
    Columns,
    batch_of,
    compute_columns,
    only_verified,
    read_batches,
)

METHODS = ("approval", "borda", "schulze")
RULES = ("greedy", "equal_shares")
DIGITS = 6

Menu = dict[str, Any]


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building a tree of fresh objects.

    A menu is hundreds of thousands of new dicts and lists with no cycles;
    collection passes triggered by their allocation find nothing to free and,
    for a whole city, cost about as much as the counting itself.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _check_options(method: str, select: str, budget: float | None = None) -> None:
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    if select not in RULES:
        raise ValueError(f"select must be one of {', '.join(RULES)}, got {select!r}")
    if budget is not None and not (0 <= budget < math.inf):
        raise ValueError(f"budget must be a finite amount >= 0, got {budget!r}")


def tally(
    doc: Mapping[str, Any] | Ballots,
    *,
    method: str = "approval",
    verified_only: bool = False,
    select: str = "greedy",
    budget: float | None = None,
) -> Menu:
    """Return the `consult.menu/1` menu of one `consult.ballots/1` document.

    `method` orders the menu: "approval" (approvals, then Borda points, then
    id), "borda" (Borda points, then approvals, then id) or "schulze" (beat
    path on ranked > approved > not approved; items neither beats are ordered
    by approvals, then id). `verified_only` counts only verified ballots.
    When the document has a budget (or `budget` overrides it) a selection
    by `select` ("greedy" or "equal_shares") is attached. `tied_with` uses the
    interval's finite-population z, so at full coverage only equal counts tie.
    No ballots give an all-zero menu ordered by id, with intervals and bounds
    [0, 1] and every item tied with every other.
    Shares and intervals are rounded to 6 decimals; counts and amounts are
    given as they were read.
    Raises TallyInputError on a document that breaks the contract.
    """
    _check_options(method, select, budget)
    with _collector_paused():
        ballots = doc if isinstance(doc, Ballots) else parse_ballots(doc)
        return _menus(batch_of(ballots), method, verified_only, select, budget)[0]


def tally_many(
    docs: Sequence[Mapping[str, Any]],
    *,
    method: str = "approval",
    verified_only: bool = False,
    select: str = "greedy",
) -> list[Menu]:
    """Return the menus of many documents (a district, a city) in input order.

    Documents sharing an item list are counted together in one pass, which is
    what makes a whole city cheap; each menu equals `tally` of its document.
    """
    _check_options(method, select)
    out: list[Menu | None] = [None] * len(docs)
    with _collector_paused():
        for members, batch in read_batches(docs):
            menus = _menus(batch, method, verified_only, select, None)
            for k, menu in zip(members, menus, strict=True):
                out[k] = menu
    return [menu for menu in out if menu is not None]


def _menus(
    batch: Batch, method: str, verified_only: bool, select: str, budget: float | None
) -> list[Menu]:
    if verified_only:
        batch = only_verified(batch)
    cols = compute_columns(batch)
    orders = _orders(batch, cols, method)
    menus = _assemble(batch, cols, orders, method, verified_only)
    bounds = batch.rows.offsets.tolist()
    for c, menu in enumerate(menus):
        header = batch.headers[c]
        amount = header.budget if budget is None else budget
        if amount is not None:
            approve = batch.rows.approve[bounds[c] : bounds[c + 1]]
            _attach_selection(menu, header.items, approve, orders[c].tolist(), amount, select)
    return menus


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


def _in_order(values: NDArray[Any], orders: NDArray[np.int64], *, digits: bool = False) -> Any:
    """Return (C, m, ...) values reordered into menu order, as nested lists."""
    index = orders.reshape(orders.shape + (1,) * (values.ndim - 2))
    taken = np.take_along_axis(values, index, axis=1)
    return (np.round(taken, DIGITS) if digits else taken).tolist()


def _tied_lists(cols: Columns, orders: NDArray[np.int64], ids: list[str]) -> list[list[str]]:
    """Return, per (compound, menu position), the ids tied with that item in menu order."""
    compounds, m = orders.shape
    if not compounds or not m:
        return []
    tied = np.take_along_axis(cols.tied, orders[:, :, None], axis=1)
    tied = np.take_along_axis(tied, orders[:, None, :], axis=2)
    c_idx, _, k_idx = np.nonzero(tied)
    names = np.asarray(ids, dtype=object)[orders[c_idx, k_idx]].tolist()
    ends = np.cumsum(tied.sum(axis=2).ravel()).tolist()
    starts = [0, *ends[:-1]]
    return [names[a:b] for a, b in zip(starts, ends, strict=True)]


def _item_heads(items: Sequence[Item]) -> list[dict[str, Any]]:
    """Return each item's leading menu fields: id, category, names and cost when given."""
    heads = []
    for item in items:
        head: dict[str, Any] = {"id": item.id, "category": item.category}
        if item.name_zh is not None:
            head["name_zh"] = item.name_zh
        if item.name_en is not None:
            head["name_en"] = item.name_en
        if item.cost is not None:
            head["cost"] = item.cost
        heads.append(head)
    return heads


def _assemble(
    batch: Batch, cols: Columns, orders: NDArray[np.int64], method: str, verified_only: bool
) -> list[Menu]:
    compounds = len(batch.headers)
    ids = [item.id for item in batch.headers[0].items] if compounds else []
    m = len(ids)
    figures = zip(
        *(_in_order(x, orders) for x in (cols.approvals, cols.borda)),
        *(
            _in_order(x, orders, digits=True)
            for x in (cols.support, cols.ci_low, cols.ci_high, cols.bound_low, cols.bound_high)
        ),
        *(_in_order(x, orders) for x in (cols.elderly_approvals, cols.children_approvals)),
        _in_order(cols.meeting, orders),
        strict=True,
    )
    tied = _tied_lists(cols, orders, ids)
    elderly_n, children_n = cols.elderly_ballots.tolist(), cols.children_ballots.tolist()
    channels = cols.channels.tolist()
    n_list, households = cols.responses.tolist(), cols.households.tolist()
    order_lists = orders.tolist()
    edges = np.searchsorted(batch.rows.building_compound, np.arange(compounds + 1)).tolist()
    names = batch.rows.building_names
    heads_of: dict[int, list[dict[str, Any]]] = {}
    menus: list[Menu] = []
    for c, (header, columns) in enumerate(zip(batch.headers, figures, strict=True)):
        heads = heads_of.get(id(header.items))
        if heads is None:
            heads = heads_of[id(header.items)] = _item_heads(header.items)
        lo, hi = edges[c], edges[c + 1]
        buildings = names[lo:hi]
        per_building = cols.building_approvals[lo:hi][:, orders[c]].T.tolist() if hi > lo else None
        old, young = elderly_n[c], children_n[c]
        items: list[dict[str, Any]] = []
        for position, (i, a, points, s, ci_lo, ci_hi, b_lo, b_hi, ea, ca, hands) in enumerate(
            zip(order_lists[c], *columns, strict=True)
        ):
            items.append(
                {
                    **heads[i],
                    "rank": position + 1,
                    "approvals": a,
                    "support": s,
                    "ci95": [ci_lo, ci_hi],
                    "bounds": [b_lo, b_hi],
                    "borda": points,
                    "tied_with": tied[c * m + position],
                    "segments": {
                        "elderly": {"approvals": ea, "ballots": old},
                        "children": {"approvals": ca, "ballots": young},
                    },
                    "by_building": (
                        dict(zip(buildings, per_building[position], strict=True))
                        if per_building
                        else {}
                    ),
                    "meeting": {"for": hands[0], "against": hands[1], "abstain": hands[2]},
                }
            )
        n, big_n = n_list[c], households[c]
        menus.append(
            {
                "format": MENU_FORMAT,
                "compound": {"code": header.code, "name": header.name, "households": big_n},
                "method": method,
                "verified_only": verified_only,
                "rank_depth": header.rank_depth,
                "responses": n,
                "households": big_n,
                "coverage": round(n / big_n, DIGITS) if big_n else 0.0,
                "channels": dict(zip((*CHANNELS, UNSPECIFIED), channels[c], strict=True)),
                "items": items,
            }
        )
    return menus


def _attach_selection(
    menu: Menu,
    items: Sequence[Any],
    approve: NDArray[np.bool_],
    order: list[int],
    budget: float,
    select: str,
) -> None:
    ids = [item.id for item in items]
    costs = [item.cost for item in items]
    menu_ids = [ids[i] for i in order]
    index = {item: k for k, item in enumerate(ids)}
    greedy = select_greedy(menu_ids, dict(zip(ids, costs, strict=True)), budget)
    greedy_share = satisfied_share(approve, [index[item] for item in greedy])
    extra: dict[str, Any]
    if select == "greedy":
        chosen = set(greedy)
        extra = {"voters_satisfied_share": round(greedy_share, DIGITS)}
    else:
        result = equal_shares_matrix(approve, ids, costs, budget, fill_order=order)
        chosen = set(result.selected)
        extra = {
            "price_per_supporter": {
                item: round(result.price[item], DIGITS) if item in result.price else None
                for item in menu_ids
                if item in chosen
            },
            "completed_by_greedy": [item for item in menu_ids if item in result.filled],
            "per_voter_budget": round(result.share, DIGITS),
            "increments": result.increments,
            "voters_satisfied_share": round(
                satisfied_share(approve, [index[item] for item in chosen]), DIGITS
            ),
            "greedy_voters_satisfied_share": round(greedy_share, DIGITS),
        }
    selected = [item for item in menu_ids if item in chosen]
    spent = sum(cost for cost in (costs[index[item]] for item in selected) if cost is not None)
    selection: dict[str, Any] = {
        "rule": select,
        "budget": budget,
        "selected": selected,
        "spend": spent,
        "leftover": budget - spent,
        **extra,
    }
    unpriced = [ids[i] for i in order if costs[i] is None]
    if unpriced:
        selection["unpriced"] = unpriced
    for entry in menu["items"]:
        entry["selected"] = entry["id"] in chosen
    menu["selection"] = selection
