"""The synthetic city of one real yearly programme: 466 compounds, 49,011 households.

Everything is drawn from one `random.Random(seed)`, so a seed gives the same city
(dates are counted from `today`). Rows go in by bulk INSERTs, not ORM objects: the
whole city takes seconds, not minutes. Flushes, never commits.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnDefault, Table, insert, text
from sqlmodel import Session, SQLModel, select

from consult.catalog import CatalogEntry, load_catalog
from consult.models import (
    ActionItem,
    ActionStatus,
    AgendaItem,
    Attendance,
    Ballot,
    BallotItem,
    Building,
    Channel,
    Compound,
    District,
    Household,
    Meeting,
    MeetingStatus,
    Party,
    Survey,
    SurveyItem,
    SurveyMode,
    SurveyPhase,
    SurveyStatus,
    Tenure,
    Unit,
)
from consult.services.ballots import ALPHABET, RECEIPT_LENGTH
from consult.services.places import household_label
from consult.services.seed import CITY, DISTRICTS, is_empty, seed_catalog
from consult.services.surveys import local_today

COMPOUNDS = 466
HOUSEHOLDS = 49_011
#: Share of the compounds per district (kuiwen, weicheng, fangzi, hanting).
DISTRICT_SHARES = (35, 27, 19, 19)
#: Compounds of 700+ households, and of one small building, drawn first.
GIANTS, SMALLS = 3, 8
MIN_SIZE, MAX_SIZE = 24, 640
CATEGORY_WEIGHT = {"basic": 3.0, "improvement": 1.6, "enhancement": 1.0}
CHILD_ITEMS = frozenset({"child_friendly_facilities", "kindergarten", "childcare"})
ELEVATOR = "elevator_retrofit"
QR_INVITE_PAPER = (Channel.QR, Channel.INVITE, Channel.PAPER)
QR_PAPER = (Channel.QR, Channel.PAPER)
OWNERS = (Party.RESIDENTS_COMMITTEE, Party.PROPERTY_COMPANY, Party.VOLUNTEERS)

#: Two-character place words; compound names are a word and a suffix.
NAMES = (
    "东风和平胜利健康新华北海虞河白浪鸢飞四平福寿向阳文化民生友谊樱园金宝玉清清平芙蓉"
    "广文月河南苑北宫东关西关潍州仓街十笏松园柳园桃园光明幸福团结阳光福华青年工农康乐"
)
SUFFIXES = "小区花园新村家园宿舍社区公寓东区西区南区北苑山庄"
# fmt: off
PLACES = ("小区议事亭", "社区党群服务中心", "1号楼前空地", "小区广场", "居委会会议室")
FREE_TOPICS = ("小区养宠物怎么管", "楼道漏水谁来修", "破损道路何时修", "如何让更多居民参与",
               "电动车楼道充电隐患", "停车位怎么分")
ACTIONS = ("张贴改造方案公示", "统计各楼栋加装电梯意愿", "组织志愿者清理楼道杂物", "联系物业维修路灯",
           "制定文明养宠公约", "上门听取未答户意见", "核实屋面渗漏点位")
COMMENTS = ("楼道灯经常不亮，希望尽快修。", "雨天院里积水严重。", "希望加装电梯，老人上下楼太难。",
            "停车太难，晚上车停满了消防通道。", "暖气不热，管道老化。",
            "希望多装几个充电桩，别在楼道充电。")
# fmt: on


class CityExists(Exception):
    """The database already has compounds: the city goes only into an empty one."""


@dataclass(frozen=True)
class CityFigures:
    """What seed_city created."""

    districts: int
    compounds: int
    buildings: int
    units: int
    households: int
    ballots: int
    ballot_items: int
    meetings: int
    action_items: int


Rows = list[dict[str, Any]]


def _insert(session: Session, model: type[SQLModel], rows: Rows, *, ids: bool = True) -> list[int]:
    """Insert the rows in bulk; return their ids in the rows' order (or [] if not `ids`).

    SQLite: one Core executemany (RETURNING). PostgreSQL (psycopg): ids drawn from the
    table's sequence, rows by COPY; multi-row INSERTs this big spend most of their time
    in the driver parsing the statement (20 s instead of 4 s for the city).
    """
    table: Table = model.__table__  # type: ignore[attr-defined]
    if not rows:
        return []
    dialect = session.get_bind().dialect
    if (dialect.name, dialect.driver) != ("postgresql", "psycopg"):
        if not ids:
            session.execute(insert(table), rows)
            return []
        statement = insert(table).returning(table.c.id, sort_by_parameter_order=True)
        return [int(i) for i in session.execute(statement, rows).scalars()]
    new_ids: list[int] = []
    if ids:
        draw = "SELECT nextval(pg_get_serial_sequence(:t, 'id')) FROM generate_series(1, :n)"
        new_ids = sorted(session.scalars(text(draw), {"t": table.name, "n": len(rows)}))
    defaults = {
        c.name: c.default.arg
        for c in table.columns
        if c.name not in rows[0] and isinstance(c.default, ColumnDefault) and c.default.is_scalar
    }
    columns = [*rows[0], *defaults] + (["id"] if ids else [])
    fixed = [str(v) if isinstance(v, StrEnum) else v for v in defaults.values()]
    names = ", ".join(f'"{c}"' for c in columns)
    driver: Any = session.connection().connection.driver_connection
    with (
        driver.cursor() as cursor,
        cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy,
    ):
        for k, row in enumerate(rows):
            values = [str(v) if isinstance(v, StrEnum) else v for v in row.values()]
            copy.write_row([*values, *fixed, *([new_ids[k]] if ids else [])])
    return new_ids


def _compound_sizes(rng: random.Random) -> list[int]:
    """Return COMPOUNDS sizes adding up to HOUSEHOLDS: a few giants, a few one-building."""
    giants = [rng.randint(700, 780) for _ in range(GIANTS)]
    smalls = [rng.randint(12, 30) for _ in range(SMALLS)]
    n = COMPOUNDS - GIANTS - SMALLS
    total = HOUSEHOLDS - sum(giants) - sum(smalls)
    raw = [rng.lognormvariate(0.0, 0.75) for _ in range(n)]
    scale = total / sum(raw)
    sizes = [min(MAX_SIZE, max(MIN_SIZE, round(r * scale))) for r in raw]
    diff = total - sum(sizes)
    while diff:
        i, step = rng.randrange(n), 1 if diff > 0 else -1
        if MIN_SIZE <= sizes[i] + step <= MAX_SIZE:
            sizes[i] += step
            diff -= step
    everything = giants + smalls + sizes
    rng.shuffle(everything)
    return everything


def _layout(rng: random.Random, size: int) -> list[list[list[tuple[int, int]]]]:
    """Return buildings -> units -> (floor, door) of exactly `size` households.

    Mostly 6-storey walk-ups, 2 doors a floor; some 4, 5 and 7 floors. The rooms
    left over are taken from ground floors (shops, entrances), spread over units.
    """
    buildings: list[list[int]] = []  # the floors of each unit
    capacity = 0
    while capacity < size:
        floors = rng.choices((6, 5, 7, 4), weights=(76, 10, 8, 6))[0]
        if size <= 60 and not buildings:
            units = math.ceil(size / (2 * floors))
        else:
            units = rng.choices((1, 2, 3, 4, 5, 6), weights=(5, 15, 35, 25, 12, 8))[0]
        buildings.append([floors] * units)
        capacity += 2 * floors * units
    last = buildings[-1]
    while len(last) > 1 and capacity - 2 * last[-1] >= size:
        capacity -= 2 * last.pop()
    rooms = [
        [[(f, d) for f in range(1, floors + 1) for d in (1, 2)] for floors in units]
        for units in buildings
    ]
    flat = [unit for building in rooms for unit in building]
    start = rng.randrange(len(flat))
    for k in range(capacity - size):
        flat[(start + k) % len(flat)].pop(0)
    return rooms


def _cumulative(
    catalog: Sequence[CatalogEntry], taste: list[float], floor: int, elderly: bool, children: bool
) -> list[float]:
    """Return the cumulative weights of the items for one kind of household."""
    total, out = 0.0, []
    for entry, local in zip(catalog, taste, strict=True):
        w = CATEGORY_WEIGHT[entry.category] * local
        if entry.elderly_children and elderly:
            w *= 2.2
        if entry.id in CHILD_ITEMS and children:
            w *= 2.0
        if entry.id == ELEVATOR:
            w *= 0.2 if floor <= 2 else 0.7 if floor == 3 else 2.0 + 0.6 * (floor - 4)
        total += w
        out.append(total)
    return out


def _code(rng: random.Random, length: int, taken: set[str]) -> str:
    """Return a code from ALPHABET not in `taken` (and take it)."""
    while (code := "".join(rng.choices(ALPHABET, k=length))) in taken:
        pass
    taken.add(code)
    return code


def seed_city(session: Session, *, seed: int = 2026, today: date | None = None) -> CityFigures:
    """Create the synthetic city in an empty database; flush, do not commit.

    Raises CityExists when any compound exists. Dates are counted back from `today`
    (default: the local date); everything else depends on `seed` only.
    """
    if not is_empty(session):
        raise CityExists("the database already has compounds; seed the city into an empty one")
    rng = random.Random(seed)
    today = today or local_today()
    seed_catalog(session)
    have = set(session.exec(select(District.code)).all())
    _insert(
        session,
        District,
        [{"code": c, "name": n, "city": CITY} for c, n in DISTRICTS if c not in have],
        ids=False,
    )
    districts = dict(session.exec(select(District.code, District.id)).all())
    city = _places(session, rng, districts)
    ballots, items = _ballots(session, rng, today, seed, city)
    meetings, actions = _meetings(session, rng, today, city)
    session.flush()
    return CityFigures(
        districts=len(DISTRICTS),
        compounds=len(city.compound_ids),
        buildings=city.buildings,
        units=city.units,
        households=len(city.household_ids),
        ballots=ballots,
        ballot_items=items,
        meetings=meetings,
        action_items=actions,
    )


@dataclass
class _City:
    """The places drawn and stored, as the later steps need them."""

    compound_ids: list[int]
    household_ids: list[int]
    #: floor and register's elderly flag of each household, by index.
    households: list[tuple[int, bool]]
    #: household indexes of each compound, by compound index.
    members: list[list[int]]
    buildings: int
    units: int


def _places(session: Session, rng: random.Random, districts: dict[str, int | None]) -> _City:
    """Store the compounds, buildings, units and households."""
    sizes = _compound_sizes(rng)
    words = range(0, len(NAMES), 2)
    names = [
        NAMES[i : i + 2] + SUFFIXES[j : j + 2] for i in words for j in range(0, len(SUFFIXES), 2)
    ]
    names = rng.sample(names, COMPOUNDS)
    numbered: Counter[str] = Counter()
    compound_rows: Rows = []
    for name in names:
        district, district_name = rng.choices(DISTRICTS, weights=DISTRICT_SHARES)[0]
        numbered[district] += 1
        compound_rows.append(
            {
                "code": f"{district}-{numbered[district]:03d}",
                "name": name,
                "district_id": districts[district],
                "address": f"{CITY}{district_name}{name[:2]}路{rng.randint(1, 399)}号",
            }
        )
    compound_ids = _insert(session, Compound, compound_rows)
    layouts = [_layout(rng, size) for size in sizes]
    building_rows = [
        {"compound_id": cid, "number": str(b), "position": b}
        for cid, layout in zip(compound_ids, layouts, strict=True)
        for b in range(1, len(layout) + 1)
    ]
    building_ids = iter(_insert(session, Building, building_rows))
    unit_rows = [
        {"building_id": bid, "number": str(u), "position": u}
        for layout in layouts
        for building, bid in zip(layout, building_ids, strict=False)
        for u in range(1, len(building) + 1)
    ]
    unit_ids = iter(_insert(session, Unit, unit_rows))
    rows: Rows = []
    members: list[list[int]] = []
    for cid, layout in zip(compound_ids, layouts, strict=True):
        members.append([])
        for b, building in enumerate(layout, start=1):
            area = rng.choice((52, 58, 63, 68, 75, 86, 92))
            for (u, unit), uid in zip(enumerate(building, start=1), unit_ids, strict=False):
                for floor, door in unit:
                    members[-1].append(len(rows))
                    room = f"{floor}{door:02d}"
                    rows.append(
                        {
                            "compound_id": cid,
                            "unit_id": uid,
                            "room": room,
                            "floor": floor,
                            "label": household_label(str(b), str(u), room),
                            "area": float(area + 4 * (door - 1)),
                            "elderly": rng.random() < 0.35,  # the committee's register (60+)
                        }
                    )
    household_ids = _insert(session, Household, rows)
    households = [(int(r["floor"]), bool(r["elderly"])) for r in rows]
    return _City(
        compound_ids, household_ids, households, members, len(building_rows), len(unit_rows)
    )


def _ballots(
    session: Session, rng: random.Random, today: date, seed: int, city: _City
) -> tuple[int, int]:
    """Open a needs survey per compound (the whole catalogue); answer it in ~80 % of homes."""
    catalog = load_catalog()
    invites = [rng.random() < 0.3 for _ in city.compound_ids]  # household codes handed out
    survey = {"phase": SurveyPhase.NEEDS, "status": SurveyStatus.OPEN, "rank_depth": 3}
    opens = today - timedelta(days=28)
    survey_ids = _insert(
        session,
        Survey,
        [
            {
                "compound_id": cid,
                **survey,
                "opens_on": opens,
                "closes_on": today + timedelta(days=30),
                "mode": SurveyMode.BOTH if invite else SurveyMode.OPEN,
            }
            for cid, invite in zip(city.compound_ids, invites, strict=True)
        ],
    )
    offered = [
        {"survey_id": sid, "item_id": e.id, "position": e.position}
        for sid in survey_ids
        for e in catalog
    ]
    _insert(session, SurveyItem, offered, ids=False)

    opened = datetime.combine(opens, time(0), tzinfo=UTC)
    receipts: set[str] = set()
    rows: Rows = []
    choices: list[list[tuple[str, int | None]]] = []
    for sid, members, invite in zip(survey_ids, city.members, invites, strict=True):
        taste = [rng.lognormvariate(0.0, 0.35) for _ in catalog]  # the compound's own needs
        profiles: dict[tuple[int, bool, bool], list[float]] = {}
        answering = sorted(rng.sample(members, round(rng.uniform(0.68, 0.92) * len(members))))
        for h in answering:
            floor, registered = city.households[h]
            elderly = registered or rng.random() < 0.05
            key = (floor, elderly, rng.random() < 0.25)
            if key not in profiles:
                profiles[key] = _cumulative(catalog, taste, *key)
            wanted = min(14, max(1, round(rng.gauss(6.2, 2.2))))
            picked: list[str] = []
            while len(picked) < wanted:
                for i in rng.choices(range(len(catalog)), cum_weights=profiles[key], k=wanted):
                    if catalog[i].id not in picked and len(picked) < wanted:
                        picked.append(catalog[i].id)
            ranked = rng.choices((3, 2, 1, 0), weights=(82, 9, 5, 4))[0]
            choices.append([(item, r if r <= ranked else None) for r, item in enumerate(picked, 1)])
            paper = 0.2 if elderly else 0.07
            kinds, weights = (
                (QR_INVITE_PAPER, (0.65, 0.3, paper)) if invite else (QR_PAPER, (0.9, paper))
            )
            channel = rng.choices(kinds, weights)[0]
            rows.append(
                {
                    "survey_id": sid,
                    "household_id": city.household_ids[h],
                    "submission_key": f"city-{seed}-{city.household_ids[h]}",
                    "receipt": _code(rng, RECEIPT_LENGTH, receipts),
                    "channel": channel,
                    "verified": channel != Channel.QR,  # a household code or a facilitator
                    "is_current": True,
                    "created_at": opened + timedelta(seconds=rng.randrange(27 * 86_400)),
                    "elderly": elderly,
                    "children": key[2],
                    "mobility": elderly and rng.random() < 0.3,
                    "tenure": Tenure.TENANT if rng.random() < 0.15 else Tenure.OWNER,
                    "comment": rng.choice(COMMENTS) if rng.random() < 0.12 else "",
                }
            )
    ballot_ids = _insert(session, Ballot, rows)
    items = [
        {"ballot_id": bid, "item_id": item, "rank": rank}
        for bid, chosen in zip(ballot_ids, choices, strict=True)
        for item, rank in chosen
    ]
    _insert(session, BallotItem, items, ids=False)
    return len(ballot_ids), len(items)


def _meetings(session: Session, rng: random.Random, today: date, city: _City) -> tuple[int, int]:
    """Hold a closed or published small-stool meeting in one compound in four."""
    catalog = [e for e in load_catalog() if e.category != "enhancement"]
    codes: set[str] = set()
    held = sorted(rng.sample(range(len(city.compound_ids)), round(len(city.compound_ids) / 4)))
    meetings: Rows = []
    agendas: list[Rows] = []
    people: Rows = []
    todo: list[list[tuple[str, Party, date, ActionStatus]]] = []
    for c in held:
        day = today - timedelta(days=rng.randint(3, 25))
        starts = datetime.combine(day, time(11, 0), tzinfo=UTC)  # 19:00 in Weifang
        parties = [Party.PARTY_ORGANISATION, Party.RESIDENTS_COMMITTEE, Party.PROPERTY_COMPANY]
        parties += [Party.OWNERS_COMMITTEE] * rng.randint(0, 1)
        parties += [Party.RESIDENTS] * rng.randint(6, 18) + [Party.VOLUNTEERS] * rng.randint(0, 2)
        count = min(len(city.members[c]), parties.count(Party.RESIDENTS))
        residents = rng.sample(city.members[c], count)
        people += [
            {
                "meeting": len(meetings),
                "household_id": city.household_ids[residents.pop()]
                if party == Party.RESIDENTS and residents
                else None,
                "party": party,
                "at": starts,
            }
            for party in parties
        ]
        topics: list[CatalogEntry | str] = rng.sample(FREE_TOPICS, 1) if rng.random() < 0.5 else []
        subjects = [*rng.sample(catalog, rng.randint(2, 4) - len(topics)), *topics]
        names = [s.name_zh if isinstance(s, CatalogEntry) else s for s in subjects]
        agendas.append([])
        for position, (subject, name) in enumerate(zip(subjects, names, strict=True), start=1):
            voters = len(parties) - rng.randint(0, 3)  # hands counted, never more than people
            hands_for = round(voters * rng.uniform(0.45, 0.95))
            against = rng.randint(0, voters - hands_for)
            agendas[-1].append(
                {
                    "position": position,
                    "item_id": subject.id if isinstance(subject, CatalogEntry) else None,
                    "topic": "" if isinstance(subject, CatalogEntry) else subject,
                    "hands_for": hands_for,
                    "hands_against": against,
                    "hands_abstain": voters - hands_for - against,
                    "decision": f"同意：{name}"
                    if hands_for > voters / 2
                    else f"暂缓：{name}，继续听取意见",
                }
            )
        todo.append(
            [
                (
                    rng.choice(ACTIONS),
                    rng.choice(OWNERS),
                    day + timedelta(days=rng.randint(7, 60)),
                    rng.choice(tuple(ActionStatus)),
                )
                for _ in range(rng.randint(1, 3))
            ]
        )
        published = rng.random() < 0.6
        meetings.append(
            {
                "compound_id": city.compound_ids[c],
                "code": _code(rng, 6, codes),
                "title": ("小马扎议事会：" + "、".join(names))[:120],
                "starts_at": starts,
                "place": rng.choice(PLACES),
                "invited": " ".join(sorted({str(p) for p in parties})),
                "status": MeetingStatus.PUBLISHED if published else MeetingStatus.CLOSED,
                "published_at": starts + timedelta(days=rng.randint(1, 2)) if published else None,
            }
        )
    meeting_ids = _insert(session, Meeting, meetings)
    rows = [
        {"meeting_id": m, **a}
        for m, agenda in zip(meeting_ids, agendas, strict=True)
        for a in agenda
    ]
    agenda_ids = iter(_insert(session, AgendaItem, rows))
    for person in people:
        person["meeting_id"] = meeting_ids[person.pop("meeting")]
    _insert(session, Attendance, people, ids=False)
    actions: Rows = []
    for m, agenda, plan in zip(meeting_ids, agendas, todo, strict=True):
        points = [next(agenda_ids) for _ in agenda]
        actions += [
            {
                "meeting_id": m,
                "agenda_item_id": points[k % len(points)],
                "what": what,
                "owner": owner,
                "due_on": due,
                "status": status,
            }
            for k, (what, owner, due, status) in enumerate(plan)
        ]
    _insert(session, ActionItem, actions, ids=False)
    return len(meeting_ids), len(actions)
