"""Bad `consult.ballots/1` documents are refused, naming the ballot and the field."""

from __future__ import annotations

import dataclasses

import pytest

from consult.tally import (
    TallyInputError,
    arrays_from_documents,
    parse_ballots,
    tally,
    tally_arrays,
    tally_many,
)
from consult.tally.contract import MAX_RANK_DEPTH


def refusal(doc) -> TallyInputError:
    with pytest.raises(TallyInputError) as caught:
        parse_ballots(doc)
    return caught.value


def ballot(household="h1", **fields):
    return {"household": household, "approve": ["a"], **fields}


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"approve": ["a", "zz"]}, "approve", "unknown item 'zz'"),
        ({"approve": ["a", "a"]}, "approve", "twice"),
        ({"approve": "a"}, "approve", "must be a list"),
        ({"approve": [1]}, "approve", "unknown item 1"),
        ({"approve": None}, "approve", "must be a list"),
        ({"rank": ["b"]}, "rank", "'b' is not approved"),
        ({"rank": ["zz"]}, "rank", "unknown item"),
        ({"rank": ["a", "a"]}, "rank", "twice"),
        ({"approve": ["a", "b", "c"], "rank": ["a", "b", "c"]}, "rank", "rank_depth allows 2"),
        ({"rank": "a"}, "rank", "must be a list"),
        ({"elderly": "yes"}, "elderly", "true or false"),
        ({"children": 1}, "children", "true or false"),
        ({"verified": "no"}, "verified", "true or false"),
        ({"channel": "email"}, "channel", "'email' is not one of"),
        ({"channel": ["qr"]}, "channel", "is not one of"),
        ({"building": 3}, "building", "must be a string"),
    ],
)
def test_faulty_ballot_names_household_and_field(make_doc, fields, field, words):
    doc = make_doc([ballot("ok-1"), ballot("3-2-301", **fields)])
    error = refusal(doc)
    assert (error.household, error.field, error.compound) == ("3-2-301", field, "dz")
    assert words in str(error)
    assert "3-2-301" in str(error)


def test_household_twice_names_both_ballots(make_doc):
    error = refusal(make_doc([ballot("h1"), ballot("h2"), ballot("h1")]))
    assert (error.household, error.field) == ("h1", "household")
    assert "ballots[2]" in str(error) and "ballots[0]" in str(error)


@pytest.mark.parametrize("household", [None, "", 7])
def test_ballot_without_a_household_is_named_by_position(make_doc, household):
    error = refusal(make_doc([ballot("h1"), {"household": household, "approve": []}]))
    assert (error.household, error.field) == (None, "household")
    assert "ballots[1]" in str(error)


def test_ballot_that_is_not_an_object(make_doc):
    error = refusal(make_doc([ballot("h1"), ["a"]]))
    assert error.field == "ballots[1]"


def test_more_ballots_than_households_names_the_first_extra(make_doc):
    error = refusal(make_doc([ballot("h1"), ballot("h2"), ballot("h3")], households=2))
    assert (error.household, error.field) == ("h3", "compound.households")
    assert "3 ballots" in str(error)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda d: d.update(format="consult.ballots/2"), "format"),
        (lambda d: d.pop("format"), "format"),
        (lambda d: d.update(compound=[]), "compound"),
        (lambda d: d["compound"].pop("code"), "compound.code"),
        (lambda d: d["compound"].update(households=-1), "compound.households"),
        (lambda d: d["compound"].update(households=True), "compound.households"),
        (lambda d: d["compound"].update(households="8"), "compound.households"),
        (lambda d: d.update(rank_depth=1.5), "rank_depth"),
        (lambda d: d.update(rank_depth=-1), "rank_depth"),
        (lambda d: d.update(rank_depth=2**31), "rank_depth"),
        (lambda d: d.update(rank_depth=2**63), "rank_depth"),
        (lambda d: d.update(budget=-5), "budget"),
        (lambda d: d.update(budget=float("inf")), "budget"),
        (lambda d: d.update(budget="many"), "budget"),
        (lambda d: d.update(ballots={}), "ballots"),
        (lambda d: d.update(items={}), "items"),
        (lambda d: d["items"].append({"id": "a", "category": "basic"}), "items[4].id"),
        (lambda d: d["items"].append({"id": "e"}), "items[4].category"),
        (lambda d: d["items"].append({"id": "e", "category": "x", "cost": -1}), "items[4].cost"),
        (lambda d: d["items"].append("e"), "items[4]"),
        (lambda d: d.update(meetings={}), "meetings"),
        (
            lambda d: d.update(meetings=[{"id": "m", "votes": [{"item": "zz"}]}]),
            "meetings[0].votes[0].item",
        ),
        (
            lambda d: d.update(meetings=[{"id": "m", "votes": [{"item": "a", "for": -1}]}]),
            "meetings[0].votes[0].for",
        ),
    ],
)
def test_malformed_documents_name_the_field(make_doc, change, field):
    doc = make_doc([ballot("h1")])
    change(doc)
    error = refusal(doc)
    assert error.field == field
    assert error.household is None


def test_document_that_is_not_an_object():
    assert refusal([1, 2]).field == "format"


def test_tally_many_names_the_compound(make_doc):
    good, bad = (
        make_doc([ballot("h1")], code="good"),
        make_doc([ballot("h1", rank=["b"])], code="bad"),
    )
    with pytest.raises(TallyInputError) as caught:
        tally_many([good, bad])
    assert (caught.value.compound, caught.value.household, caught.value.field) == (
        "bad",
        "h1",
        "rank",
    )


def test_optional_fields_may_be_null(make_doc):
    doc = make_doc(
        [
            {
                "household": "h1",
                "approve": ["a"],
                "rank": None,
                "building": None,
                "elderly": None,
                "channel": None,
            }
        ]
    )
    doc["budget"] = None
    menu = tally(doc)
    assert menu["channels"]["unspecified"] == 1
    assert "selection" not in menu


def test_unknown_ballot_keys_are_ignored(make_doc):
    assert tally(make_doc([ballot("h1", comment="please fix the roof")]))["responses"] == 1


def test_tally_refuses_unknown_method_and_rule(make_doc):
    with pytest.raises(ValueError, match="method"):
        tally(make_doc([]), method="plurality")
    with pytest.raises(ValueError, match="select"):
        tally(make_doc([]), select="random")
    with pytest.raises(ValueError, match="budget"):
        tally(make_doc([]), budget=-1)


def test_the_garbage_collector_is_restored_after_a_tally(make_doc):
    import gc

    tally(make_doc([ballot("h1")]))
    assert gc.isenabled()
    with pytest.raises(TallyInputError):
        tally_many([make_doc([ballot("h1", rank=["zz"])])])
    assert gc.isenabled()
    gc.disable()
    try:
        tally(make_doc([]))
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_borda_points_are_exact_at_the_largest_rank_depth(make_doc):
    """At the largest rank depth the points are whole numbers to the last unit
    (depth × rankings − positions, counted in whole numbers), from documents and arrays."""
    depth = MAX_RANK_DEPTH
    ballots = [
        ballot(f"h{k}", approve=["a", "b", "c"], rank=["a", "b", "c"][: 1 + k % 3])
        for k in range(7)
    ]
    doc = make_doc(ballots, households=9)
    doc["rank_depth"] = depth
    points = {entry["id"]: entry["borda"] for entry in tally(doc, method="borda")["items"]}
    # a is ranked first by all 7, b second by 4 (k % 3 >= 1), c third by 2 (k % 3 == 2).
    assert points == {"a": 7 * depth, "b": 4 * (depth - 1), "c": 2 * (depth - 2), "d": 0}
    assert all(type(value) is int for value in points.values())
    arrays = arrays_from_documents([doc])
    assert tally_arrays(arrays).menus()[0] == tally(doc)


def test_hand_made_headers_past_the_largest_rank_depth_are_refused(make_doc):
    arrays = arrays_from_documents([make_doc([ballot("h1")])])
    header = dataclasses.replace(arrays.headers[0], rank_depth=MAX_RANK_DEPTH + 1)
    with pytest.raises(TallyInputError, match="rank_depth must be") as refused:
        tally_arrays(dataclasses.replace(arrays, headers=(header,)))
    assert refused.value.field == "rank_depth"
