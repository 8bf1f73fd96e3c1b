"""Build one compound's `consult.menu/1` dict from the menus' arrays (`MenuColumns`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from consult.tally.contract import CHANNELS, MENU_FORMAT, UNSPECIFIED, Item
from consult.tally.selection import equal_shares_matrix, satisfied_share, select_greedy
from consult.tally.stats import Batch, Columns

DIGITS = 6

Menu = dict[str, Any]

#: Columns with one entry per compound (the rest are per building).
_PER_COMPOUND = tuple(f.name for f in fields(Columns) if f.name != "building_approvals")


def _sliced(cols: Columns, span: slice) -> Columns:
    """Return the per-compound columns of compounds span (buildings left whole)."""
    return replace(cols, **{name: getattr(cols, name)[span] for name in _PER_COMPOUND})


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
    # One gather of tied[c, order[c][p], order[c][q]] for every (c, p, q).
    cells = (np.arange(compounds) * (m * m))[:, None, None] + orders[:, :, None] * m
    tied = cols.tied.reshape(-1)[(cells + orders[:, None, :]).ravel()].reshape(compounds, m, m)
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


def assemble(
    batch: Batch,
    all_cols: Columns,
    all_orders: NDArray[np.int64],
    method: str,
    verified_only: bool,
    span: slice,
) -> list[Menu]:
    """Return the menus (without selection) of compounds span.start:span.stop of the batch."""
    headers = batch.headers[span]
    ids = [item.id for item in batch.headers[0].items] if batch.headers else []
    m = len(ids)
    orders = all_orders[span]
    cols = _sliced(all_cols, span)
    figures = zip(
        *(_in_order(x, orders) for x in (cols.approvals, cols.borda)),
        *(
            _in_order(x, orders, digits=True)
            for x in (cols.support, cols.ci_low, cols.ci_high, cols.bound_low, cols.bound_high)
        ),
        *(_in_order(x, orders) for x in (cols.elderly_approvals, cols.children_approvals)),
        *(_in_order(cols.meeting[:, :, k], orders) for k in range(3)),
        strict=True,
    )
    tied = _tied_lists(cols, orders, ids)
    elderly_n, children_n = cols.elderly_ballots.tolist(), cols.children_ballots.tolist()
    channels = cols.channels.tolist()
    n_list, households = cols.responses.tolist(), cols.households.tolist()
    order_lists = orders.tolist()
    first = span.start or 0
    edges = np.searchsorted(
        batch.rows.building_compound, np.arange(first, first + len(headers) + 1)
    ).tolist()
    names = batch.rows.building_names
    heads_of: dict[int, list[dict[str, Any]]] = {}
    menus: list[Menu] = []
    for c, (header, columns) in enumerate(zip(headers, figures, strict=True)):
        heads = heads_of.get(id(header.items))
        if heads is None:
            heads = heads_of[id(header.items)] = _item_heads(header.items)
        lo, hi = edges[c], edges[c + 1]
        buildings = names[lo:hi]
        per_building = (
            all_cols.building_approvals[lo:hi][:, orders[c]].T.tolist() if hi > lo else None
        )
        old, young = elderly_n[c], children_n[c]
        items: list[dict[str, Any]] = []
        for position, row in enumerate(zip(order_lists[c], *columns, strict=True)):
            i, a, points, s, ci_lo, ci_hi, b_lo, b_hi, ea, ca, yes, no, abstain = row
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
                    "meeting": {"for": yes, "against": no, "abstain": abstain},
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


def attach_selection(
    menu: Menu,
    items: Sequence[Any],
    approve: NDArray[np.bool_],
    order: list[int],
    budget: float,
    select: str,
    greedy_made: tuple[list[int], float] | None = None,
) -> None:
    """Attach the selection to a menu; `greedy_made` is the greedy one already made."""
    ids = [item.id for item in items]
    costs = [item.cost for item in items]
    menu_ids = [ids[i] for i in order]
    index = {item: k for k, item in enumerate(ids)}
    if greedy_made is None:
        greedy = select_greedy(menu_ids, dict(zip(ids, costs, strict=True)), budget)
        greedy_share = satisfied_share(approve, [index[item] for item in greedy])
    else:
        greedy = tuple(ids[i] for i in greedy_made[0])
        greedy_share = greedy_made[1]
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


def attach_greedy(menu: Menu, budget: float, taken: list[bool], share: float) -> None:
    """Attach a greedy selection already made (`taken` in menu order), as attach_selection does.

    Greedy takes priced items only, so the entries taken all carry their cost.
    """
    entries = menu["items"]
    selected = []
    spent = 0
    for entry, take in zip(entries, taken, strict=True):
        entry["selected"] = take
        if take:
            selected.append(entry["id"])
            spent += entry["cost"]
    selection: dict[str, Any] = {
        "rule": "greedy",
        "budget": budget,
        "selected": selected,
        "spend": spent,
        "leftover": budget - spent,
        "voters_satisfied_share": round(share, DIGITS),
    }
    unpriced = [entry["id"] for entry in entries if "cost" not in entry]
    if unpriced:
        selection["unpriced"] = unpriced
    menu["selection"] = selection
