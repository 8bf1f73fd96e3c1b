"""Menu order under each method, with the tie-breaking DESIGN.md prescribes."""

from __future__ import annotations

import numpy as np

from consult.tally import parse_ballots, schulze_order, strongest_paths, tally
from consult.tally.schulze import pairwise_preferences

XYZ = [{"id": k, "category": "basic"} for k in ("x", "y", "z")]


def order(doc, method):
    return [entry["id"] for entry in tally(doc, method=method)["items"]]


def voters(count, start, **ballot):
    return [{"household": f"{start}{k}", **ballot} for k in range(count)]


def test_approval_breaks_ties_by_borda_then_id(make_doc):
    ballots = [
        *voters(2, "p", approve=["x", "y"], rank=["y"]),  # x 2, y 2 with 4 points
        *voters(2, "q", approve=["z"]),  # z 2, no points
    ]
    doc = make_doc(ballots, items=XYZ, households=10)
    assert order(doc, "approval") == ["y", "x", "z"]


def test_borda_breaks_ties_by_approvals_then_id(make_doc):
    ballots = [
        *voters(1, "p", approve=["x", "y"], rank=["x"]),  # x 2 points
        *voters(1, "q", approve=["z", "y"], rank=["z"]),  # z 2 points
        *voters(1, "r", approve=["y"]),
    ]
    doc = make_doc(ballots, items=XYZ, households=10)
    # y has the most approvals but no points; x and z tie on both, id decides.
    assert order(doc, "borda") == ["x", "z", "y"]
    assert order(doc, "approval") == ["y", "x", "z"]


def test_schulze_follows_priorities_over_bare_approvals(make_doc):
    ballots = [
        *voters(4, "p", approve=["x", "y"], rank=["y"]),  # y above x
        *voters(3, "q", approve=["x"], rank=["x"]),  # x above y
    ]
    doc = make_doc(ballots, items=XYZ, households=10)
    assert order(doc, "approval") == ["x", "y", "z"]
    assert order(doc, "schulze") == ["y", "x", "z"]


def test_schulze_resolves_a_cycle_by_strongest_paths(make_doc):
    ballots = [
        *voters(3, "p", approve=["x", "y", "z"], rank=["x", "y", "z"]),
        *voters(2, "q", approve=["x", "y", "z"], rank=["y", "z", "x"]),
        *voters(2, "r", approve=["x", "y", "z"], rank=["z", "x", "y"]),
    ]
    doc = make_doc(ballots, items=XYZ, households=10, rank_depth=3)
    parsed = parse_ballots(doc)
    d = pairwise_preferences(parsed.approve, parsed.position, 3)
    assert d.tolist() == [[0, 5, 3], [2, 0, 5], [4, 2, 0]]
    assert strongest_paths(d).tolist() == [[0, 3, 3], [1, 0, 3], [1, 1, 0]]
    assert order(doc, "schulze") == ["x", "y", "z"]


def test_schulze_counts_unranked_approvals_and_non_approvals_as_no_preference(make_doc):
    ballots = [*voters(3, "p", approve=["x", "y"]), *voters(1, "q", approve=["z"])]
    parsed = parse_ballots(make_doc(ballots, items=XYZ, households=10))
    d = pairwise_preferences(parsed.approve, parsed.position, 2)
    assert d.tolist() == [[0, 0, 3], [0, 0, 3], [1, 1, 0]]


def test_schulze_orders_unbeaten_items_by_approvals_then_id(make_doc):
    ballots = [
        *voters(2, "p", approve=["z"]),
        *voters(2, "q", approve=["y"]),
        *voters(1, "r", approve=[]),
    ]
    doc = make_doc(ballots, items=XYZ, households=10)
    # y and z beat x; neither beats the other; equal approvals, so id decides.
    assert order(doc, "schulze") == ["y", "z", "x"]


def test_schulze_order_of_an_empty_profile_is_by_id():
    approve = np.zeros((0, 3), dtype=bool)
    position = np.full((0, 3), -1, dtype=np.int16)
    assert schulze_order(approve, position, 2, [0, 0, 0], ["c", "a", "b"]) == [1, 2, 0]


def test_every_method_handles_no_ballots_and_no_items(make_doc):
    for method in ("approval", "borda", "schulze"):
        assert order(make_doc([]), method) == ["a", "b", "c", "d"]
        assert tally(make_doc([], items=[]), method=method)["items"] == []
