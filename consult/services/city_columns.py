"""The city's current needs ballots read as columns of numbers, for the tally engine's arrays.

A city's ballots are some 40,000 rows and their approvals some 240,000. Read row
by row, the database driver builds a tuple and its objects for every row, which
costs more than the database spends finding them; and a `consult.ballots/1`
document per compound costs as much again. Here each column of a query comes
back as one string the database joins (`aggregate_strings`: group_concat on
SQLite, string_agg on PostgreSQL, every column of a query over the same rows in
the same order), numpy parses the numbers, and the engine gets arrays
(`engine.BallotArrays`) it checks as it checks documents.

The ballots, approvals and meetings read are exactly those `ballots_document`
puts in a document: current ballots of the current needs survey, approvals of
items the survey still offers (priorities closing up over the others), hands
counted at closed or published meetings on offered items.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Callable, Collection
from dataclasses import dataclass
from itertools import repeat
from typing import Any

import numpy as np
import sqlalchemy as sa
from numpy.typing import NDArray
from sqlalchemy import func
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlmodel import Session, col, select

import consult.tally as engine
from consult.models import (
    AgendaItem,
    Ballot,
    BallotItem,
    Building,
    CatalogItem,
    Compound,
    Household,
    Meeting,
    MeetingStatus,
    Survey,
    SurveyItem,
    SurveyMode,
    SurveyPhase,
    SurveyStatus,
    Unit,
)
from consult.models._base import row_id
from consult.tally.contract import parse_meetings

COUNTED_MEETINGS = (MeetingStatus.CLOSED, MeetingStatus.PUBLISHED)
#: Joins item ids in one string; an id holding it sends the reading row by row.
ITEM_SEPARATOR = "\x1f"
#: A stored rank no ballot can have (ranks are small whole numbers): "no priority".
UNRANKED = -(2**40)

Ints = NDArray[np.int64]
Votes = list[dict[str, Any]]


def current_surveys(compound_ids: Collection[int] | None = None) -> Any:
    """Return a subquery of every compound's current needs survey id (as `current_survey`),
    or of those compounds' only."""
    query = select(func.max(Survey.id)).where(
        Survey.phase == SurveyPhase.NEEDS, Survey.status != SurveyStatus.DRAFT
    )
    if compound_ids is not None:
        query = query.where(col(Survey.compound_id).in_(list(compound_ids)))
    return query.group_by(col(Survey.compound_id)).scalar_subquery()


def city_meetings(session: Session) -> dict[int, list[tuple[str, str, Votes]]]:
    """Return each compound's counted meetings in order: code, date and all counted hands."""
    hands: dict[int, Votes] = defaultdict(list)
    for meeting_id, item_id, yes, no, abstain in session.execute(
        sa.select(
            col(AgendaItem.meeting_id),
            col(AgendaItem.item_id),
            col(AgendaItem.hands_for),
            col(AgendaItem.hands_against),
            col(AgendaItem.hands_abstain),
        )
        .join(Meeting, col(Meeting.id) == AgendaItem.meeting_id)
        .where(col(Meeting.status).in_(COUNTED_MEETINGS), col(AgendaItem.hands_for).is_not(None))
        .order_by(col(AgendaItem.meeting_id), col(AgendaItem.position), col(AgendaItem.id))
    ):
        hands[meeting_id].append(
            {"item": item_id, "for": yes or 0, "against": no or 0, "abstain": abstain or 0}
        )
    meetings: dict[int, list[tuple[str, str, Votes]]] = defaultdict(list)
    for compound_id, meeting_id, code, starts_at in session.exec(
        select(Meeting.compound_id, Meeting.id, Meeting.code, Meeting.starts_at)
        .where(col(Meeting.status).in_(COUNTED_MEETINGS))
        .order_by(col(Meeting.compound_id), col(Meeting.starts_at), col(Meeting.id))
    ).all():
        meetings[compound_id].append(
            (code, starts_at.date().isoformat(), hands.get(meeting_id or 0, []))
        )
    return meetings


def meetings_input(
    meetings: list[tuple[str, str, Votes]], offered: set[str]
) -> list[dict[str, Any]]:
    """Return the tally's `meetings` of a compound: closed and published meetings' hands
    on the items its survey offers, meetings with none left out."""
    result = []
    for code, day, hands in meetings:
        votes = [vote for vote in hands if vote["item"] in offered]
        if votes:
            result.append({"id": code, "date": day, "votes": votes})
    return result


def city_arrays(
    session: Session, compound_ids: Collection[int] | None = None
) -> list[tuple[engine.BallotArrays, bool]]:
    """Read the current needs surveys of the city (or of these compounds) as ballot arrays.

    One `engine.BallotArrays` per item list and counting rule, each paired with
    whether only verified ballots count (a survey by household codes only);
    compounds follow their codes' order within each.
    """
    current = current_surveys(compound_ids)
    connection = session.connection()
    surveys = connection.execute(
        sa.select(
            col(Survey.id),
            col(Survey.rank_depth),
            col(Survey.mode),
            col(Compound.id),
            col(Compound.code),
            col(Compound.name),
            col(Compound.budget),
        )
        .join(Compound, col(Compound.id) == Survey.compound_id)
        .where(col(Survey.id).in_(current))
        .order_by(col(Compound.code))
    ).all()
    homes = _households(connection, compound_ids)
    offered = _offered_items(connection, current)
    meetings = city_meetings(session)

    # One part per item list and counting rule; each survey is a compound of its part.
    parts: dict[tuple[tuple[str, ...], bool], list[engine.Header]] = {}
    part_of: dict[int, tuple[int, int]] = {}  # survey id -> (part, compound within it)
    for sid, depth, mode, cid, code, name, budget in surveys:
        survey_id, compound_id = row_id(sid), row_id(cid)
        items = offered.get(survey_id, ())
        ids = tuple(item.id for item in items)
        votes = meetings_input(meetings.get(compound_id, []), set(ids))
        header = engine.Header(
            code=code,
            name=name,
            households=homes.counts.get(compound_id, 0),
            rank_depth=depth,
            budget=budget,
            items=items,
            meeting_votes=parse_meetings(votes, items),
        )
        headers = parts.setdefault((ids, mode == SurveyMode.CODES), [])
        part_of[survey_id] = (list(parts).index((ids, mode == SurveyMode.CODES)), len(headers))
        headers.append(header)
    if not parts:
        return []
    keys = list(parts)
    if connection.dialect.name == "postgresql":
        # The joined columns of one statement must list its rows in the same order:
        # one aggregation pass, never parallel workers' partial strings combined.
        connection.exec_driver_sql("SET LOCAL max_parallel_workers_per_gather = 0")
    ballots = _ballot_columns(connection, current, part_of, homes, compound_ids)
    approvals = _approval_columns(connection, ballots, [ids for ids, _ in keys])
    names = _household_names(session)
    out = []
    rows: slice | Ints
    pairs: slice | NDArray[np.bool_]
    for p, key in enumerate(keys):
        if len(keys) == 1:  # one part (one item list, one rule): every ballot, no copies
            rows, local = slice(None), np.arange(ballots.part.size)
            pairs, ranked = slice(None), approvals.ranked
        else:
            chosen = np.flatnonzero(ballots.part == p)
            local = np.full(ballots.part.size, -1, dtype=np.int64)
            local[chosen] = np.arange(chosen.size)
            rows = chosen
            mask = approvals.part == p
            ranked = mask & approvals.ranked
            pairs = mask
        arrays = engine.BallotArrays(
            headers=tuple(parts[key]),
            compound=ballots.compound[rows],
            household=ballots.household[rows],
            approve_ballot=local[approvals.ballot[pairs]],
            approve_item=approvals.item[pairs],
            rank_ballot=local[approvals.ballot[ranked]],
            rank_item=approvals.item[ranked],
            rank_order=approvals.order[ranked],
            elderly=ballots.elderly[rows],
            children=ballots.children[rows],
            verified=ballots.verified[rows],
            channel=ballots.channel[rows],
            building=ballots.building[rows],
            building_names=ballots.building_names,
            name_household=names,
        )
        out.append((arrays, key[1]))
    return out


def _household_names(session: Session) -> Callable[[int], str]:
    """Return a lookup of a household's label by id (only faulty ballots are named)."""

    def name(household_id: int) -> str:
        household = session.get(Household, household_id)
        return household.label if household is not None else str(household_id)

    return name


def _offered_items(connection: sa.Connection, current: Any) -> dict[int, tuple[engine.Item, ...]]:
    """Return each current survey's offered items in order; equal lists share one tuple."""
    listed: dict[int, list[str]] = defaultdict(list)
    if connection.dialect.name == "postgresql":
        # Each survey's list as one string: some 25,000 rows become one per survey.
        joined = func.string_agg(
            col(SurveyItem.item_id),
            aggregate_order_by(
                sa.literal(ITEM_SEPARATOR), col(SurveyItem.position), col(SurveyItem.id)
            ),
        )
        lists = connection.execute(
            sa.select(col(SurveyItem.survey_id), func.count(), joined)
            .where(col(SurveyItem.survey_id).in_(current))
            .group_by(col(SurveyItem.survey_id))
        ).all()
        for survey_id, _count, text in lists:
            listed[survey_id] = text.split(ITEM_SEPARATOR)
        if any(len(listed[survey_id]) != count for survey_id, count, _ in lists):
            listed.clear()  # an item id holding the separator: row by row
    if not listed:
        for survey_id, item_id in connection.execute(
            sa.select(col(SurveyItem.survey_id), col(SurveyItem.item_id))
            .where(col(SurveyItem.survey_id).in_(current))
            .order_by(col(SurveyItem.survey_id), col(SurveyItem.position), col(SurveyItem.id))
        ).all():
            listed[survey_id].append(item_id)
    catalog = {
        item_id: engine.Item(
            id=item_id, category=str(category), cost=cost, name_zh=name_zh, name_en=name_en
        )
        for item_id, category, name_zh, name_en, cost in connection.execute(
            sa.select(
                col(CatalogItem.id),
                col(CatalogItem.category),
                col(CatalogItem.name_zh),
                col(CatalogItem.name_en),
                col(CatalogItem.cost),
            )
        ).all()
    }
    shared: dict[tuple[str, ...], tuple[engine.Item, ...]] = {}
    out = {}
    for survey_id, ids in listed.items():
        key = tuple(ids)
        if key not in shared:
            shared[key] = tuple(catalog[item_id] for item_id in key)
        out[survey_id] = shared[key]
    return out


def _joined(column: Any, separator: str = " ") -> Any:
    """Return the aggregate joining a column's values of every row into one string."""
    return func.aggregate_strings(sa.cast(column, sa.Text), separator)


def _numbers(text: str | None, n: int) -> Ints:
    """Parse n whole numbers joined by spaces."""
    if not n:
        return np.zeros(0, dtype=np.int64)
    numbers = np.fromstring(text or "", dtype=np.int64, sep=" ")
    if numbers.size != n:
        raise RuntimeError(f"read {numbers.size} numbers of a column of {n}")
    return numbers


def _lookup(keys: Ints, values: Ints) -> Ints:
    """Return a table mapping each key (a row id) to its value, -1 elsewhere."""
    table = np.full(int(keys.max(initial=0)) + 1, -1, dtype=np.int64)
    table[keys] = values
    return table


@dataclass(frozen=True, eq=False)
class _BallotColumns:
    """The current ballots of the current needs surveys, one entry per ballot."""

    ids: Ints
    row_of_id: Ints  # ballot id -> index here
    part: Ints
    compound: Ints  # within its part
    household: Ints
    elderly: NDArray[np.bool_]
    children: NDArray[np.bool_]
    verified: NDArray[np.bool_]
    channel: Ints
    building: Ints
    building_names: tuple[str, ...]


def _ballot_columns(
    connection: sa.Connection,
    current: Any,
    part_of: dict[int, tuple[int, int]],
    homes: _Households,
    compound_ids: Collection[int] | None,
) -> _BallotColumns:
    channel = sa.case(
        {name: k for k, name in enumerate(engine.CHANNELS)}, value=col(Ballot.channel), else_=-1
    )
    # The three flags and the channel in one number: a column read instead of four.
    marks = (
        sa.cast(col(Ballot.elderly), sa.Integer)
        + 2 * sa.cast(col(Ballot.children), sa.Integer)
        + 4 * sa.cast(col(Ballot.verified), sa.Integer)
        + 8 * (channel + 1)
    )
    count, *texts = connection.execute(
        sa.select(
            func.count(),
            *(
                _joined(column)
                for column in (
                    col(Ballot.id),
                    col(Ballot.survey_id),
                    col(Ballot.household_id),
                    marks,
                )
            ),
        ).where(col(Ballot.is_current), col(Ballot.survey_id).in_(current))
    ).one()
    ids, surveys, households, flags = (_numbers(text, count) for text in texts)
    # Each household's building, read with the households: cheaper than joining every
    # ballot to its household and unit. A household added since has a ballot here but
    # was not read: the households are read again. (One gone since has no building.)
    building = homes.buildings(households)
    if (building < 0).any():
        building = _households(connection, compound_ids).buildings(households)
    survey_ids = np.fromiter(part_of, dtype=np.int64, count=len(part_of))
    places = np.array(list(part_of.values()), dtype=np.int64).reshape(-1, 2)
    numbers = connection.execute(sa.select(col(Building.id), col(Building.number))).all()
    building_ids = np.fromiter((b for b, _ in numbers), dtype=np.int64, count=len(numbers))
    return _BallotColumns(
        ids=ids,
        row_of_id=_lookup(ids, np.arange(count)),
        part=_lookup(survey_ids, places[:, 0])[surveys],
        compound=_lookup(survey_ids, places[:, 1])[surveys],
        household=households,
        elderly=(flags & 1) != 0,
        children=(flags & 2) != 0,
        verified=(flags & 4) != 0,
        channel=(flags >> 3) - 1,
        building=np.where(
            building >= 0, _lookup(building_ids, np.arange(len(numbers)))[building], -1
        ),
        building_names=tuple(str(number) for _, number in numbers),
    )


@dataclass(frozen=True, eq=False)
class _Households:
    """The households of the compounds read: how many each compound has, and where."""

    counts: dict[int, int]  # compound id -> its households
    building_of: Ints  # household id -> its building's id, -1 for no such household

    def buildings(self, households: Ints) -> Ints:
        """Return the building id of each household (-1 for one not read)."""
        found = np.full(households.size, -1, dtype=np.int64)
        in_range = households < self.building_of.size
        found[in_range] = self.building_of[households[in_range]]
        return found


def _households(connection: sa.Connection, compound_ids: Collection[int] | None) -> _Households:
    """Read the households of the city (or of these compounds): their compound and building."""
    query = sa.select(
        func.count(),
        _joined(col(Household.id)),
        _joined(col(Household.compound_id)),
        _joined(col(Unit.building_id)),
    ).join(Unit, col(Unit.id) == Household.unit_id)
    if compound_ids is not None:
        query = query.where(col(Household.compound_id).in_(list(compound_ids)))
    count, households, compounds, buildings = connection.execute(query).one()
    ids, counts = np.unique(_numbers(compounds, count), return_counts=True)
    return _Households(
        counts=dict(zip(ids.tolist(), counts.tolist(), strict=True)),
        building_of=_lookup(_numbers(households, count), _numbers(buildings, count)),
    )


@dataclass(frozen=True, eq=False)
class _ApprovalColumns:
    """The approvals of those ballots of items still offered, one entry per approval."""

    part: Ints
    ballot: Ints  # index in _BallotColumns
    item: Ints  # within its part's item list
    ranked: NDArray[np.bool_]
    order: Ints  # priorities' order: the stored rank, then the item id


def _approval_columns(
    connection: sa.Connection,
    ballots: _BallotColumns,
    item_lists: list[tuple[str, ...]],
) -> _ApprovalColumns:
    # Every offered item by its id's order (priorities of equal rank go by id, as in
    # ballot_entry); any other item is the last code, offered nowhere.
    names = sorted(set().union(*item_lists))
    code = {name: k for k, name in enumerate(names)}
    ballot_ids, global_item, ranks = _approvals(connection, ballots, code)
    # The approvals are read by a statement after the ballots': a ballot stored or
    # replaced in between is not among those read, and its approvals are left out (as
    # are those of earlier ballots in the range read: history, other surveys).
    in_range = ballot_ids < ballots.row_of_id.size
    known = np.zeros(ballot_ids.size, dtype=bool)
    known[in_range] = ballots.row_of_id[ballot_ids[in_range]] >= 0
    if not known.all():
        ballot_ids, global_item, ranks = ballot_ids[known], global_item[known], ranks[known]
    # An item the survey no longer offers is not counted (local index -1), as in ballot_entry.
    local = np.full((len(item_lists), len(names) + 1), -1, dtype=np.int64)
    for p, listed in enumerate(item_lists):
        local[p, [code[i] for i in listed]] = np.arange(len(listed))
    ballot = ballots.row_of_id[ballot_ids]
    part = ballots.part[ballot]
    item = local[part, global_item]
    ranked = ranks != UNRANKED
    order = ranks * len(names) + global_item
    keep = item >= 0
    if keep.all():
        return _ApprovalColumns(part=part, ballot=ballot, item=item, ranked=ranked, order=order)
    return _ApprovalColumns(
        part=part[keep],
        ballot=ballot[keep],
        item=item[keep],
        ranked=ranked[keep],
        order=order[keep],
    )


def _approvals(
    connection: sa.Connection, ballots: _BallotColumns, code: dict[str, int]
) -> tuple[Ints, Ints, Ints]:
    """Return the approvals of the ballots in the id range of those read: ballot ids, item
    codes (`code` of the item, len(code) for any other) and ranks (UNRANKED for none).

    The range is read without joining the ballots: the caller keeps the approvals of
    the ballots it read.
    """
    low, high = int(ballots.ids.min(initial=0)), int(ballots.ids.max(initial=-1))
    if high < low:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    in_range = col(BallotItem.ballot_id).between(low, high)
    if connection.dialect.name == "postgresql":
        packed = _packed_approvals(connection, in_range, code)
        if packed is not None:
            return packed
    rank = func.coalesce(col(BallotItem.rank), UNRANKED)
    count, ballot_text, item_text, rank_text = connection.execute(
        sa.select(
            func.count(),
            _joined(col(BallotItem.ballot_id)),
            _joined(col(BallotItem.item_id), ITEM_SEPARATOR),
            _joined(rank),
        ).where(in_range)
    ).one()
    items = item_text.split(ITEM_SEPARATOR) if count else []
    if len(items) == count:
        ballot_ids, ranks = _numbers(ballot_text, count), _numbers(rank_text, count)
    else:  # an item id holding the separator: row by row
        rows = connection.execute(
            sa.select(col(BallotItem.ballot_id), col(BallotItem.item_id), rank).where(in_range)
        ).all()
        count = len(rows)
        ballot_ids = np.fromiter((row[0] for row in rows), dtype=np.int64, count=count)
        items = [row[1] for row in rows]
        ranks = np.fromiter((row[2] for row in rows), dtype=np.int64, count=count)
    return (
        ballot_ids,
        np.fromiter(map(code.get, items, repeat(len(code), count)), np.int64, count=count),
        ranks,
    )


#: Ranks as packed on PostgreSQL: a byte, 0 to 254, NO_RANK for none.
RANK_BITS = 8
NO_RANK = (1 << RANK_BITS) - 1


def _packed_approvals(
    connection: sa.Connection, in_range: Any, code: dict[str, int]
) -> tuple[Ints, Ints, Ints] | None:
    """Read the approvals on PostgreSQL as one column of numbers, or return None.

    Each approval is one number: the ballot id, the item's slot and its rank side by side
    in bits. An item's slot is the low bits of its id's `hashtext`, as few bits as give
    every catalogue item a slot of its own (approvals name catalogue items: a foreign
    key). None when no such number of bits is small, or a rank does not fit in its byte:
    the caller reads the columns as text then.
    """
    rows = connection.execute(
        sa.select(col(CatalogItem.id), func.hashtext(col(CatalogItem.id)))
    ).all()
    bits = _slot_bits(tuple(sorted(h for _, h in rows)))
    if bits is None:
        return None
    mask = (1 << bits) - 1
    slot_code = np.full(mask + 1, len(code), dtype=np.int64)
    for item_id, hashed in rows:
        slot_code[hashed & mask] = code.get(item_id, len(code))
    rank = col(BallotItem.rank)

    def number(value: int) -> Any:  # a shift's count must be an integer, not a bigint
        return sa.literal(value, sa.Integer)

    slot = func.hashtext(col(BallotItem.item_id)).op("&")(number(mask))
    packed = (
        sa.cast(col(BallotItem.ballot_id), sa.BigInteger)
        .op("<<")(number(bits + RANK_BITS))
        .op("|")(slot.op("<<")(number(RANK_BITS)))
        .op("|")(func.coalesce(rank, NO_RANK))
    )
    count, lowest, highest, text = connection.execute(
        sa.select(func.count(), func.min(rank), func.max(rank), _joined(packed)).where(in_range)
    ).one()
    if lowest is not None and (lowest < 0 or highest >= NO_RANK):
        return None
    numbers = _numbers(text, count)
    ranks = numbers & NO_RANK
    return (
        numbers >> (bits + RANK_BITS),
        slot_code[(numbers >> RANK_BITS) & mask],
        np.where(ranks == NO_RANK, UNRANKED, ranks),
    )


@functools.lru_cache(maxsize=8)
def _slot_bits(hashes: tuple[int, ...]) -> int | None:
    """Return the fewest low bits (at most 16) that tell these hashes apart."""
    for bits in range(max(len(hashes) - 1, 1).bit_length(), 17):
        if len({h & ((1 << bits) - 1) for h in hashes}) == len(hashes):
            return bits
    return None
