"""The tables planners export: compounds, menus, ballots, meetings and action items.

Each table is a header (translated when written, so a request's or the command
line's locale decides) and a generator of rows that reads the database as it
goes: the ballots of a whole city stream through in pages, never all at once.
Rows hold plain values (text, numbers, dates, booleans); `consult.services.export_files`
writes them as Excel or CSV. Reads only; nothing is flushed.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator
from itertools import groupby
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy import func
from sqlmodel import Session, col

from consult.labels import name_of
from consult.models import (
    Account,
    ActionItem,
    ActionStatus,
    Ballot,
    BallotItem,
    Building,
    Compound,
    District,
    Household,
    Meeting,
    Survey,
    SurveyItem,
    SurveyMode,
    Unit,
)
from consult.models._base import row_id
from consult.services.accounts import visible_compounds
from consult.services.city_tally import city_tally, current_surveys
from consult.services.export_files import (
    CODE,
    NAME,
    Column,
    Row,
    Table,
    english,
    in_scope,
    streamed,
)
from consult.services.export_meetings import actions_table, meetings_table
from consult.services.surveys import current_survey, local_time, local_today
from consult.services.tallies import ballots_document, compound_menu

#: The tables, in the order of the workbook's sheets.
TABLES = ("compounds", "menus", "ballots", "meetings", "actions")
CATEGORY_NAMES = {
    "basic": _l("Basic"),
    "improvement": _l("Improvement"),
    "enhancement": _l("Enhancement"),
}


Menu = dict[str, Any]


# -- compounds ---------------------------------------------------------------------------------


def compounds_table(session: Session, ids: Collection[int]) -> Table:
    """Return one row per compound: households, answers, coverage, survey, open actions."""
    columns = [
        Column(_l("District"), width=10),
        CODE,
        NAME,
        Column(_l("Households"), "number"),
        Column(_l("Households answered"), "number"),
        Column(_l("Coverage"), "percent"),
        Column(_l("Survey status"), width=10),
        Column(_l("Closes on"), "date", width=12),
        Column(_l("Open action items"), "number"),
        Column(_l("Budget (yuan)"), "number", width=12),
    ]
    return Table("compounds", _l("Compounds"), columns, _compound_rows(session, ids))


def _compound_rows(session: Session, ids: Collection[int]) -> Iterator[Row]:
    current = current_surveys()
    households: dict[int, int] = dict(
        session.execute(
            sa.select(col(Household.compound_id), func.count())
            .where(in_scope(Household.compound_id, ids))
            .group_by(col(Household.compound_id))
        ).all()
    )
    answered: dict[int, int] = dict(
        session.execute(
            sa.select(col(Ballot.survey_id), func.count())
            .join(Survey, col(Survey.id) == Ballot.survey_id)
            .where(
                col(Ballot.is_current),
                col(Ballot.survey_id).in_(current),
                in_scope(Survey.compound_id, ids),
                # As the tally counts: a survey by household codes only counts verified ballots.
                sa.or_(col(Survey.mode) != SurveyMode.CODES, col(Ballot.verified)),
            )
            .group_by(col(Ballot.survey_id))
        ).all()
    )
    open_actions: dict[int, int] = dict(
        session.execute(
            sa.select(col(Meeting.compound_id), func.count())
            .join(ActionItem, col(ActionItem.meeting_id) == Meeting.id)
            .where(in_scope(Meeting.compound_id, ids), col(ActionItem.status) != ActionStatus.DONE)
            .group_by(col(Meeting.compound_id))
        ).all()
    )
    statement = (
        sa.select(
            col(Compound.id),
            col(District.name),
            col(Compound.code),
            col(Compound.name),
            col(Survey.id),
            col(Survey.status),
            col(Survey.closes_on),
            col(Compound.budget),
        )
        .join(District, col(District.id) == Compound.district_id)
        .outerjoin(
            Survey, sa.and_(col(Survey.compound_id) == Compound.id, col(Survey.id).in_(current))
        )
        .where(in_scope(Compound.id, ids))
        .order_by(col(District.code), col(Compound.code))
    )
    for cid, district, code, name, survey_id, status, closes_on, budget in streamed(
        session, statement
    ):
        total = int(households.get(cid, 0))
        count = int(answered.get(survey_id, 0)) if survey_id is not None else 0
        yield (
            district,
            code,
            name,
            total,
            count,
            round(count / total, 6) if total else 0.0,
            name_of("status", status) if status is not None else "",
            closes_on,
            int(open_actions.get(cid, 0)),
            budget,
        )


# -- menus -------------------------------------------------------------------------------------


def menus_table(session: Session, ids: Collection[int]) -> Table:
    """Return each compound's ranked menu, item by item, with its figures."""
    columns = [
        CODE,
        NAME,
        Column(_l("Rank"), "number", width=6),
        Column(_l("Item id"), width=24),
        Column(_l("Item"), width=24),
        Column(_l("Category"), width=10),
        Column(_l("Approvals"), "number"),
        Column(_l("Support"), "percent"),
        Column(_l("95 percent interval, low"), "percent"),
        Column(_l("95 percent interval, high"), "percent"),
        Column(_l("Tied with the item above"), "flag"),
        Column(_l("Meeting hands for"), "number"),
        Column(_l("Meeting hands against"), "number"),
        Column(_l("Meeting hands abstaining"), "number"),
        Column(_l("Selected within the budget"), "flag"),
    ]
    return Table("menus", _l("Menu"), columns, _menu_rows(session, ids))


def _scoped_compounds(session: Session, ids: Collection[int]) -> list[Compound]:
    statement = sa.select(Compound).where(in_scope(Compound.id, ids)).order_by(col(Compound.code))
    return list(session.execute(statement).scalars().all())


def _menus(session: Session, compounds: list[Compound]) -> Iterator[tuple[Compound, Menu]]:
    """Yield each compound's menu in order: one compound on its own, more the city's way.

    For many compounds the whole city is counted at once (`city_tally`, as arrays)
    and each compound's menu is built only as its rows are written: the menus of
    a whole city are never all in memory together. Compounds without a current
    needs survey have no menu.
    """
    if len(compounds) == 1:
        survey = current_survey(session, compounds[0])
        if survey is not None:
            yield compounds[0], compound_menu(session, compounds[0], survey)
        return
    # Only the compounds asked for are read and checked: a fault elsewhere is not theirs.
    city = city_tally(session, compound_ids=[row_id(c.id) for c in compounds])
    for compound in compounds:
        if compound.code in city:
            yield compound, city[compound.code]


def _menu_rows(session: Session, ids: Collection[int]) -> Iterator[Row]:
    compounds = _scoped_compounds(session, ids) if ids else []
    in_english = english()
    for compound, menu in _menus(session, compounds):
        above: str | None = None
        for entry in menu["items"]:
            hands = entry["meeting"]
            counted = any(hands.values())
            name = entry.get("name_en" if in_english else "name_zh") or entry["id"]
            yield (
                compound.code,
                compound.name,
                entry["rank"],
                entry["id"],
                name,
                str(CATEGORY_NAMES.get(entry["category"], entry["category"])),
                entry["approvals"],
                entry["support"],
                entry["ci95"][0],
                entry["ci95"][1],
                above is not None and above in entry["tied_with"],
                hands["for"] if counted else None,
                hands["against"] if counted else None,
                hands["abstain"] if counted else None,
                entry.get("selected"),
            )
            above = entry["id"]


# -- ballots -----------------------------------------------------------------------------------


def ballots_table(session: Session, ids: Collection[int], *, with_comments: bool = False) -> Table:
    """Return the current ballots of each compound's current needs survey, household by household.

    Households appear by their building-unit-room label only; the household's own
    words are left out unless `with_comments`. Approved items the survey no longer
    offers are left out, as the tally leaves them out.
    """
    current = current_surveys()
    depth = session.execute(
        sa.select(func.max(col(Survey.rank_depth))).where(
            col(Survey.id).in_(current), in_scope(Survey.compound_id, ids)
        )
    ).scalar()
    columns = [
        CODE,
        Column(_l("Household (building-unit-room)"), width=12),
        Column(_l("Building"), width=6),
        Column(_l("Channel"), width=10),
        Column(_l("Verified"), "flag", width=6),
        Column(_l("60+"), "flag", width=6),
        Column(_l("Child under 12"), "flag", width=6),
        Column(_l("Submitted (Beijing time)"), "datetime", width=17),
        Column(_l("Items approved"), width=40),
        *(Column(_l("Priority %(n)d", n=n), width=20) for n in range(1, (depth or 3) + 1)),
    ]
    if with_comments:
        columns.append(Column(_l("Anything else"), width=40))
    rows = _ballot_rows(session, ids, depth or 3, with_comments)
    return Table("ballots", _l("Ballots"), columns, rows)


def _ballot_rows(
    session: Session, ids: Collection[int], depth: int, with_comments: bool
) -> Iterator[Row]:
    current = current_surveys()
    offered: dict[int, set[str]] = {}
    for survey_id, item_id in session.execute(
        sa.select(col(SurveyItem.survey_id), col(SurveyItem.item_id))
        .join(Survey, col(Survey.id) == SurveyItem.survey_id)
        .where(col(Survey.id).in_(current), in_scope(Survey.compound_id, ids))
    ):
        offered.setdefault(survey_id, set()).add(item_id)
    channels = {
        channel: name_of("channel", channel) for channel in ("qr", "invite", "paper", "meeting")
    }
    statement = (
        sa.select(
            col(Ballot.id),
            col(Compound.code),
            col(Household.label),
            col(Building.number),
            col(Ballot.survey_id),
            col(Ballot.channel),
            col(Ballot.verified),
            col(Ballot.elderly),
            col(Ballot.children),
            col(Ballot.created_at),
            col(Ballot.comment) if with_comments else sa.null(),
            col(BallotItem.item_id),
            col(BallotItem.rank),
        )
        .select_from(Ballot)
        .join(Household, col(Household.id) == Ballot.household_id)
        .join(Unit, col(Unit.id) == Household.unit_id)
        .join(Building, col(Building.id) == Unit.building_id)
        .join(Compound, col(Compound.id) == Household.compound_id)
        .outerjoin(BallotItem, col(BallotItem.ballot_id) == Ballot.id)
        .where(
            col(Ballot.is_current),
            col(Ballot.survey_id).in_(current),
            in_scope(Household.compound_id, ids),
        )
        .order_by(col(Compound.code), col(Household.label), col(Ballot.id))
    )
    for _, group in groupby(streamed(session, statement), key=lambda row: row[0]):
        rows = list(group)
        first = rows[0]
        on_menu = offered.get(first.survey_id, set())
        chosen = [(r.rank, r.item_id) for r in rows if r.item_id in on_menu]
        # Priorities in rank order among the items still offered, as the tally reads them.
        ranked = sorted((rank, item) for rank, item in chosen if rank is not None)
        priorities: list[str | None] = [item for _, item in ranked][:depth]
        priorities += [None] * (depth - len(priorities))
        values: Row = (
            first.code,
            first.label,
            first.number,
            channels.get(first.channel, first.channel),
            first.verified,
            first.elderly,
            first.children,
            local_time(first.created_at),
            " ".join(sorted(item for _, item in chosen)),
            *priorities,
        )
        yield (*values, first.comment) if with_comments else values


# -- scopes and whole exports ------------------------------------------------------------------


def export_table(
    session: Session, name: str, ids: Collection[int], *, with_comments: bool = False
) -> Table:
    """Return the table called `name` over the compounds `ids`; KeyError if there is none."""
    if name == "ballots":
        return ballots_table(session, ids, with_comments=with_comments)
    builders = {
        "compounds": compounds_table,
        "menus": menus_table,
        "meetings": meetings_table,
        "actions": actions_table,
    }
    return builders[name](session, ids)


def export_tables(
    session: Session, ids: Collection[int], *, with_comments: bool = False
) -> Iterator[Table]:
    """Yield every table in sheet order, each built when the previous one is written."""
    for name in TABLES:
        yield export_table(session, name, ids, with_comments=with_comments)


def district_by_code(session: Session, code: str) -> District | None:
    """Return the district with this code, or None."""
    statement = sa.select(District).where(col(District.code) == code)
    return session.execute(statement).scalars().first()


def visible_ids(session: Session, account: Account, district: District | None = None) -> list[int]:
    """Return the ids of the compounds the account may see, in one district if given."""
    return [
        compound.id
        for compound in visible_compounds(session, account)
        if compound.id is not None and (district is None or compound.district_id == district.id)
    ]


def ballots_json(session: Session, compound: Compound) -> bytes | None:
    """Return the compound's current needs survey as `consult.ballots/1` JSON, or None."""
    survey = current_survey(session, compound)
    if survey is None:
        return None
    document = ballots_document(session, compound, survey)
    return (json.dumps(document, ensure_ascii=False, indent=1) + "\n").encode("utf-8")


def file_day() -> str:
    """Return today's local date for file names (20261126)."""
    return local_today().strftime("%Y%m%d")
