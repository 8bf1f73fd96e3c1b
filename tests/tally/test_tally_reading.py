"""The bulk reading of ballots agrees with the ballot-by-ballot one, faults and all.

`read_rows_many` reads every ballot of a batch in bulk (`_fast`: the compiled
reader, or without it C-level passes of the standard library, `bulk.read`)
and, when anything looks wrong, checks the ballots one by one (`_diagnose`,
which raises the precise error) and reads them one by one (`_slow`). These
tests hold both bulk readers to the slow path: equal rows for valid ballots,
and no faulty ballot let through.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consult.tally import TallyInputError, bulk, tally_many
from consult.tally import rows as reading
from consult.tally.contract import MAX_RANK_DEPTH
from tests.tally.test_tally_properties import documents

SETTINGS = settings(max_examples=80, deadline=None)

#: The bulk readers: the compiled one (when built) and the pure-Python one.
READERS = ["compiled", "python"]


@contextmanager
def bulk_reader(kind: str) -> Iterator[None]:
    """Read in bulk with the compiled reader or the pure-Python one."""
    if kind == "compiled" and reading._reader is None:
        pytest.skip("the compiled reader is not built")
    kept = reading.COMPILED
    reading.COMPILED = kind == "compiled"
    try:
        yield
    finally:
        reading.COMPILED = kept


def batch(docs: list[dict[str, Any]]) -> tuple[list[list[Any]], dict[str, int], list[int]]:
    """Return the raw ballots, the item index and the rank depths of documents."""
    ids = [item["id"] for item in docs[0]["items"]]
    index = {item: k for k, item in enumerate(ids)}
    return [doc["ballots"] for doc in docs], index, [doc["rank_depth"] for doc in docs]


@contextmanager
def chunks_of(size: int) -> Iterator[None]:
    """Read ballots in chunks of about `size` (to try many chunks on few ballots)."""
    kept = bulk._CHUNK
    bulk._CHUNK = size
    try:
        yield
    finally:
        bulk._CHUNK = kept


def same_rows(a: reading.Rows, b: reading.Rows) -> None:
    assert list(a.household_ids) == list(b.household_ids)
    for name in (
        "approve",
        "position",
        "elderly",
        "children",
        "verified",
        "channel",
        "building",
        "building_compound",
        "offsets",
    ):
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype and x.shape == y.shape and (x == y).all(), name
    assert a.building_names == b.building_names


def same_pairs(rows: reading.Rows) -> None:
    """The pairs read hold exactly the approvals and priorities of the matrices."""
    assert rows.pairs is not None
    found = replace(rows, pairs=None, given_position=rows.position).as_pairs()
    for read, seen in (
        (
            (rows.pairs.approve_row, rows.pairs.approve_item),
            (found.approve_row, found.approve_item),
        ),
        (
            (rows.pairs.rank_row, rows.pairs.rank_item, rows.pairs.rank_position),
            (found.rank_row, found.rank_item, found.rank_position),
        ),
    ):
        assert sorted(zip(*(x.tolist() for x in read), strict=True)) == sorted(
            zip(*(x.tolist() for x in seen), strict=True)
        )


def city(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Give documents the first one's items, dropping approvals of items it lacks."""
    out = []
    for c, doc in enumerate(docs):
        doc = copy.deepcopy(doc)
        doc["compound"]["code"] = f"c{c}"
        doc["items"] = copy.deepcopy(docs[0]["items"])
        known = {item["id"] for item in doc["items"]}
        for ballot in doc["ballots"]:
            for key in ("approve", "rank"):
                ballot[key] = [i for i in ballot.get(key) or () if i in known]
        doc["meetings"] = []
        out.append(doc)
    return out


@pytest.mark.parametrize("reader", READERS)
@SETTINGS
@given(docs=st.lists(documents(max_ballots=9), min_size=1, max_size=5), chunk=st.integers(1, 12))
def test_the_bulk_reading_equals_the_ballot_by_ballot_one(reader, docs, chunk):
    docs = city(docs)
    raws, index, depths = batch(docs)
    with bulk_reader(reader), chunks_of(chunk):
        fast = reading._fast(raws, index, depths)
    assert fast is not None
    same_rows(fast, reading._slow(raws, index))
    same_pairs(fast)


@SETTINGS
@given(docs=st.lists(documents(max_ballots=9), min_size=1, max_size=5))
def test_both_bulk_readings_give_the_same_rows_and_pairs(docs):
    raws, index, depths = batch(city(docs))
    with bulk_reader("compiled"):
        compiled = reading._fast(raws, index, depths)
    with bulk_reader("python"):
        python = reading._fast(raws, index, depths)
    assert compiled is not None and python is not None
    same_rows(compiled, python)
    assert compiled.pairs is not None and python.pairs is not None
    for name in ("approve_row", "approve_item", "rank_row", "rank_item", "rank_position"):
        assert getattr(compiled.pairs, name).tolist() == getattr(python.pairs, name).tolist()


@pytest.mark.parametrize("reader", READERS)
@SETTINGS
@given(docs=st.lists(documents(max_ballots=9), min_size=1, max_size=3))
def test_ballots_read_from_json_read_alike(reader, docs):
    """JSON gives keys and strings that are equal to the names, not the names themselves."""
    raws, index, depths = batch(json.loads(json.dumps(city(docs))))
    with bulk_reader(reader):
        fast = reading._fast(raws, index, depths)
    assert fast is not None
    same_rows(fast, reading._slow(raws, index))
    same_pairs(fast)


@pytest.mark.parametrize("reader", READERS)
@SETTINGS
@given(doc=documents(max_ballots=9), data=st.data())
def test_optional_fields_left_out_or_null_read_alike(reader, doc, data):
    raws, index, depths = batch([doc])
    for ballot in raws[0]:
        for key in ("rank", "building", "channel", "elderly", "children", "verified"):
            how = data.draw(st.sampled_from(["keep", "drop", "null"]))
            if how == "drop":
                ballot.pop(key, None)
            elif how == "null":
                ballot[key] = None
    with bulk_reader(reader):
        fast = reading._fast(raws, index, depths)
    assert fast is not None
    same_rows(fast, reading._slow(raws, index))


class Ballot(dict):  # type: ignore[type-arg]
    """A dict subclass: valid, read by the slow path."""


class Items(list):  # type: ignore[type-arg]
    """A list subclass: valid, read by the slow path."""


class Name(str):
    """A str subclass: valid, read by the slow path."""


@pytest.mark.parametrize("reader", READERS)
def test_subclasses_of_dict_list_and_str_are_read_one_by_one(reader, make_doc):
    plain = make_doc([{"household": "h1", "approve": ["a", "b"], "rank": ["b"], "channel": "qr"}])
    odd = make_doc([Ballot(household="h1", approve=Items(["a", "b"]), rank=Items(["b"]))])
    odd["ballots"][0]["channel"] = Name("qr")
    named = make_doc([{"household": Name("h1"), "approve": [Name("a"), "b"], "rank": ["b"]}])
    named["ballots"][0]["channel"] = "qr"
    with bulk_reader(reader):
        assert tally_many([odd]) == tally_many([named]) == tally_many([plain])


@pytest.mark.parametrize("reader", READERS)
def test_item_ids_of_a_str_subclass_are_read_alike(reader, make_doc):
    plain = make_doc([{"household": "h1", "approve": ["a", "b"], "rank": ["b"]}])
    odd = copy.deepcopy(plain)
    for item in odd["items"]:
        item["id"] = Name(item["id"])
    raws, index, depths = batch([odd])
    with bulk_reader(reader):
        if reader == "compiled":  # a subclass's == could run any code: read one by one
            assert reading._fast(raws, index, depths) is None
        assert tally_many([odd]) == tally_many([plain])


#: Faults, each a change to one ballot, and the field the error must name.
FAULTS: list[tuple[str, Callable[[dict[str, Any]], Any], str]] = [
    ("unknown item", lambda b: b["approve"].append("zz"), "approve"),
    ("item twice", lambda b: b["approve"].append(b["approve"][0]), "approve"),
    ("approve a string", lambda b: b.update(approve="i0"), "approve"),
    ("approve a tuple", lambda b: b.update(approve=tuple(b["approve"])), "approve"),
    ("approve missing", lambda b: b.pop("approve"), "approve"),
    ("approve null", lambda b: b.update(approve=None), "approve"),
    ("item a number", lambda b: b["approve"].append(1), "approve"),
    ("item a list", lambda b: b["approve"].append(["i0"]), "approve"),
    ("item null", lambda b: b["approve"].append(None), "approve"),
    ("rank unknown", lambda b: b.update(rank=["zz"]), "rank"),
    ("rank not approved", lambda b: b.update(approve=["i1"], rank=["i0"]), "rank"),
    ("rank twice", lambda b: b.update(approve=["i0"], rank=["i0", "i0"]), "rank"),
    ("rank too long", lambda b: b.update(approve=["i0", "i1"], rank=["i0", "i1"]), "rank"),
    ("rank a string", lambda b: b.update(rank="i0"), "rank"),
    ("rank a tuple", lambda b: b.update(rank=()), "rank"),
    ("rank item a list", lambda b: b.update(rank=[["i0"]]), "rank"),
    ("elderly a number", lambda b: b.update(elderly=1), "elderly"),
    ("children zero", lambda b: b.update(children=0), "children"),
    ("verified a string", lambda b: b.update(verified="yes"), "verified"),
    ("channel unknown", lambda b: b.update(channel="email"), "channel"),
    ("channel a list", lambda b: b.update(channel=["qr"]), "channel"),
    ("channel a number", lambda b: b.update(channel=0), "channel"),
    ("building a number", lambda b: b.update(building=3), "building"),
    ("building a list", lambda b: b.update(building=["3"]), "building"),
    ("household empty", lambda b: b.update(household=""), "household"),
    ("household a number", lambda b: b.update(household=7), "household"),
    ("household a list", lambda b: b.update(household=["h"]), "household"),
    ("household missing", lambda b: b.pop("household"), "household"),
]


def valid_city(size: int) -> list[dict[str, Any]]:
    """Return three compounds of `size` valid ballots each, every field given."""
    items = [{"id": f"i{k}", "category": "basic", "cost": 10} for k in range(4)]
    docs = []
    for c in range(3):
        ballots = [
            {
                "household": f"h{k}",
                "approve": ["i0", "i1", "i2"][: 1 + k % 3],
                "rank": ["i0"] if k % 2 else [],
                "building": str(k % 2),
                "channel": "qr",
                "elderly": k % 3 == 0,
                "children": False,
                "verified": True,
            }
            for k in range(size)
        ]
        docs.append(
            {
                "format": "consult.ballots/1",
                "compound": {"code": f"c{c}", "name": "", "households": size + 1},
                "rank_depth": 1,
                "items": items,
                "ballots": ballots,
            }
        )
    return docs


def exact_error(docs: list[dict[str, Any]]) -> TallyInputError:
    """Return the error the ballot-by-ballot check raises for the first faulty compound."""
    raws, index, depths = batch(docs)
    for doc, raw, depth in zip(docs, raws, depths, strict=True):
        try:
            reading._diagnose(raw, index, depth)
        except TallyInputError as error:
            error.compound = doc["compound"]["code"]
            return error
    raise AssertionError("no ballot is faulty")


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize(("fault", "change", "field"), FAULTS, ids=[f[0] for f in FAULTS])
@given(where=st.tuples(st.integers(0, 2), st.integers(0, 5)), chunk=st.integers(1, 20))
@settings(max_examples=15, deadline=None)
def test_every_fault_is_caught_by_the_bulk_reading_and_named_exactly(
    reader, fault, change, field, where, chunk
):
    docs = valid_city(6)
    c, k = where
    change(docs[c]["ballots"][k])
    raws, index, depths = batch(docs)
    expected = exact_error(docs)
    assert expected.field == field
    with bulk_reader(reader), chunks_of(chunk), pytest.raises(TallyInputError) as caught:
        assert reading._fast(raws, index, depths) is None, fault
        tally_many(docs)
    error = caught.value
    assert (str(error), error.field, error.household, error.compound) == (
        str(expected),
        expected.field,
        expected.household,
        expected.compound,
    )


@pytest.mark.parametrize("reader", READERS)
def test_a_household_twice_in_one_compound_but_not_across_compounds(reader):
    docs = valid_city(4)
    for chunk in (1, 5, 100):
        with bulk_reader(reader), chunks_of(chunk):
            check_twice(docs)


def check_twice(docs: list[dict[str, Any]]) -> None:
    raws, index, depths = batch(docs)
    assert reading._fast(raws, index, depths) is not None  # h0..h3 in every compound
    twice = copy.deepcopy(docs)
    twice[1]["ballots"][3]["household"] = "h0"
    raws, index, depths = batch(twice)
    assert reading._fast(raws, index, depths) is None
    with pytest.raises(TallyInputError, match="already voted") as caught:
        tally_many(twice)
    assert (caught.value.compound, caught.value.household) == ("c1", "h0")


@pytest.mark.parametrize("reader", READERS)
def test_a_ballot_that_is_not_an_object_is_caught(reader):
    docs = valid_city(3)
    docs[2]["ballots"][1] = ["i0"]
    raws, index, depths = batch(docs)
    with bulk_reader(reader), pytest.raises(TallyInputError) as caught:
        assert reading._fast(raws, index, depths) is None
        tally_many(docs)
    assert (caught.value.field, caught.value.compound) == ("ballots[1]", "c2")


@pytest.mark.parametrize("reader", READERS)
def test_many_items_and_buildings_read_alike(reader):
    """Item numbers, list lengths and building places of 256 or more leave the byte path."""
    items = [{"id": f"i{k}", "category": "basic"} for k in range(300)]
    ballots = [
        {
            "household": f"h{k}",
            "approve": [f"i{k}", f"i{299 - k}"] if k != 299 - k else [f"i{k}"],
            "rank": [f"i{299 - k}"],
            "building": f"b{k}",
        }
        for k in range(300)
    ]
    ballots[0]["approve"] = [f"i{k}" for k in range(300)]  # a list of 256 or more
    doc = {
        "format": "consult.ballots/1",
        "compound": {"code": "big", "households": 300},
        "rank_depth": 1,
        "items": items,
        "ballots": ballots,
    }
    raws, index, depths = batch([doc])
    with bulk_reader(reader):
        fast = reading._fast(raws, index, depths)
    assert fast is not None
    same_rows(fast, reading._slow(raws, index))
    same_pairs(fast)
    assert np.array_equal(fast.building, np.argsort([f"b{k}" for k in range(300)]).argsort())


def edge_city() -> list[dict[str, Any]]:
    """Return compounds with no ballots, ballots without approvals, and mixed buildings."""
    docs = valid_city(3)
    docs[0]["ballots"] = []
    docs[1]["ballots"][0].update(approve=[], rank=None)
    docs[1]["ballots"][1].update(building=None)
    del docs[1]["ballots"][2]["building"]
    docs[2]["ballots"][0].update(building="1", channel=None)
    docs.append({**copy.deepcopy(docs[0]), "compound": {"code": "c3", "households": 0}})
    return docs


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize(
    "shape",
    ["no compounds", "no ballots", "empty compounds, buildings mixed", "huge rank depth"],
)
def test_edge_batches_read_alike(reader, shape):
    docs = edge_city()
    if shape == "no compounds":
        docs = []
    elif shape == "no ballots":
        docs = [docs[0], docs[3]]
    elif shape == "huge rank depth":
        for doc in docs:
            doc["rank_depth"] = 2**40
    raws = [doc["ballots"] for doc in docs]
    index = {f"i{k}": k for k in range(4)}
    depths = [doc["rank_depth"] for doc in docs]
    with bulk_reader(reader):
        fast = reading._fast(raws, index, depths)
    assert fast is not None
    same_rows(fast, reading._slow(raws, index))
    same_pairs(fast)
    assert fast.approve.shape == (sum(map(len, raws)), 4)


@pytest.mark.parametrize("reader", READERS)
def test_ranks_past_the_depth_are_refused_at_any_depth(reader):
    docs = valid_city(3)
    for doc in docs:
        doc["rank_depth"] = MAX_RANK_DEPTH
    docs[1]["rank_depth"] = 0
    raws, index, depths = batch(docs)
    with bulk_reader(reader), pytest.raises(TallyInputError, match="rank_depth allows 0"):
        assert reading._fast(raws, index, depths) is None
        tally_many(docs)


@pytest.mark.parametrize("reader", READERS)
def test_keys_besides_the_fields_change_nothing(reader):
    docs = valid_city(4)
    other = copy.deepcopy(docs)
    other[0]["ballots"][1]["note"] = "漏水"
    other[2]["ballots"][3][7] = "a key that is no string"
    with bulk_reader(reader):
        assert tally_many(other) == tally_many(docs)


def test_the_compiled_reader_is_built_and_used(monkeypatch):
    """Where the package was installed with a C compiler (CI has one) it reads the ballots."""
    if os.environ.get("CI"):
        assert reading._reader is not None, "the compiled reader was not built"
    if reading._reader is None:
        pytest.skip("the compiled reader is not built")
    assert reading.COMPILED
    calls = []
    read = reading._reader.read

    class Spy:
        def read(self, *args: Any) -> Any:
            calls.append(args)
            return read(*args)

    monkeypatch.setattr(reading, "_reader", Spy())
    assert tally_many(valid_city(2))
    assert len(calls) == 1


#: Another thread changes the ballots while the compiled reader reads them, again and
#: again: it appends ballots (the batch grows after it was counted) or replaces their
#: approvals (lists the reader looks at are freed). Run apart, so that a crash is a
#: failed test rather than the end of the suite.
_RACE = """
import random, sys, threading
from consult.tally import _reader
from consult.tally.contract import CHANNELS
from consult.tally.rows import _NAMED_CHANNEL

change = sys.argv[1]
index = {f"i{k}": k for k in range(64)}
ids = list(index)
rng = random.Random(7)
raws = [[{"household": f"h{k}", "approve": rng.sample(ids, 40), "rank": []}
         for k in range(2000)]]
stop = False

def meddle():
    k = 10**6
    while not stop:
        if change == "grow":
            raws[0].append({"household": f"h{k}", "approve": ["i1", "i2"]})
            k += 1
            if len(raws[0]) > 50_000:
                del raws[0][2000:]
        else:
            ballot = raws[0][rng.randrange(2000)]
            ballot["approve"] = [id + "" for id in rng.sample(ids, 40)]

thread = threading.Thread(target=meddle)
thread.start()
try:
    for _ in range(150):
        read = _reader.read(raws, index, [3], _NAMED_CHANNEL, len(CHANNELS))
        assert read is None or len(read[0]) == read[1].shape[0]
finally:
    stop = True
    thread.join()
"""


@pytest.mark.parametrize("change", ["grow", "swap"])
def test_another_thread_changing_the_ballots_cannot_crash_the_compiled_reader(change):
    if reading._reader is None:
        pytest.skip("the compiled reader is not built")
    done = subprocess.run(
        [sys.executable, "-c", _RACE, change], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]


def test_the_compiled_reader_checks_what_it_is_given():
    if reading._reader is None:
        pytest.skip("the compiled reader is not built")
    raws = [[{"household": "h", "approve": ["a"]}]] * 3
    read = reading._reader.read
    with pytest.raises(ValueError, match="one rank depth per compound"):
        read(raws, {"a": 0}, [1], reading._NAMED_CHANNEL, 4)
    # What the bulk reader refuses (None), it refuses too.
    assert read(raws[:1], {"a": 0}, [-1], reading._NAMED_CHANNEL, 4) is None
    assert read(raws[:1], {"a": 0}, [1.0], reading._NAMED_CHANNEL, 4) is None
    assert read(raws[:1], {"a": 0}, [1], {Equal("qr"): 0}, 4) is None
    assert read(raws[:1], {"a": 0}, [1], reading._NAMED_CHANNEL, 4) is not None


class Equal(str):
    """Equal to a string, but not one (its == could run anything)."""


class Twin:
    """Not a string, but equal to one and hashed alike."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __eq__(self, other: object) -> bool:
        return other == self.text

    def __hash__(self) -> int:
        return hash(self.text)


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize("field", ["approve", "rank", "channel"])
def test_an_object_equal_to_an_id_is_not_the_id(reader, field):
    docs = valid_city(2)
    ballot = docs[1]["ballots"][0]
    if field == "channel":
        ballot["channel"] = Twin("qr")
    else:
        ballot["approve"] = list(ballot["approve"])
        ballot["rank"] = list(ballot.get("rank") or ballot["approve"][:1])
        ballot[field][0] = Twin(ballot[field][0])
    raws, index, depths = batch(docs)
    with bulk_reader(reader):
        assert reading._fast(raws, index, depths) is None
        with pytest.raises(TallyInputError) as refused:
            tally_many(docs)
    assert refused.value.field == field
