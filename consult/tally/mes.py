"""The Method of Equal Shares for approval ballots with cost utilities.

Every voter starts with an equal share b of the budget. In each round the
item whose supporters can pay for it at the lowest price per unit of utility
(rho; with cost utilities a supporter pays at most rho * cost, here called q)
is bought, each supporter paying min(own money, q); items their supporters can
no longer afford drop out. Ties in rho go to the item earlier in `tie_rank`.
Items of cost 0 give no utility under cost utilities, so MES never buys them
(as in pabutools); the greedy fill after completion takes them.

Completion (as pabutools' `voter_budget_increment=1`): b is raised one unit at
a time, b0 = budget / voters, b0 + 1, ..., and the first outcome that is over
budget (its predecessor is kept) or exhaustive (it is kept) ends the search.
Instead of running every increment, `complete` jumps ahead whenever it can
prove nothing changes in between: along a fixed sequence of purchases every
voter's money grows and every rho falls as b grows, so if the runs at b1 < b2
buy the same items in the same order and at every round each rival's rho at b2
is no better than the winner's rho at b1, every b in between buys the same.
Floating point comparisons treat relative differences below TOL as ties.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

TOL = 1e-9

Floats = NDArray[np.float64]
Ints = NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class Run:
    """One run of MES at per-voter budget `share`: what it bought, in order."""

    share: float
    bought: tuple[int, ...]
    rho: tuple[float, ...]
    price: tuple[float, ...]


@dataclass(eq=False)
class Problem:
    """An MES instance reduced to distinct ballots over the items MES can buy."""

    cost: Floats  # (m,)
    budget: float
    voters: int
    tie_rank: Ints  # (m,) position of each item in the tie order
    eligible: list[int]  # items with a cost > 0 and at least one supporter
    weight: Floats = field(default_factory=lambda: np.zeros(0))  # (G,) voters per ballot kind
    supporters: dict[int, Ints] = field(default_factory=dict)  # item -> ballot kinds
    support_weight: dict[int, Floats] = field(default_factory=dict)
    total_weight: dict[int, float] = field(default_factory=dict)


def make_problem(
    approve: NDArray[np.bool_], cost: Floats, budget: float, tie_rank: Ints
) -> Problem:
    """Group identical ballots and index each buyable item's supporters."""
    voters = int(approve.shape[0])
    approvals = approve.sum(axis=0)
    eligible = [int(i) for i in np.flatnonzero((approvals > 0) & (cost > 0))]
    problem = Problem(cost, float(budget), voters, tie_rank, eligible)
    if not eligible:
        return problem
    sub = np.ascontiguousarray(approve[:, eligible])
    keep = sub.any(axis=1)
    packed = np.packbits(sub[keep], axis=1)
    keys = np.ascontiguousarray(packed).view(np.dtype((np.void, packed.shape[1]))).ravel()
    _, first, counts = np.unique(keys, return_index=True, return_counts=True)
    kinds = sub[keep][first]
    problem.weight = counts.astype(np.float64)
    for k, item in enumerate(eligible):
        members = np.flatnonzero(kinds[:, k])
        problem.supporters[item] = members
        problem.support_weight[item] = problem.weight[members]
        problem.total_weight[item] = float(problem.weight[members].sum())
    return problem


def _price(problem: Problem, item: int, money: Floats) -> float | None:
    """Return q, the most any supporter pays for `item`, or None if unaffordable."""
    cost = float(problem.cost[item])
    own = money[problem.supporters[item]]
    weights = problem.support_weight[item]
    if float(weights @ own) < cost * (1.0 - TOL):
        return None
    q = cost / problem.total_weight[item]
    if float(own.min()) >= q:
        return q
    poor_count = -1
    while True:
        poor = own < q
        count = int(np.count_nonzero(poor))
        if count == poor_count:
            return q
        poor_count = count
        rich_weight = problem.total_weight[item] - float(weights @ poor)
        if rich_weight <= 0.0:
            return float(own.max())
        q = (cost - float((weights * own) @ poor)) / rich_weight


def run(problem: Problem, share: float, reference: Run | None = None) -> Run | None:
    """Run MES with `share` per voter; with a reference run, certify or return None.

    Certifying means proving that every per-voter budget between
    `reference.share` and `share` buys exactly what the reference bought.
    """
    money = np.full(problem.weight.size, share, dtype=np.float64)
    bound = {i: 1.0 / problem.total_weight[i] for i in problem.eligible}
    fresh: set[int] = set()
    bought: list[int] = []
    rhos: list[float] = []
    prices: list[float] = []
    while bound:
        fresh.clear()
        best, quotes = _cheapest(problem, money, bound, fresh)
        if not quotes:
            break
        limit = best * (1.0 + TOL)
        tied = (i for i, q in quotes.items() if q / float(problem.cost[i]) <= limit)
        winner = min(tied, key=problem.tie_rank.__getitem__)
        step = len(bought)
        if reference is not None:
            if step >= len(reference.bought) or winner != reference.bought[step]:
                return None
            if not _rivals_stay_behind(problem, money, bound, fresh, winner, reference.rho[step]):
                return None
        q = quotes[winner]
        members = problem.supporters[winner]
        money[members] = np.maximum(money[members] - q, 0.0)
        del bound[winner]
        bought.append(winner)
        rhos.append(quotes[winner] / float(problem.cost[winner]))
        prices.append(q)
    if reference is not None and len(bought) != len(reference.bought):
        return None
    return Run(share, tuple(bought), tuple(rhos), tuple(prices))


def _cheapest(
    problem: Problem, money: Floats, bound: dict[int, float], fresh: set[int]
) -> tuple[float, dict[int, float]]:
    """Price the items that may be cheapest; drop the unaffordable; return best rho and quotes."""
    best = float("inf")
    quotes: dict[int, float] = {}
    for item in sorted(bound, key=bound.__getitem__):
        if bound[item] > best * (1.0 + TOL):
            break
        q = _price(problem, item, money)
        if q is None:
            del bound[item]
            continue
        rho = q / float(problem.cost[item])
        bound[item] = rho
        fresh.add(item)
        quotes[item] = q
        best = min(best, rho)
    return best, quotes


def _rivals_stay_behind(
    problem: Problem,
    money: Floats,
    bound: dict[int, float],
    fresh: set[int],
    winner: int,
    threshold: float,
) -> bool:
    """Check every rival's rho now is no better than the winner's at the reference."""
    winner_rank = problem.tie_rank[winner]
    for item in list(bound):
        if item == winner or bound[item] > threshold * (1.0 + TOL):
            continue
        if item not in fresh:
            q = _price(problem, item, money)
            if q is None:
                del bound[item]
                continue
            bound[item] = q / float(problem.cost[item])
            fresh.add(item)
        rho = bound[item]
        if rho > threshold * (1.0 + TOL):
            continue
        if rho < threshold * (1.0 - TOL) or problem.tie_rank[item] < winner_rank:
            return False
    return True


def spend(problem: Problem, bought: Sequence[int]) -> float:
    """Return the total cost of the items bought."""
    return float(sum(float(problem.cost[i]) for i in bought))


def _exhaustive(problem: Problem, bought: Sequence[int]) -> bool:
    left = problem.budget - spend(problem, bought)
    taken = set(bought)
    return all(float(problem.cost[i]) > left for i in problem.eligible if i not in taken)


@dataclass(frozen=True, slots=True)
class Outcome:
    """The result of MES, possibly completed by raising the per-voter budget."""

    bought: tuple[int, ...]  # in the order MES bought them
    price: dict[int, float]
    share: float  # the per-voter budget of the run kept
    increments: int  # whole units added to budget / voters
    runs: int  # MES runs computed


def plain(problem: Problem) -> Outcome:
    """Run MES once with the budget shared equally."""
    if problem.voters == 0:
        return Outcome((), {}, 0.0, 0, 0)
    share = problem.budget / problem.voters
    result = run(problem, share)
    assert result is not None
    return _outcome(problem, result, 0, 1)


def _outcome(problem: Problem, result: Run, increments: int, runs: int) -> Outcome:
    prices = dict(zip(result.bought, result.price, strict=True))
    return Outcome(result.bought, prices, result.share, increments, runs)


def complete(problem: Problem) -> Outcome:
    """Raise every voter's share one unit at a time while the outcome stays within budget.

    Matches pabutools' `method_of_equal_shares(..., voter_budget_increment=1)`:
    stops at the first increment whose outcome is over budget (keeping the one
    before) or exhaustive among the items MES can buy (keeping it).
    """
    if problem.voters == 0:
        return Outcome((), {}, 0.0, 0, 0)
    b0 = problem.budget / problem.voters
    current = run(problem, b0)
    assert current is not None
    if spend(problem, current.bought) > problem.budget:
        return Outcome((), {}, b0, 0, 1)
    if _exhaustive(problem, current.bought):
        return _outcome(problem, current, 0, 1)
    runs, k, step = 1, 0, 2
    # After a failed jump, walk `pause` single increments before trying again;
    # the pause doubles with each failure so hopeless jumps cost little.
    pause, penalty = 0, 1
    while True:
        if pause:
            following = run(problem, b0 + k + 1)
            runs += 1
            assert following is not None
            if spend(problem, following.bought) > problem.budget:
                return _outcome(problem, current, k, runs)
            if _exhaustive(problem, following.bought):
                return _outcome(problem, following, k + 1, runs)
            k, current, pause = k + 1, following, pause - 1
            continue
        ahead = run(problem, b0 + k + step, reference=current)
        runs += 1
        if ahead is None:
            step = max(2, step // 2)
            pause, penalty = penalty, penalty * 2
        else:
            k, current, step, penalty = k + step, ahead, step * 2, 1
