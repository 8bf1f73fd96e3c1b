"""Benchmark the tally engine on a synthetic city and print the figures.

Run with `make bench` (or `.venv/bin/python bench/tally_bench.py`). The city is
synthetic but shaped like the real programme: 466 compounds, 49,011
households, 80 % answering, 53 catalogue items, about 6 approvals and 3
priorities per ballot, drawn from a fixed seed. Timings are the best of
several runs in the same process, the city's Counter and `tally_documents`
taking turns (the shared machine's speed drifts within minutes); pabutools
runs once (it takes seconds).

Add `--quick` to skip the pabutools comparison.
"""

from __future__ import annotations

import csv
import sys
import time
from collections import Counter
from collections.abc import Callable
from itertools import chain
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from consult.tally import (  # noqa: E402
    BallotArrays,
    arrays_from_documents,
    select_equal_shares,
    tally,
    tally_arrays,
    tally_documents,
    tally_many,
)

COMPOUNDS = 466
HOUSEHOLDS = 49_011
ANSWERING = 0.8
SEED = 20261120
CHANNELS = ["qr", "invite", "paper", "meeting"]
CHANNEL_SHARE = [0.55, 0.25, 0.15, 0.05]
#: Unit cost range per category, in yuan (basic works are the dearest).
COST_RANGE = {
    "basic": (300_000, 2_000_000),
    "improvement": (100_000, 1_200_000),
    "enhancement": (50_000, 600_000),
}


def catalogue() -> list[dict[str, Any]]:
    """Return the 53 catalogue items with a synthetic cost each."""
    rng = np.random.default_rng(SEED)
    with (ROOT / "consult" / "data" / "catalog.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    items = []
    for row in rows:
        low, high = COST_RANGE[row["category"]]
        cost = int(rng.integers(low, high) // 1000 * 1000)
        items.append({"id": row["id"], "category": row["category"], "cost": cost})
    return items


def compound_sizes(rng: np.random.Generator) -> list[int]:
    """Split 49,011 households over 466 compounds, from one building to 700+."""
    raw = rng.lognormal(mean=4.3, sigma=0.8, size=COMPOUNDS)
    sizes = np.maximum(12, np.round(raw / raw.sum() * HOUSEHOLDS)).astype(int)
    sizes[np.argmax(sizes)] += HOUSEHOLDS - int(sizes.sum())
    return [int(s) for s in sizes]


def draw_ballots(
    rng: np.random.Generator, n: int, ids: list[str], weights: np.ndarray, buildings: int
) -> list[dict[str, Any]]:
    """Draw n ballots: ~6 approvals by popularity, the first ~3 of them ranked."""
    ballots = []
    counts = np.clip(rng.poisson(6.0, size=n), 1, len(ids))
    depths = np.minimum(rng.integers(2, 5, size=n), counts)
    flags = rng.random((n, 3))
    channel = rng.choice(len(CHANNELS), size=n, p=CHANNEL_SHARE)
    building = rng.integers(1, buildings + 1, size=n)
    for k in range(n):
        chosen = rng.choice(len(ids), size=counts[k], replace=False, p=weights)
        approve = [ids[i] for i in chosen]
        ballots.append(
            {
                "household": f"{building[k]}-{k // 40 + 1}-{k % 40 + 101}",
                "building": str(building[k]),
                "approve": approve,
                "rank": approve[: min(3, depths[k])],
                "elderly": bool(flags[k, 0] < 0.35),
                "children": bool(flags[k, 1] < 0.25),
                "verified": bool(flags[k, 2] < 0.7),
                "channel": CHANNELS[channel[k]],
            }
        )
    return ballots


def popularity(rng: np.random.Generator, m: int) -> np.ndarray:
    """Return item weights: a shared city-wide taste, perturbed per compound."""
    base = 1.0 / np.arange(1, m + 1) ** 0.9
    local = base * rng.lognormal(0.0, 0.5, size=m)
    return np.asarray(local / local.sum())


def city() -> list[dict[str, Any]]:
    """Return the synthetic city's 466 `consult.ballots/1` documents."""
    rng = np.random.default_rng(SEED)
    items = catalogue()
    ids = [item["id"] for item in items]
    docs = []
    for c, households in enumerate(compound_sizes(rng)):
        n = int(rng.binomial(households, ANSWERING))
        buildings = max(1, households // 60)
        doc: dict[str, Any] = {
            "format": "consult.ballots/1",
            "compound": {"code": f"c{c:03d}", "name": f"小区 {c}", "households": households},
            "rank_depth": 3,
            "items": items,
            "budget": households * 4_000,
            "ballots": draw_ballots(rng, n, ids, popularity(rng, len(ids)), buildings),
        }
        if c % 4 == 0:
            votes = [
                {"item": ids[int(i)], "for": 9, "against": 2, "abstain": 1}
                for i in rng.choice(len(ids), 3, replace=False)
            ]
            doc["meetings"] = [{"id": f"m{c}", "date": "2026-11-20", "votes": votes}]
        docs.append(doc)
    return docs


def best_of(runs: int, work: Callable[[], object]) -> float:
    """Return the fastest of `runs` timings of `work`, in seconds (freeing excluded)."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - start)
        del result  # freeing a big result is not part of computing it
    return min(times)


def best_in_turns(runs: int, *works: Callable[[], object]) -> list[float]:
    """Return the fastest of `runs` timings of each work, the works run in turn each round."""
    times: list[list[float]] = [[] for _ in works]
    for _ in range(runs):
        for kept, work in zip(times, works, strict=True):
            start = time.perf_counter()
            result = work()
            kept.append(time.perf_counter() - start)
            del result
    return [min(kept) for kept in times]


def counter_baseline(docs: list[dict[str, Any]]) -> list[Counter[str]]:
    """Count each compound's approvals with a plain Counter (the yardstick)."""
    return [Counter(chain.from_iterable(b["approve"] for b in doc["ballots"])) for doc in docs]


def array_counter(arrays: BallotArrays) -> Counter[tuple[int, int]]:
    """Count each compound's approvals from the arrays with a plain Counter."""
    compound = arrays.compound[arrays.approve_ballot]
    return Counter(zip(compound.tolist(), arrays.approve_item.tolist(), strict=True))


def array_bincount(arrays: BallotArrays, m: int) -> np.ndarray:
    """Count each compound's approvals from the arrays with one bincount."""
    cells = arrays.compound[arrays.approve_ballot] * m + arrays.approve_item
    return np.bincount(cells, minlength=len(arrays.headers) * m)


def bench_city() -> list[str]:
    """Time the whole city's menus against a Counter over the same approvals."""
    docs = city()
    ballots = sum(len(doc["ballots"]) for doc in docs)
    approvals = sum(len(b["approve"]) for doc in docs for b in doc["ballots"])
    m = len(docs[0]["items"])
    menus = tally_many(docs)
    counters = counter_baseline(docs)
    for menu, counted in zip(menus, counters, strict=True):
        assert {e["id"]: e["approvals"] for e in menu["items"] if e["approvals"]} == counted
    ((_, part),) = tally_documents(docs)
    assert part.menus() == menus, "the menus as arrays must give tally_many's dicts"
    arrays = arrays_from_documents(docs)
    assert tally_arrays(arrays).menus() == menus, "arrays must give the documents' menus"
    assert sum(array_counter(arrays).values()) == int(array_bincount(arrays, m).sum()) == approvals

    counter, columns_time = best_in_turns(
        9, lambda: counter_baseline(docs), lambda: tally_documents(docs)
    )
    menus_time = best_of(5, lambda: tally_many(docs))
    array_count = best_of(9, lambda: array_counter(arrays))
    array_bins = best_of(9, lambda: array_bincount(arrays, m))
    from_arrays = best_of(5, lambda: tally_arrays(arrays))
    return [
        f"city: {len(docs)} compounds, {sum(d['compound']['households'] for d in docs):,}"
        f" households, {ballots:,} ballots, {approvals:,} approvals, {m} items",
        "  from the documents (consult.ballots/1 dicts):",
        f"    Counter over the approvals             {counter * 1000:8.1f} ms",
        f"    tally_many, every menu a dict          {menus_time * 1000:8.1f} ms"
        f"  = {menus_time / counter:.1f}x Counter (for comparison)",
        f"    tally_documents, menus as arrays       {columns_time * 1000:8.1f} ms"
        f"  = {columns_time / counter:.1f}x Counter (goal <= 3x)",
        "  from the same ballots as arrays (BallotArrays, converted beforehand):",
        f"    Counter over the (compound, item) pairs{array_count * 1000:8.1f} ms",
        f"    np.bincount over the same pairs        {array_bins * 1000:8.1f} ms",
        f"    tally_arrays, menus as arrays          {from_arrays * 1000:8.1f} ms"
        f"  = {from_arrays / array_count:.1f}x Counter, {from_arrays / array_bins:.0f}x bincount",
    ]


def bench_compound() -> list[str]:
    """Time one compound of 800 ballots (1,000 households)."""
    rng = np.random.default_rng(SEED + 2)
    items = catalogue()
    ids = [item["id"] for item in items]
    doc: dict[str, Any] = {
        "format": "consult.ballots/1",
        "compound": {"code": "big", "name": "大小区", "households": 1000},
        "rank_depth": 3,
        "items": items,
        "ballots": draw_ballots(rng, 800, ids, popularity(rng, len(ids)), 14),
    }
    lines = ["one compound: 800 ballots of 1,000 households, 53 items"]
    for label, options in [
        ("approval menu", {}),
        ("schulze menu", {"method": "schulze"}),
        ("menu + greedy, budget 4,000,000", {"budget": 4_000_000}),
        ("menu + equal shares, budget 4,000,000", {"budget": 4_000_000, "select": "equal_shares"}),
    ]:
        seconds = best_of(30, lambda options=options: tally(doc, **options))
        lines.append(f"  {label:<38} {seconds * 1000:8.2f} ms")
    result = tally(doc, budget=4_000_000, select="equal_shares")["selection"]
    lines.append(f"    (equal shares: {result['increments']} one-unit increments)")
    return lines


def pabutools_completed(ballots: list[list[str]], costs: dict[str, int], budget: int) -> list[str]:
    """Run pabutools' equal shares with completion, as it documents for Wieliczka."""
    from pabutools.election import ApprovalBallot, ApprovalProfile, Cost_Sat, Instance, Project
    from pabutools.rules import (
        completion_by_rule_combination,
        greedy_utilitarian_welfare,
        method_of_equal_shares,
    )
    from pabutools.tiebreaking import TieBreakingRule

    projects = {i: Project(i, c) for i, c in costs.items()}
    instance = Instance(projects.values(), budget_limit=budget)
    profile = ApprovalProfile([ApprovalBallot([projects[i] for i in b]) for b in ballots])
    ties = TieBreakingRule(lambda inst, prof, p: (p.cost, -prof.approval_score(p), p.name))
    outcome = completion_by_rule_combination(
        instance,
        profile,
        [method_of_equal_shares, greedy_utilitarian_welfare],
        [
            {"sat_class": Cost_Sat, "tie_breaking": ties, "voter_budget_increment": 1},
            {"sat_class": Cost_Sat},
        ],
    )
    return sorted(p.name for p in outcome)


def bench_equal_shares(with_pabutools: bool) -> list[str]:
    """Time equal shares with completion on 50,000 ballots x 53 items against pabutools."""
    rng = np.random.default_rng(SEED + 1)
    items = catalogue()
    ids = [item["id"] for item in items]
    costs = {item["id"]: item["cost"] for item in items}
    ballots = [b["approve"] for b in draw_ballots(rng, 50_000, ids, popularity(rng, 53), 1)]
    budget = 2_000_000
    result = select_equal_shares(ballots, costs, budget)
    ours = best_of(5, lambda: select_equal_shares(ballots, costs, budget))
    lines = [
        f"equal shares with completion: 50,000 ballots x 53 items, budget {budget:,}"
        f" ({budget / 50_000:.0f} per voter)",
        f"  consult.tally                        {ours * 1000:8.1f} ms"
        f"  ({result.increments} increments, {result.runs} MES runs,"
        f" {len(result.selected)} items selected)",
    ]
    if with_pabutools:
        start = time.perf_counter()
        theirs = pabutools_completed(ballots, costs, budget)
        seconds = time.perf_counter() - start
        assert theirs == sorted(result.selected), "pabutools selects differently"
        lines.append(
            f"  pabutools (run once)                 {seconds * 1000:8.1f} ms"
            f"  = {seconds / ours:.0f}x slower, same selection"
        )
    return lines


def main(argv: list[str]) -> None:
    """Print the three figures."""
    for section in (bench_city(), bench_compound(), bench_equal_shares("--quick" not in argv)):
        print("\n".join(section), flush=True)
        print()


if __name__ == "__main__":
    main(sys.argv[1:])
