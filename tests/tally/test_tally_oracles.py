"""The engine against reference implementations: pabutools and pref_voting.

pabutools computes equal shares with exact fractions; our floating point
version must select exactly the same items, with our tie order (lower cost,
more approvals, lower id) passed to pabutools as its tie-breaking rule.
pref_voting's beat path (Schulze) must agree with our winners, defeats and
strongest-path strengths on the same weak orders (ranked > approved > not).
"""

from __future__ import annotations

import itertools
from typing import Any

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pabutools.election import ApprovalBallot, ApprovalProfile, Cost_Sat, Instance, Project
from pabutools.rules import (
    completion_by_rule_combination,
    greedy_utilitarian_welfare,
    method_of_equal_shares,
)
from pabutools.tiebreaking import TieBreakingRule
from pref_voting.helper import get_mg
from pref_voting.margin_based_methods import beat_path, beat_path_defeat
from pref_voting.profiles_with_ties import ProfileWithTies

from consult.tally import parse_ballots, select_equal_shares, tally
from consult.tally.schulze import (
    beats,
    pairwise_preferences,
    schulze_winners,
    strongest_paths,
)

ORACLE = settings(max_examples=100, deadline=None)


@st.composite
def pb_instances(draw: Any) -> tuple[list[list[str]], dict[str, int], int]:
    """Draw approval ballots, item costs and a budget; costs repeat to make ties."""
    m = draw(st.integers(1, 6))
    ids = [f"i{k}" for k in range(m)]
    costs = {i: draw(st.sampled_from([0, 5, 10, 20, 30, 60, 100])) for i in ids}
    ballots = draw(st.lists(st.lists(st.sampled_from(ids), unique=True), max_size=12))
    return ballots, costs, draw(st.integers(0, 200))


def pabutools_select(ballots, costs, budget, *, complete, greedy_key=None):
    projects = {i: Project(i, c) for i, c in costs.items()}
    instance = Instance(projects.values(), budget_limit=budget)
    profile = ApprovalProfile([ApprovalBallot([projects[i] for i in b]) for b in ballots])
    ties = TieBreakingRule(lambda inst, prof, p: (p.cost, -prof.approval_score(p), p.name))
    if not complete:
        outcome = method_of_equal_shares(instance, profile, sat_class=Cost_Sat, tie_breaking=ties)
    else:
        greedy: dict[str, Any] = {"sat_class": Cost_Sat}
        if greedy_key is not None:
            greedy["tie_breaking"] = TieBreakingRule(lambda inst, prof, p: greedy_key(p.name))
        outcome = completion_by_rule_combination(
            instance,
            profile,
            [method_of_equal_shares, greedy_utilitarian_welfare],
            [
                {"sat_class": Cost_Sat, "tie_breaking": ties, "voter_budget_increment": 1},
                greedy,
            ],
        )
    return sorted(p.name for p in outcome)


@ORACLE
@given(instance=pb_instances())
def test_plain_equal_shares_matches_pabutools(instance):
    ballots, costs, budget = instance
    ours = select_equal_shares(ballots, costs, budget, complete=False)
    assert sorted(ours.selected) == pabutools_select(ballots, costs, budget, complete=False)


@ORACLE
@given(instance=pb_instances())
def test_completed_equal_shares_matches_pabutools(instance):
    ballots, costs, budget = instance
    ours = select_equal_shares(ballots, costs, budget)
    assert sorted(ours.selected) == pabutools_select(ballots, costs, budget, complete=True)


@pytest.mark.parametrize(("seed", "fraction"), [(2, 0.4), (3, 0.6), (5, 0.6), (8, 0.6), (11, 0.6)])
def test_completion_over_many_increments_matches_pabutools(seed, fraction):
    rng = np.random.default_rng(seed)
    ids = [f"i{k}" for k in range(8)]
    costs = {i: int(rng.integers(1, 40)) * 100 for i in ids}
    likes = rng.random(len(ids))
    ballots = [[i for i, p in zip(ids, likes, strict=True) if rng.random() < p] for _ in range(40)]
    budget = int(sum(costs.values()) * fraction)
    ours = select_equal_shares(ballots, costs, budget)
    assert ours.increments > 50 and ours.runs < ours.increments / 2
    assert sorted(ours.selected) == pabutools_select(ballots, costs, budget, complete=True)


@ORACLE
@given(instance=pb_instances(), ranks=st.randoms(use_true_random=False))
def test_menu_equal_shares_fills_in_menu_order_like_pabutools(instance, ranks):
    ballots, costs, budget = instance
    doc = {
        "format": "consult.ballots/1",
        "compound": {"code": "c", "households": len(ballots)},
        "rank_depth": 2,
        "items": [{"id": i, "category": "basic", "cost": c} for i, c in costs.items()],
        "budget": budget,
        "ballots": [
            {"household": f"h{k}", "approve": b, "rank": ranks.sample(b, min(2, len(b)))}
            for k, b in enumerate(ballots)
        ],
    }
    menu = tally(doc, select="equal_shares")
    borda = {e["id"]: e["borda"] for e in menu["items"]}
    expected = pabutools_select(
        ballots, costs, budget, complete=True, greedy_key=lambda name: (-borda[name], name)
    )
    assert sorted(menu["selection"]["selected"]) == expected


@st.composite
def ranked_docs(draw: Any) -> dict[str, Any]:
    """Draw a compound of up to 5 items whose ballots rank up to 3 of their approvals."""
    ids = [f"i{k}" for k in range(draw(st.integers(2, 5)))]
    ballots = []
    for k in range(draw(st.integers(1, 12))):
        approve = draw(st.permutations(ids))[: draw(st.integers(0, len(ids)))]
        ballots.append(
            {
                "household": f"h{k}",
                "approve": list(approve),
                "rank": list(approve[: draw(st.integers(0, min(3, len(approve))))]),
            }
        )
    return {
        "format": "consult.ballots/1",
        "compound": {"code": "c", "households": len(ballots)},
        "rank_depth": 3,
        "items": [{"id": i, "category": "basic"} for i in ids],
        "ballots": ballots,
    }


def weak_orders(doc: dict[str, Any]) -> ProfileWithTies:
    """Build pref_voting's profile: priorities in order, then approved, then the rest."""
    ids = [item["id"] for item in doc["items"]]
    rankings = []
    for ballot in doc["ballots"]:
        level = {i: len(ballot["rank"]) + 2 for i in ids}
        for i in ballot["approve"]:
            level[i] = len(ballot["rank"]) + 1
        for k, i in enumerate(ballot["rank"]):
            level[i] = k + 1
        rankings.append({ids.index(i): level[i] for i in ids})
    return ProfileWithTies(rankings, candidates=list(range(len(ids))))


def brute_force_strengths(profile: ProfileWithTies, m: int) -> list[list[int]]:
    graph = get_mg(profile)
    strength = [[0] * m for _ in range(m)]
    for a, b in itertools.permutations(range(m), 2):
        for path in nx.all_simple_paths(graph, a, b):
            weakest = min(profile.margin(x, y) for x, y in itertools.pairwise(path))
            strength[a][b] = max(strength[a][b], weakest)
    return strength


@settings(max_examples=60, deadline=None)
@given(doc=ranked_docs())
def test_schulze_agrees_with_pref_voting(doc):
    parsed = parse_ballots(doc)
    m = len(doc["items"])
    profile = weak_orders(doc)
    d = pairwise_preferences(parsed.approve, parsed.position, 3)
    assert (d - d.T).tolist() == profile.margin_matrix.tolist()
    p = strongest_paths(d)
    assert p.tolist() == brute_force_strengths(profile, m)
    assert schulze_winners(parsed.approve, parsed.position, 3) == beat_path(profile)
    defeats = {(a, b) for a, b in zip(*np.nonzero(beats(p)), strict=True)}
    assert defeats == {(int(a), int(b)) for a, b in beat_path_defeat(profile).edges}
    ids = [item["id"] for item in doc["items"]]
    order = [ids.index(e["id"]) for e in tally(doc, method="schulze")["items"]]
    assert order[0] in beat_path(profile)
    assert all(order.index(a) < order.index(b) for a, b in defeats)
