"""Every compound's menu at once: the city's ballots read as columns, counted as arrays.

`compound_menu` reads one compound with several queries; a city of hundreds of
compounds pays them hundreds of times. Here the current ballots and approvals of
every compound are read once, as columns of numbers (`city_columns`), checked and
counted together by the engine (`engine.tally_arrays`). The menus equal
`compound_menu`'s (tests hold it on the seeded city and on a city of edge cases).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlmodel import Session

import consult.tally as engine
from consult.services.city_columns import COUNTED_MEETINGS, city_arrays, current_surveys
from consult.tally import collector_paused

__all__ = ["COUNTED_MEETINGS", "city_menus", "city_tally", "current_surveys"]


def city_menus(session: Session, *, method: str = "approval") -> dict[str, dict[str, Any]]:
    """Return every compound's menu (keyed by code) as `compound_menu` returns it.

    Only compounds with a current needs survey have one; a survey answered with
    household codes only counts verified ballots, as in `compound_menu`.
    """
    with collector_paused():
        return city_tally(session, method=method).all_menus()


def city_tally(
    session: Session, *, method: str = "approval", compound_ids: Collection[int] | None = None
) -> engine.CityMenus:
    """Return every compound's menu as arrays, read from the database as columns of numbers.

    The result maps each compound with a current needs survey (by code) to the
    menu `compound_menu` returns, built when asked for; every figure of every
    compound is counted here at once. No ballot becomes a dict: the ballots and
    their approvals are read as rows of numbers and handed to the engine as
    arrays (`engine.tally_arrays`), which checks them as it checks documents.
    """
    with collector_paused():
        return _city_tally(session, method, compound_ids)


def _city_tally(
    session: Session, method: str, compound_ids: Collection[int] | None
) -> engine.CityMenus:
    parts = [
        engine.tally_arrays(arrays, method=method, verified_only=verified_only)
        for arrays, verified_only in city_arrays(session, compound_ids)
    ]
    return engine.CityMenus(parts, codes=sorted(code for part in parts for code in part.codes))
