"""From checked ballots to `consult.menu/1`: rank the items, attach the figures."""

from __future__ import annotations

import gc
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from consult.tally.arrays import BallotArrays, read_arrays
from consult.tally.assemble import DIGITS, Menu
from consult.tally.columnar import (
    METHODS,
    RULES,
    MenuColumns,
    check_options,
    tally_columns,
)
from consult.tally.contract import Ballots, parse_ballots
from consult.tally.stats import batch_of, read_batches

__all__ = [
    "DIGITS",
    "METHODS",
    "RULES",
    "Menu",
    "collector_paused",
    "tally",
    "tally_arrays",
    "tally_documents",
    "tally_many",
]


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building a tree of fresh objects.

    A menu (or the rows read to make one) is hundreds of thousands of new dicts,
    lists and tuples with no cycles; collection passes triggered by their
    allocation find nothing to free and, for a whole city, cost about as much as
    the counting itself.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def tally(
    doc: Mapping[str, Any] | Ballots,
    *,
    method: str = "approval",
    verified_only: bool = False,
    select: str = "greedy",
    budget: float | None = None,
) -> Menu:
    """Return the `consult.menu/1` menu of one `consult.ballots/1` document.

    `method` orders the menu: "approval" (approvals, then Borda points, then
    id), "borda" (Borda points, then approvals, then id) or "schulze" (beat
    path on ranked > approved > not approved; items neither beats are ordered
    by approvals, then id). `verified_only` counts only verified ballots.
    When the document has a budget (or `budget` overrides it) a selection
    by `select` ("greedy" or "equal_shares") is attached. `tied_with` uses the
    interval's finite-population z, so at full coverage only equal counts tie.
    No ballots give an all-zero menu ordered by id, with intervals and bounds
    [0, 1] and every item tied with every other.
    Shares and intervals are rounded to 6 decimals; counts and amounts are
    given as they were read.
    Raises TallyInputError on a document that breaks the contract.
    """
    check_options(method, select, budget)
    with collector_paused():
        ballots = doc if isinstance(doc, Ballots) else parse_ballots(doc)
        columns = tally_columns(
            batch_of(ballots),
            method=method,
            verified_only=verified_only,
            select=select,
            budget=budget,
        )
        return columns.menu(0)


def tally_many(
    docs: Sequence[Mapping[str, Any]],
    *,
    method: str = "approval",
    verified_only: bool = False,
    select: str = "greedy",
) -> list[Menu]:
    """Return the menus of many documents (a district, a city) in input order.

    Documents sharing an item list are counted together in one pass, which is
    what makes a whole city cheap; each menu equals `tally` of its document.
    """
    check_options(method, select)
    out: list[Menu | None] = [None] * len(docs)
    with collector_paused():
        for members, part in tally_documents(
            docs, method=method, verified_only=verified_only, select=select
        ):
            for k, menu in zip(members, part.menus(), strict=True):
                out[k] = menu
    return [menu for menu in out if menu is not None]


def tally_documents(
    docs: Sequence[Mapping[str, Any]],
    *,
    method: str = "approval",
    verified_only: bool = False,
    select: str = "greedy",
) -> list[tuple[list[int], MenuColumns]]:
    """Check and count many documents into menus as arrays, one batch per item list.

    Returns (positions in `docs`, batch) pairs; a batch's `menu(k)` equals
    `tally` of the document at its k-th position.
    """
    check_options(method, select)
    with collector_paused():
        return [
            (
                members,
                tally_columns(batch, method=method, verified_only=verified_only, select=select),
            )
            for members, batch in read_batches(docs)
        ]


def tally_arrays(
    arrays: BallotArrays,
    *,
    method: str = "approval",
    verified_only: bool = False,
    select: str = "greedy",
) -> MenuColumns:
    """Check and count ballots given as arrays into the compounds' menus as arrays.

    `menu(c)` of the result equals `tally` of compound c's document holding the
    same ballots. Raises TallyInputError as `tally` does (see `read_arrays`).
    """
    check_options(method, select)
    with collector_paused():
        batch = read_arrays(arrays)
        return tally_columns(batch, method=method, verified_only=verified_only, select=select)
