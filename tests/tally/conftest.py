"""Factories for `consult.ballots/1` documents used by the tally tests."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

Doc = dict[str, Any]

ITEMS: list[dict[str, Any]] = [
    {"id": "a", "category": "basic", "cost": 100, "name_zh": "屋面防水", "name_en": "Roofs"},
    {"id": "b", "category": "improvement", "cost": 60},
    {"id": "c", "category": "enhancement", "cost": 40},
    {"id": "d", "category": "basic", "cost": 30},
]

#: The hand-computed compound of test_tally_fields.py: 8 households, 5 ballots.
REFERENCE_BALLOTS: list[dict[str, Any]] = [
    {
        "household": "h1",
        "building": "1",
        "approve": ["a", "b"],
        "rank": ["a", "b"],
        "elderly": True,
        "channel": "qr",
        "verified": True,
    },
    {
        "household": "h2",
        "building": "1",
        "approve": ["a"],
        "rank": ["a"],
        "children": True,
        "channel": "invite",
        "verified": True,
    },
    {
        "household": "h3",
        "building": "2",
        "approve": ["a", "c"],
        "rank": ["c"],
        "elderly": True,
        "children": True,
        "channel": "paper",
    },
    {
        "household": "h4",
        "building": "2",
        "approve": ["b", "c"],
        "rank": ["b", "c"],
        "channel": "meeting",
        "verified": True,
    },
    {"household": "h5", "approve": ["a", "b", "c"]},
]

REFERENCE_MEETINGS: list[dict[str, Any]] = [
    {
        "id": "m1",
        "date": "2026-11-20",
        "votes": [{"item": "a", "for": 10, "against": 2, "abstain": 1}],
    },
    {
        "id": "m2",
        "date": "2026-11-27",
        "votes": [
            {"item": "a", "for": 3, "against": 0, "abstain": 0},
            {"item": "c", "for": 1, "against": 5, "abstain": 2},
        ],
    },
]


def build_doc(
    ballots: list[dict[str, Any]] | None = None,
    *,
    households: int = 8,
    rank_depth: int = 2,
    items: list[dict[str, Any]] | None = None,
    budget: float | None = None,
    meetings: list[dict[str, Any]] | None = None,
    code: str = "dz",
) -> Doc:
    """Return a `consult.ballots/1` document (deep copies of the inputs)."""
    doc: Doc = {
        "format": "consult.ballots/1",
        "compound": {"code": code, "name": "东庄小区", "households": households},
        "rank_depth": rank_depth,
        "items": copy.deepcopy(ITEMS if items is None else items),
        "ballots": copy.deepcopy(ballots or []),
    }
    if budget is not None:
        doc["budget"] = budget
    if meetings is not None:
        doc["meetings"] = copy.deepcopy(meetings)
    return doc


@pytest.fixture
def make_doc() -> Callable[..., Doc]:
    """Return the document factory."""
    return build_doc


@pytest.fixture
def reference_doc() -> Doc:
    """Return the hand-computed reference compound."""
    return build_doc(REFERENCE_BALLOTS, meetings=REFERENCE_MEETINGS)
