"""Properties of the engine on random compounds (hypothesis)."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from consult.tally import tally, tally_many

SETTINGS = settings(max_examples=60, deadline=None)
CHANNELS = [None, "qr", "invite", "paper", "meeting"]


@st.composite
def documents(draw: Any, max_items: int = 5, max_ballots: int = 12) -> dict[str, Any]:
    """Draw a valid `consult.ballots/1` document with a budget."""
    m = draw(st.integers(1, max_items))
    ids = [f"i{k}" for k in range(m)]
    rank_depth = draw(st.integers(0, 3))
    n = draw(st.integers(0, max_ballots))
    ballots = []
    for k in range(n):
        approve = draw(st.lists(st.sampled_from(ids), unique=True))
        ranked = draw(st.permutations(approve))
        depth = draw(st.integers(0, min(rank_depth, len(approve))))
        ballot: dict[str, Any] = {"household": f"h{k}", "approve": approve, "rank": ranked[:depth]}
        ballot["building"] = draw(st.sampled_from([None, "1", "2", "东3"]))
        ballot["channel"] = draw(st.sampled_from(CHANNELS))
        for flag in ("elderly", "children", "verified"):
            ballot[flag] = draw(st.booleans())
        ballots.append(ballot)
    costs = draw(st.lists(st.integers(0, 60), min_size=m, max_size=m))
    meetings = [
        {"id": "m", "votes": [{"item": ids[0], "for": draw(st.integers(0, 9)), "against": 1}]}
    ]
    return {
        "format": "consult.ballots/1",
        "compound": {"code": "c", "name": "", "households": n + draw(st.integers(0, 10))},
        "rank_depth": rank_depth,
        "items": [
            {"id": i, "category": "basic", "cost": c} for i, c in zip(ids, costs, strict=True)
        ],
        "budget": draw(st.integers(0, 150)),
        "ballots": ballots,
        "meetings": meetings,
    }


@SETTINGS
@given(doc=documents(), seed=st.randoms(use_true_random=False), data=st.data())
def test_ballot_order_and_household_names_change_nothing(doc, seed, data):
    other = json.loads(json.dumps(doc))
    seed.shuffle(other["ballots"])
    for k, ballot in enumerate(other["ballots"]):
        ballot["household"] = f"renamed-{k}"
    method = data.draw(st.sampled_from(["approval", "borda", "schulze"]))
    rule = data.draw(st.sampled_from(["greedy", "equal_shares"]))
    assert tally(other, method=method, select=rule) == tally(doc, method=method, select=rule)


@SETTINGS
@given(doc=documents(), data=st.data())
def test_one_more_approval_never_lowers_an_items_approval_rank(doc, data):
    ids = [item["id"] for item in doc["items"]]
    open_slots = [
        (k, i) for k, ballot in enumerate(doc["ballots"]) for i in ids if i not in ballot["approve"]
    ]
    if not open_slots:
        return
    k, item = data.draw(st.sampled_from(open_slots))
    before = {e["id"]: e["rank"] for e in tally(doc)["items"]}
    doc["ballots"][k]["approve"].append(item)
    after = {e["id"]: e["rank"] for e in tally(doc)["items"]}
    assert after[item] <= before[item]


@SETTINGS
@given(doc=documents(), verified_only=st.booleans())
def test_every_interval_and_bound_contains_its_support(doc, verified_only):
    for entry in tally(doc, verified_only=verified_only)["items"]:
        low, high = entry["ci95"]
        assert 0.0 <= low <= entry["support"] <= high <= 1.0
        low, high = entry["bounds"]
        assert 0.0 <= low <= entry["support"] <= high <= 1.0


@SETTINGS
@given(doc=documents(), rule=st.sampled_from(["greedy", "equal_shares"]))
def test_selections_never_exceed_the_budget(doc, rule):
    selection = tally(doc, select=rule)["selection"]
    assert selection["spend"] <= selection["budget"]
    assert selection["leftover"] == selection["budget"] - selection["spend"]


@SETTINGS
@given(doc=documents(), method=st.sampled_from(["approval", "borda", "schulze"]))
def test_greedy_with_a_budget_covering_everything_selects_everything(doc, method):
    total = sum(item["cost"] for item in doc["items"])
    selection = tally(doc, method=method, budget=total)["selection"]
    assert sorted(selection["selected"]) == sorted(item["id"] for item in doc["items"])


@SETTINGS
@given(docs=st.lists(documents(max_ballots=6), max_size=4), verified_only=st.booleans())
def test_a_city_at_once_equals_each_compound_alone(docs, verified_only):
    for k, doc in enumerate(docs):
        doc["compound"]["code"] = f"c{k}"
    expected = [tally(doc, verified_only=verified_only) for doc in docs]
    assert tally_many(docs, verified_only=verified_only) == expected


@SETTINGS
@given(doc=documents(), rule=st.sampled_from(["greedy", "equal_shares"]))
def test_the_menu_survives_a_json_round_trip(doc, rule):
    menu = tally(doc, select=rule, method="schulze")
    assert json.loads(json.dumps(menu)) == menu
