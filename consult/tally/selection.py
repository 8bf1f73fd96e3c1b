"""Choose what to build under a budget: greedy by menu order, or equal shares."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from consult.tally import mes


@dataclass(frozen=True, slots=True)
class EqualShares:
    """What the Method of Equal Shares bought, and how.

    `selected` lists items in the order they were bought: MES purchases, then
    the greedy fill (which is where items of cost 0 come in). `price` gives,
    per MES item, the most any supporter paid; filled items have no price.
    `share` is the per-voter budget of the run kept, `increments` the whole
    units added to budget / voters to reach it, `runs` the MES runs computed.
    """

    selected: tuple[str, ...]
    price: Mapping[str, float]
    filled: tuple[str, ...]
    share: float
    increments: int
    runs: int


def select_greedy(
    order: Sequence[str], costs: Mapping[str, float | None], budget: float
) -> tuple[str, ...]:
    """Walk `order` (the menu) and take each item whose cost still fits the budget.

    Items without a cost are never taken; items nobody approved are taken if
    they fit (the menu lists them last). With a budget covering every cost,
    everything priced is taken; with a budget below every cost, nothing.
    """
    left = float(budget)
    taken: list[str] = []
    for item in order:
        cost = costs.get(item)
        if cost is not None and cost <= left:
            taken.append(item)
            left -= cost
    return tuple(taken)


def tie_order(ids: Sequence[str], costs: Sequence[float], approvals: Sequence[int]) -> list[int]:
    """Return item indices in equal-shares tie order: lower cost, more approvals, then id."""
    return sorted(range(len(ids)), key=lambda i: (costs[i], -approvals[i], ids[i]))


def equal_shares_matrix(
    approve: NDArray[np.bool_],
    ids: Sequence[str],
    costs: Sequence[float | None],
    budget: float,
    *,
    fill_order: Sequence[int] | None = None,
    complete: bool = True,
) -> EqualShares:
    """Run equal shares on an approval matrix (ballots x items); see select_equal_shares."""
    priced = [c is not None for c in costs]
    cost = np.array([c if c is not None else 0.0 for c in costs], dtype=np.float64)
    usable = approve & np.asarray(priced, dtype=bool)[None, :]
    approvals = usable.sum(axis=0).tolist()
    rank = np.empty(len(ids), dtype=np.int64)
    rank[tie_order(ids, cost.tolist(), approvals)] = np.arange(len(ids))
    problem = mes.make_problem(usable, cost, budget, rank)
    outcome = mes.complete(problem) if complete else mes.plain(problem)
    bought = list(outcome.bought)
    filled: list[str] = []
    if complete:
        left = float(budget) - mes.spend(problem, bought)
        if fill_order is None:
            fill_order = sorted(range(len(ids)), key=lambda i: (-approvals[i], ids[i]))
        taken = set(bought)
        for i in fill_order:
            if priced[i] and i not in taken and cost[i] <= left:
                bought.append(i)
                filled.append(ids[i])
                left -= float(cost[i])
    return EqualShares(
        selected=tuple(ids[i] for i in bought),
        price={ids[i]: q for i, q in outcome.price.items()},
        filled=tuple(filled),
        share=outcome.share,
        increments=outcome.increments,
        runs=outcome.runs,
    )


def select_equal_shares(
    ballots: Sequence[Collection[str]],
    costs: Mapping[str, float | None],
    budget: float,
    *,
    order: Sequence[str] | None = None,
    complete: bool = True,
) -> EqualShares:
    """Select items by the Method of Equal Shares (approval ballots, cost utilities).

    `ballots` are the approved item ids of each voter; `costs` lists every
    item (None = unpriced, never selected) and must name every approved id. Each voter gets budget / voters;
    ties in price per unit of utility go to the lower cost, then more
    approvals, then the lower id. With `complete`, every voter's share rises
    one currency unit at a time while the outcome stays within budget (as
    pabutools' `voter_budget_increment=1`), then what still fits is added in
    `order` (the menu; default: approvals, then id). No ballots: MES buys
    nothing and only the fill applies.
    """
    ids = list(costs)
    index = {item: k for k, item in enumerate(ids)}
    approve = np.zeros((len(ballots), len(ids)), dtype=bool)
    for row, chosen in enumerate(ballots):
        for item in chosen:
            if item not in index:
                raise ValueError(f"ballot {row} approves {item!r}, which has no entry in costs")
            approve[row, index[item]] = True
    fill = None if order is None else [index[item] for item in order]
    return equal_shares_matrix(
        approve, ids, [costs[item] for item in ids], budget, fill_order=fill, complete=complete
    )


def satisfied_share(approve: NDArray[np.bool_], chosen: Collection[int]) -> float:
    """Return the share of ballots approving at least one chosen item (0 with no ballots)."""
    if approve.shape[0] == 0:
        return 0.0
    columns = sorted(chosen)
    if not columns:
        return 0.0
    return float(approve[:, columns].any(axis=1).mean())


def select_greedy_many(
    costs: NDArray[np.float64], budgets: NDArray[np.float64], orders: NDArray[np.int64]
) -> NDArray[np.bool_]:
    """Return `select_greedy` for many compounds at once as a (compounds, items) mask.

    `costs[c, i]` is item i's cost in compound c (NaN = no cost, never taken),
    `budgets[c]` the compound's budget (NaN = none: nothing taken) and
    `orders[c]` its menu order. The walk is select_greedy's, one menu position
    at a time for every compound, with the same float arithmetic.
    """
    compounds, m = orders.shape
    taken = np.zeros((compounds, m), dtype=bool)
    left = budgets.astype(np.float64)
    every = np.arange(compounds)
    for k in range(m):
        items = orders[:, k]
        cost = costs[every, items]
        take = cost <= left  # False for a NaN cost or budget
        left = np.where(take, left - cost, left)
        taken[every, items] = take
    return taken


def satisfied_shares(
    approve: NDArray[np.bool_],
    offsets: NDArray[np.int64],
    chosen: NDArray[np.bool_],
    approvals: tuple[NDArray[np.intp], NDArray[np.integer[Any]]] | None = None,
) -> NDArray[np.float64]:
    """Return `satisfied_share` per compound: ballots (rows offsets[c]:offsets[c + 1]) of
    compound c approving any item chosen[c] marks (0 with no ballots).

    `approvals`, when given, holds the (row, item) pairs of `approve`, read instead of it.
    """
    n = np.diff(offsets)
    compound = np.repeat(np.arange(n.size), n)
    if approvals is None:
        hit = (approve & chosen[compound]).any(axis=1)
    else:
        rows, items = approvals
        cells = (compound * chosen.shape[1])[rows]
        cells += items
        taken = chosen.reshape(-1)[cells]
        hit = np.bincount(rows[taken], minlength=compound.size).astype(bool)
    counts = np.bincount(compound[hit], minlength=n.size).astype(np.float64)
    return np.asarray(np.divide(counts, n, out=np.zeros(n.size), where=n > 0), dtype=np.float64)
