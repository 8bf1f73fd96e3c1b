"""Every field of `consult.menu/1` against a compound counted by hand.

The reference compound (conftest.py) has N = 8 households and n = 5 ballots:

    household  building  approve   rank    elderly children channel  verified
    h1         1         a b       a b     yes              qr       yes
    h2         1         a         a               yes      invite   yes
    h3         2         a c       c       yes     yes      paper
    h4         2         b c       b c                      meeting  yes
    h5         -         a b c

z = 1.959964 * sqrt((8 - 5) / 7) = 1.283098.
"""

from __future__ import annotations

import math
import os
from typing import Any

import pytest

from consult.tally import MENU_FORMAT, tally


def by_id(menu: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {entry["id"]: entry for entry in menu["items"]}


def test_top_level_counts_responses_coverage_and_channels(reference_doc):
    menu = tally(reference_doc)
    assert menu["format"] == MENU_FORMAT
    assert menu["compound"] == {"code": "dz", "name": "东庄小区", "households": 8}
    assert menu["method"] == "approval"
    assert menu["verified_only"] is False
    assert (menu["responses"], menu["households"], menu["coverage"]) == (5, 8, 0.625)
    assert menu["channels"] == {
        "qr": 1,
        "invite": 1,
        "paper": 1,
        "meeting": 1,
        "unspecified": 1,
    }
    assert "selection" not in menu


def test_approvals_support_and_borda(reference_doc):
    items = by_id(tally(reference_doc))
    assert {k: v["approvals"] for k, v in items.items()} == {"a": 4, "b": 3, "c": 3, "d": 0}
    assert {k: v["support"] for k, v in items.items()} == {"a": 0.8, "b": 0.6, "c": 0.6, "d": 0.0}
    # rank_depth 2: first priority 2 points, second 1.
    assert {k: v["borda"] for k, v in items.items()} == {"a": 4, "b": 3, "c": 3, "d": 0}


def test_menu_order_breaks_equal_approvals_and_borda_by_id(reference_doc):
    menu = tally(reference_doc)
    assert [(e["id"], e["rank"]) for e in menu["items"]] == [("a", 1), ("b", 2), ("c", 3), ("d", 4)]


def test_wilson_interval_with_finite_population_correction(reference_doc):
    items = by_id(tally(reference_doc))
    assert items["a"]["ci95"] == [0.513191, 0.938186]
    assert items["b"]["ci95"] == [0.330152, 0.820307]
    assert items["c"]["ci95"] == items["b"]["ci95"]
    assert items["d"]["ci95"] == [0.0, 0.247706]


def test_bounds_assume_silent_households_say_no_or_yes(reference_doc):
    items = by_id(tally(reference_doc))
    assert items["a"]["bounds"] == [0.5, 0.875]
    assert items["b"]["bounds"] == [0.375, 0.75]
    assert items["d"]["bounds"] == [0.0, 0.375]


def test_tied_with_uses_the_paired_test(reference_doc):
    items = by_id(tally(reference_doc))
    # a vs b: b = 2 (h2, h3), c = 1 (h4): |1| <= 1.283 * sqrt(3) -> tied.
    # a vs d: b = 4, c = 0: 4 > 1.283 * 2 -> told apart.
    assert items["a"]["tied_with"] == ["b", "c"]
    assert items["b"]["tied_with"] == ["a", "c"]
    assert items["c"]["tied_with"] == ["a", "b"]
    assert items["d"]["tied_with"] == []


def test_segments_count_elderly_and_children_households(reference_doc):
    items = by_id(tally(reference_doc))
    assert items["a"]["segments"] == {
        "elderly": {"approvals": 2, "ballots": 2},
        "children": {"approvals": 2, "ballots": 2},
    }
    assert items["b"]["segments"]["elderly"] == {"approvals": 1, "ballots": 2}
    assert items["b"]["segments"]["children"] == {"approvals": 0, "ballots": 2}
    assert items["c"]["segments"]["children"] == {"approvals": 1, "ballots": 2}


def test_by_building_skips_ballots_without_a_building(reference_doc):
    items = by_id(tally(reference_doc))
    assert items["a"]["by_building"] == {"1": 2, "2": 1}
    assert items["b"]["by_building"] == {"1": 1, "2": 1}
    assert items["c"]["by_building"] == {"1": 0, "2": 2}
    assert items["d"]["by_building"] == {"1": 0, "2": 0}


def test_meeting_hands_are_summed_over_meetings(reference_doc):
    items = by_id(tally(reference_doc))
    assert items["a"]["meeting"] == {"for": 13, "against": 2, "abstain": 1}
    assert items["b"]["meeting"] == {"for": 0, "against": 0, "abstain": 0}
    assert items["c"]["meeting"] == {"for": 1, "against": 5, "abstain": 2}


def test_item_metadata_is_passed_through(reference_doc):
    items = by_id(tally(reference_doc))
    assert items["a"]["category"] == "basic"
    assert (items["a"]["name_zh"], items["a"]["name_en"]) == ("屋面防水", "Roofs")
    assert "name_zh" not in items["b"]
    assert items["c"]["cost"] == 40


def test_verified_only_counts_verified_ballots(reference_doc):
    menu = tally(reference_doc, verified_only=True)
    items = by_id(menu)
    assert (menu["verified_only"], menu["responses"], menu["coverage"]) == (True, 3, 0.375)
    assert menu["channels"] == {"qr": 1, "invite": 1, "paper": 0, "meeting": 1, "unspecified": 0}
    assert {k: v["approvals"] for k, v in items.items()} == {"a": 2, "b": 2, "c": 1, "d": 0}
    assert [e["id"] for e in menu["items"]] == ["a", "b", "c", "d"]  # borda 4 > 3
    assert items["a"]["ci95"] == [0.251645, 0.922453]
    assert items["c"]["ci95"] == [0.077547, 0.748355]
    assert items["d"]["tied_with"] == ["a", "b", "c"]  # z = 1.656: nothing told apart


def test_interval_collapses_when_every_household_answered(make_doc, reference_doc):
    menu = tally(make_doc(reference_doc["ballots"], households=5))
    items = by_id(menu)
    assert menu["coverage"] == 1.0
    for entry in items.values():
        assert entry["ci95"] == [entry["support"], entry["support"]]
        assert entry["bounds"] == [entry["support"], entry["support"]]
    # z = 0: only exactly equal approvals are tied.
    assert items["b"]["tied_with"] == ["c"]
    assert items["a"]["tied_with"] == []


def test_no_ballots_gives_zeros_full_intervals_and_all_ties(make_doc):
    menu = tally(make_doc([], households=8))
    assert (menu["responses"], menu["coverage"]) == (0, 0.0)
    assert [e["id"] for e in menu["items"]] == ["a", "b", "c", "d"]
    for entry in menu["items"]:
        assert entry["approvals"] == 0 and entry["support"] == 0.0
        assert entry["ci95"] == [0.0, 1.0]
        assert entry["bounds"] == [0.0, 1.0]
        assert len(entry["tied_with"]) == 3
        assert entry["by_building"] == {}


def test_compound_without_households_is_defined(make_doc):
    menu = tally(make_doc([], households=0))
    assert (menu["coverage"], menu["items"][0]["bounds"]) == (0.0, [0.0, 1.0])


def test_one_household_that_answered(make_doc):
    menu = tally(make_doc([{"household": "only", "approve": ["c"]}], households=1))
    items = by_id(menu)
    assert items["c"]["ci95"] == [1.0, 1.0]
    assert items["a"]["ci95"] == [0.0, 0.0]
    assert items["a"]["tied_with"] == ["b", "d"]
    assert [e["id"] for e in menu["items"]] == ["c", "a", "b", "d"]


def test_one_household_that_did_not_answer(make_doc):
    menu = tally(make_doc([], households=1))
    assert menu["items"][0]["ci95"] == [0.0, 1.0]


def test_all_items_tied(make_doc):
    ballots = [{"household": f"h{k}", "approve": ["a", "b", "c", "d"]} for k in range(4)]
    menu = tally(make_doc(ballots, households=4))
    assert [e["id"] for e in menu["items"]] == ["a", "b", "c", "d"]
    assert all(len(e["tied_with"]) == 3 for e in menu["items"])


def test_wilson_matches_the_textbook_formula_for_a_large_compound(make_doc):
    ballots = [{"household": f"h{k}", "approve": ["a"] if k % 3 else []} for k in range(300)]
    entry = by_id(tally(make_doc(ballots, households=1000)))["a"]
    n, N, p = 300, 1000, 200 / 300
    z = 1.959964 * math.sqrt((N - n) / (N - 1))
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    assert entry["ci95"] == pytest.approx([centre - half, centre + half], abs=1e-6)


def test_co_approvals_count_each_ballots_pairs_per_compound():
    import numpy as np

    from consult.tally.stats import co_approvals

    rng = np.random.default_rng(3)
    approve = rng.random((40, 6)) < 0.4
    offsets = [0, 15, 15, 40]  # the middle compound has no ballots
    both = co_approvals(approve, np.array(offsets))
    for c in range(3):
        block = approve[offsets[c] : offsets[c + 1]].astype(np.int64)
        assert both[c].tolist() == (block.T @ block).tolist()
    # Many items: each compound's rows are multiplied in several pieces.
    approve = rng.random((300, 70)) < 0.3
    offsets = [0, 1, 250, 300]
    both = co_approvals(approve, np.array(offsets))
    for c in range(3):
        block = approve[offsets[c] : offsets[c + 1]].astype(np.int64)
        assert both[c].tolist() == (block.T @ block).tolist()


@pytest.mark.parametrize("scale", [1, 2**31])
def test_paired_ties_follow_the_float_formula_for_small_and_huge_counts(scale):
    import numpy as np

    from consult.tally.stats import paired_ties

    rng = np.random.default_rng(5)
    approvals = rng.integers(0, 50, size=(4, 5)) * scale
    both = np.minimum(approvals[:, :, None], approvals[:, None, :]) // 2
    z = np.array([0.0, 0.5, 1.959964, 1.2])
    a = approvals.astype(np.float64)
    gap = (a[:, :, None] - a[:, None, :]) ** 2
    allowed = (a[:, :, None] + a[:, None, :] - 2.0 * both) * (z * z)[:, None, None]
    expected = gap <= allowed
    for k in range(5):
        expected[:, k, k] = False
    assert paired_ties(both, approvals, z).tolist() == expected.tolist()


@pytest.mark.parametrize("m", [0, 1, 6, 70])
def test_paired_ties_counted_compiled_equal_those_of_matrix_products(m, monkeypatch):
    import numpy as np

    from consult.tally import stats

    if stats._ties is None:
        pytest.skip("the compiled ties are not built")
    rng = np.random.default_rng(m)
    for trial in range(40):
        compounds = int(rng.integers(1, 6))
        offsets = np.zeros(compounds + 1, dtype=np.int64)
        # Now and then compounds past 255 ballots (the compiled counts go by bytes, then ints).
        most = 700 if trial % 5 == 0 else 60
        offsets[1:] = np.cumsum(rng.integers(0, most, size=compounds) * (trial % 7 != 0))
        approve = rng.random((int(offsets[-1]), m)) < rng.random()
        sizes = np.diff(offsets)
        owner = np.repeat(np.arange(compounds), sizes)
        approvals = np.zeros((compounds, m), dtype=np.int64)
        np.add.at(approvals, owner, approve.astype(np.int64))
        # Some compounds answered in full (z = 0: only equal counts tie), some with none.
        households = sizes + rng.integers(0, 3, size=compounds) * rng.integers(0, 2)
        z = stats.finite_population_z(sizes, households)
        compiled = stats.co_approval_ties(approve, offsets, approvals, z)
        monkeypatch.setattr(stats, "COMPILED", False)
        products = stats.co_approval_ties(approve, offsets, approvals, z)
        monkeypatch.setattr(stats, "COMPILED", True)
        assert compiled.dtype == products.dtype and compiled.shape == products.shape
        assert compiled.tolist() == products.tolist()


def test_the_compiled_ties_are_built_and_used(reference_doc, monkeypatch):
    """Where the package was installed with a C compiler (CI has one) they count the ties."""
    from consult.tally import stats

    if os.environ.get("CI"):
        assert stats._ties is not None, "the compiled ties were not built"
    if stats._ties is None:
        pytest.skip("the compiled ties are not built")
    assert stats.COMPILED
    calls = []
    count = stats._ties.co_approval_ties

    class Spy:
        def co_approval_ties(self, *args: Any) -> Any:
            calls.append(args)
            return count(*args)

    monkeypatch.setattr(stats, "_ties", Spy())
    assert tally(reference_doc)["items"][0]["tied_with"] == ["b", "c"]
    assert len(calls) == 1
