"""Greedy and equal-shares selections, counted by hand."""

from __future__ import annotations

import pytest

from consult.tally import select_equal_shares, select_greedy, tally
from consult.tally.selection import tie_order


def test_greedy_walks_the_menu_and_skips_what_does_not_fit(reference_doc):
    reference_doc["budget"] = 150
    selection = tally(reference_doc)["selection"]
    # menu a(100) b(60) c(40) d(30): a fits, b not, c fits, d not.
    assert selection == {
        "rule": "greedy",
        "budget": 150.0,
        "selected": ["a", "c"],
        "spend": 140.0,
        "leftover": 10.0,
        "voters_satisfied_share": 1.0,
    }


def test_selected_items_are_marked_in_the_menu(reference_doc):
    menu = tally(reference_doc, budget=150)
    assert {e["id"]: e["selected"] for e in menu["items"]} == {
        "a": True,
        "b": False,
        "c": True,
        "d": False,
    }


def test_budget_smaller_than_every_item_selects_nothing(reference_doc):
    for rule in ("greedy", "equal_shares"):
        selection = tally(reference_doc, budget=20, select=rule)["selection"]
        assert (selection["selected"], selection["spend"], selection["leftover"]) == ([], 0, 20.0)


def test_greedy_takes_unwanted_and_free_items_that_fit():
    costs = {"a": 10.0, "free": 0.0, "nobody": 5.0, "dear": 100.0, "unpriced": None}
    order = ["dear", "a", "free", "nobody", "unpriced"]
    assert select_greedy(order, costs, 15) == ("a", "free", "nobody")
    assert select_greedy(order, costs, 0) == ("free",)


def test_equal_shares_in_the_reference_compound(reference_doc):
    selection = tally(reference_doc, budget=150, select="equal_shares")["selection"]
    # Each of 5 voters has 30. a: 4 supporters pay 25 (rho 1/4) beats b and c (1/3).
    # Then b is unaffordable (5 + 30 + 5 < 60); c costs its supporters 5 + 30 + 5.
    assert selection["selected"] == ["a", "c"]
    assert selection["price_per_supporter"] == {"a": 25.0, "c": 30.0}
    assert (selection["per_voter_budget"], selection["increments"]) == (30.0, 0)
    assert (selection["spend"], selection["leftover"]) == (140.0, 10.0)
    assert selection["completed_by_greedy"] == []
    assert selection["voters_satisfied_share"] == 1.0
    assert selection["greedy_voters_satisfied_share"] == 1.0


def test_completion_raises_shares_until_an_item_becomes_affordable():
    ballots = [["x"], ["x"], ["y"]]
    result = select_equal_shares(ballots, {"x": 60, "y": 40}, 100)
    # 33.33 each: x (q = 30) yes, y needs v3 to hold 40: 7 more units.
    assert result.selected == ("x", "y")
    assert result.increments == 7
    assert result.share == pytest.approx(100 / 3 + 7)
    assert result.price == {"x": 30.0, "y": 40.0}
    plain = select_equal_shares(ballots, {"x": 60, "y": 40}, 100, complete=False)
    assert plain.selected == ("x",)


def test_completion_keeps_the_last_outcome_within_budget_then_fills():
    ballots = [["x", "z"], ["x", "y"]]
    costs = {"x": 60, "y": 50, "z": 50}
    result = select_equal_shares(ballots, costs, 110, order=["x", "y", "z"])
    # From 55 each, at 80 the run buys x, y and z (160 > 110): keep 79, buy x only,
    # then fill the menu greedily: y fits the 50 left.
    assert (result.increments, result.share) == (24, 79.0)
    assert result.selected == ("x", "y")
    assert result.filled == ("y",)
    assert result.price == {"x": 30.0}


def test_equal_shares_ties_go_to_lower_cost_then_more_approvals_then_id():
    assert tie_order(["q", "p", "r", "s"], [10, 10, 5, 10], [2, 3, 1, 3]) == [2, 1, 3, 0]
    # Both voters back p (20) and q (10): equal rho 1/2, q is cheaper.
    assert select_equal_shares(
        [["p", "q"]] * 2, {"p": 20, "q": 10}, 20, complete=False
    ).selected == ("q",)
    # Same cost and approvals: the lower id.
    assert select_equal_shares(
        [["s", "r"]] * 2, {"r": 10, "s": 10}, 10, complete=False
    ).selected == ("r",)


def test_equal_shares_never_buys_free_items_but_the_fill_does():
    result = select_equal_shares([["x", "free"]], {"x": 10, "free": 0}, 10)
    assert result.selected == ("x", "free")
    assert result.filled == ("free",)
    assert select_equal_shares([["free"]], {"free": 0}, 0, complete=False).selected == ()


def test_equal_shares_with_no_ballots_only_fills():
    result = select_equal_shares([], {"x": 10, "y": 5}, 12, order=["y", "x"])
    assert result.selected == ("y",)
    assert result.runs == 0


def test_unpriced_items_are_listed_and_never_selected(make_doc):
    items = [{"id": "a", "category": "basic", "cost": 10}, {"id": "b", "category": "basic"}]
    doc = make_doc([{"household": "h", "approve": ["a", "b"]}], items=items, budget=100)
    for rule in ("greedy", "equal_shares"):
        selection = tally(doc, select=rule)["selection"]
        assert selection["selected"] == ["a"]
        assert selection["unpriced"] == ["b"]


def test_zero_budget_and_zero_cost(make_doc):
    items = [
        {"id": "a", "category": "basic", "cost": 0},
        {"id": "b", "category": "basic", "cost": 1},
    ]
    doc = make_doc([{"household": "h", "approve": ["a", "b"]}], items=items, budget=0)
    for rule in ("greedy", "equal_shares"):
        assert tally(doc, select=rule)["selection"]["selected"] == ["a"]
