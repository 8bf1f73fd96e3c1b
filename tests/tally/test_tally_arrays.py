"""Ballots given as arrays give the menus `tally` gives their documents, and are checked alike."""

from __future__ import annotations

import copy
import json
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consult.tally import (
    CityMenus,
    TallyInputError,
    arrays_from_documents,
    tally,
    tally_arrays,
    tally_documents,
    tally_many,
)
from tests.tally.test_tally_properties import documents

METHODS = ("approval", "borda", "schulze")
SETTINGS = settings(max_examples=80, deadline=None)


def city_of(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Give each document its own compound code and the first document's items.

    Approvals, priorities and hands of items the first document does not list
    are dropped (random documents list different numbers of items).
    """
    out = []
    for c, doc in enumerate(docs):
        doc = copy.deepcopy(doc)
        doc["compound"]["code"] = f"c{c}"
        if doc["items"] != docs[0]["items"]:
            doc["items"] = copy.deepcopy(docs[0]["items"])
            known = {item["id"] for item in doc["items"]}
            for ballot in doc["ballots"]:
                for key in ("approve", "rank"):
                    ballot[key] = [i for i in ballot.get(key) or () if i in known]
            doc["meetings"] = [
                {**m, "votes": [v for v in m["votes"] if v["item"] in known]}
                for m in doc.get("meetings", [])
            ]
        out.append(doc)
    return out


def assert_same_menus(docs: list[dict[str, Any]], **options: Any) -> None:
    columns = tally_arrays(arrays_from_documents(docs), **options)
    expected = [tally(doc, **options) for doc in docs]
    assert [columns.menu(c) for c in range(len(docs))] == expected
    assert columns.menus() == expected
    # JSON spells numbers as they are: an int stays an int, a float a float.
    assert json.dumps(columns.menus()) == json.dumps(expected)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("verified_only", [False, True])
def test_reference_compound_from_arrays_equals_tally(reference_doc, method, verified_only):
    assert_same_menus([reference_doc], method=method, verified_only=verified_only)


@pytest.mark.parametrize("rule", ["greedy", "equal_shares"])
def test_selection_from_arrays_equals_tally(reference_doc, rule):
    reference_doc["budget"] = 130
    assert_same_menus([reference_doc], select=rule)


def test_compounds_without_ballots_or_buildings(make_doc):
    empty = make_doc([], households=0)
    silent = make_doc([], households=7)
    lone = make_doc([{"household": "x", "approve": ["b"]}], households=1)
    assert_same_menus(city_of([empty, silent, lone]))
    assert_same_menus(city_of([empty, silent, lone]), method="schulze")


@SETTINGS
@given(docs=st.lists(documents(), min_size=1, max_size=4), data=st.data())
def test_random_cities_from_arrays_equal_tally(docs, data):
    city = city_of(docs)
    method = data.draw(st.sampled_from(METHODS))
    verified_only = data.draw(st.booleans())
    assert_same_menus(city, method=method, verified_only=verified_only)


@SETTINGS
@given(docs=st.lists(documents(), min_size=1, max_size=3), seed=st.randoms(use_true_random=False))
def test_ballot_order_in_the_arrays_changes_nothing(docs, seed):
    city = city_of(docs)
    arrays = arrays_from_documents(city)
    shuffled = list(range(arrays.n))
    seed.shuffle(shuffled)
    where = np.argsort(shuffled)  # new index of each old ballot
    moved = type(arrays)(
        headers=arrays.headers,
        compound=arrays.compound[shuffled],
        household=arrays.household[shuffled],
        approve_ballot=where[arrays.approve_ballot],
        approve_item=arrays.approve_item,
        rank_ballot=where[arrays.rank_ballot],
        rank_item=arrays.rank_item,
        rank_order=arrays.rank_order,
        elderly=arrays.elderly[shuffled],
        children=arrays.children[shuffled],
        verified=arrays.verified[shuffled],
        channel=arrays.channel[shuffled],
        building=arrays.building[shuffled],
        building_names=arrays.building_names,
        labels=None,
    )
    for method in METHODS:
        assert tally_arrays(moved, method=method).menus() == [
            tally(doc, method=method) for doc in city
        ]


def test_tally_documents_batches_equal_tally_many(make_doc, reference_doc):
    other = make_doc([{"household": "x", "approve": ["a"]}], households=3)
    other["items"] = other["items"][:2]
    docs = [reference_doc, other, copy.deepcopy(reference_doc)]
    parts = tally_documents(docs)
    assert sorted(k for members, _ in parts for k in members) == [0, 1, 2]
    menus: dict[int, Any] = {}
    for members, part in parts:
        menus.update((k, part.menu(j)) for j, k in enumerate(members))
    assert [menus[k] for k in range(3)] == tally_many(docs)


def test_city_menus_reads_like_a_mapping(reference_doc, make_doc):
    other = make_doc([{"household": "x", "approve": ["a"]}], households=3)
    docs = city_of([reference_doc, other])
    city = CityMenus([tally_arrays(arrays_from_documents(docs))], codes=["c1", "c0"])
    assert list(city) == ["c1", "c0"]
    assert city["c0"] == tally(docs[0])
    assert city.all_menus() == {"c1": tally(docs[1]), "c0": tally(docs[0])}
    with pytest.raises(ValueError):
        CityMenus(city.parts, codes=["c0"])


def rejected(docs: list[dict[str, Any]]) -> TallyInputError:
    """Return the error of the array path, checking the document path rejects alike."""
    with pytest.raises(TallyInputError) as from_arrays:
        tally_arrays(arrays_from_documents(docs))
    with pytest.raises(TallyInputError) as from_documents:
        tally_many(docs)
    a, d = from_arrays.value, from_documents.value
    assert (a.field, a.household, a.compound) == (d.field, d.household, d.compound)
    return a


BAD_BALLOTS = {
    "unknown item": ({"household": "x", "approve": ["zz"]}, "approve"),
    "item twice": ({"household": "x", "approve": ["a", "a"]}, "approve"),
    "priority not approved": ({"household": "x", "approve": ["a"], "rank": ["b"]}, "rank"),
    "priority twice": ({"household": "x", "approve": ["a"], "rank": ["a", "a"]}, "rank"),
    "unknown priority": ({"household": "x", "approve": ["a"], "rank": ["zz"]}, "rank"),
    "too many priorities": (
        {"household": "x", "approve": ["a", "b", "c", "d"], "rank": ["a", "b", "c", "d"]},
        "rank",
    ),
    "unknown channel": ({"household": "x", "approve": ["a"], "channel": "fax"}, "channel"),
}


@pytest.mark.parametrize("case", sorted(BAD_BALLOTS))
def test_a_faulty_ballot_is_named(make_doc, case):
    ballot, field = BAD_BALLOTS[case]
    good = make_doc([{"household": "ok", "approve": ["a"]}], households=5)
    bad = make_doc([{"household": "ok", "approve": ["b"]}, ballot], households=5)
    error = rejected(city_of([good, bad]))
    assert (error.field, error.household, error.compound) == (field, "x", "c1")


def test_a_household_twice_is_named(make_doc):
    doubled = make_doc(
        [{"household": "x", "approve": ["a"]}, {"household": "x", "approve": ["b"]}], households=5
    )
    error = rejected(city_of([make_doc([], households=1), doubled]))
    assert (error.field, error.household, error.compound) == ("household", "x", "c1")


def test_the_same_household_in_two_compounds_is_fine(make_doc):
    one = make_doc([{"household": "x", "approve": ["a"]}], households=1)
    assert_same_menus(city_of([one, one]))


def test_more_ballots_than_households(make_doc):
    crowded = make_doc(
        [{"household": "x", "approve": ["a"]}, {"household": "y", "approve": ["b"]}], households=1
    )
    error = rejected(city_of([crowded]))
    assert (error.field, error.compound) == ("compound.households", "c0")


def test_arrays_must_share_one_item_list(make_doc):
    one = make_doc([], households=1)
    other = make_doc([], households=1)
    other["items"] = other["items"][:2]
    with pytest.raises(TallyInputError) as error:
        tally_arrays(arrays_from_documents([one, other]))
    assert error.value.field == "items"


def test_greedy_selections_made_for_every_compound_at_once(make_doc, reference_doc):
    unpriced = copy.deepcopy(reference_doc)
    unpriced["items"][1].pop("cost")
    unpriced["budget"] = 100.5
    no_budget = copy.deepcopy(reference_doc)
    tight = copy.deepcopy(reference_doc)
    tight["budget"] = 0
    docs = city_of([unpriced, no_budget, tight])
    for doc in docs[1:]:
        doc["items"] = copy.deepcopy(docs[0]["items"])
    columns = tally_arrays(arrays_from_documents(docs))
    assert columns.greedy is not None
    assert_same_menus(docs)
    assert_same_menus(docs, select="equal_shares")
    assert_same_menus(docs, method="schulze")


def test_costs_too_large_for_floats_are_selected_one_menu_at_a_time(reference_doc):
    reference_doc["items"][0]["cost"] = 2**60 + 1
    reference_doc["budget"] = 2**60 + 1
    columns = tally_arrays(arrays_from_documents([reference_doc]))
    assert columns.greedy is None
    assert columns.menus() == [tally(reference_doc)]
    # Python compares the whole number with float(budget) = 2**60 exactly: it does not fit.
    assert "a" not in tally(reference_doc)["selection"]["selected"]


def test_a_menu_without_items(make_doc):
    bare = make_doc([{"household": "x", "approve": []}], households=2, items=[], budget=10)
    assert_same_menus([bare])
    assert_same_menus([bare], method="schulze")
    assert_same_menus([make_doc([], households=0, items=[])])
