"""The catalogue and the demo city (潍坊市): created once, on an empty database."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import Session, col, select

from consult.catalog import load_catalog
from consult.models import (
    Building,
    CatalogItem,
    Category,
    Channel,
    Compound,
    District,
    Household,
    Phase,
    Role,
    Survey,
    SurveyMode,
    SurveyPhase,
    SurveyStatus,
    Tenure,
    Unit,
)
from consult.models._base import row_id
from consult.services.accounts import create_account
from consult.services.ballots import Answers, submit_ballot
from consult.services.phases import set_dates
from consult.services.places import household_label
from consult.services.publications import default_comments_until, publish
from consult.services.seed_cycle import advance
from consult.services.surveys import local_today, offer_whole_catalog

CITY = "潍坊市"
DISTRICTS = (
    ("kuiwen", "奎文区"),
    ("weicheng", "潍城区"),
    ("fangzi", "坊子区"),
    ("hanting", "寒亭区"),
)


@dataclass(frozen=True)
class DemoCompound:
    """The shape of one demo compound."""

    code: str
    name: str
    district: str
    address: str
    units_per_building: tuple[int, ...]
    floors: int
    per_floor: int
    ballots: int


DEMO_COMPOUNDS = (
    DemoCompound(
        "dongzhuang",
        "东庄小区",
        "kuiwen",
        "潍坊市奎文区东风东街",
        (3, 3, 3, 3, 3, 3, 3, 2),
        6,
        2,
        46,
    ),
    DemoCompound(
        "zhonghejie", "中和街小区", "weicheng", "潍坊市潍城区中和街", (3, 3, 3, 3, 3, 2), 6, 2, 31
    ),
    # Further along the cycle (see services/seed_cycle.py): in the works, and being evaluated.
    DemoCompound("huayuan", "花园小区", "fangzi", "潍坊市坊子区花园街", (2, 2, 2, 2, 2), 6, 2, 84),
    DemoCompound(
        "xingfuli", "幸福里小区", "hanting", "潍坊市寒亭区幸福街", (2, 2, 2, 2, 2), 6, 2, 90
    ),
)


#: Demo estimates of what an item costs one compound, in yuan, by category: (low, high).
DEMO_COSTS = {
    "basic": (200_000, 1_200_000),
    "improvement": (100_000, 800_000),
    "enhancement": (150_000, 600_000),
}
#: The demo budget of the first demo compound, in yuan.
DEMO_BUDGET = 3_000_000
DEMO_CONTACT = (
    "对结果有意见或建议，请在公示期内到东庄社区居委会（1号楼102室）反映，"
    "或拨打 0536-8123456（工作日 8:30–17:30）。"
)

#: Demo logins: (username, password, role, display name, compound codes). Demo only.
DEMO_ACCOUNTS = (
    ("admin", "admin-demo-2026", Role.ADMIN, "系统管理员", ()),
    ("wang", "wang-demo-2026", Role.FACILITATOR, "王主任（东庄社区）", ("dongzhuang",)),
    ("li", "li-demo-2026", Role.FACILITATOR, "李书记（中和街社区）", ("zhonghejie",)),
    (
        "zhao",
        "zhao-demo-2026",
        Role.FACILITATOR,
        "赵主任（花园、幸福里社区）",
        ("huayuan", "xingfuli"),
    ),
    ("zhou", "zhou-demo-2026", Role.PLANNER, "周工（市住建局）", ()),
)


def seed_catalog(session: Session) -> int:
    """Add the standard catalogue items that are missing; return how many were added."""
    have = set(session.exec(select(CatalogItem.id)).all())
    added = 0
    for entry in load_catalog():
        if entry.id in have:
            continue
        session.add(
            CatalogItem(
                id=entry.id,
                category=Category(entry.category),
                name_zh=entry.name_zh,
                name_en=entry.name_en,
                elderly_children=entry.elderly_children,
                accessibility=entry.accessibility,
                position=entry.position,
            )
        )
        added += 1
    session.flush()
    return added


def is_empty(session: Session) -> bool:
    """Return True when no compound exists yet."""
    return session.exec(select(Compound.id)).first() is None


def build_compound(session: Session, shape: DemoCompound, district: District) -> list[Household]:
    """Create a compound with its buildings, units and households."""
    compound = Compound(
        code=shape.code, name=shape.name, district_id=row_id(district.id), address=shape.address
    )
    session.add(compound)
    session.flush()
    households: list[Household] = []
    for b, unit_count in enumerate(shape.units_per_building, start=1):
        households += add_building(
            session,
            compound,
            str(b),
            units=unit_count,
            floors=shape.floors,
            per_floor=shape.per_floor,
        )
    return households


def add_building(
    session: Session, compound: Compound, number: str, *, units: int, floors: int, per_floor: int
) -> list[Household]:
    """Add a building of `units` units, `floors` floors and `per_floor` rooms a floor; flush."""
    position = int(number) if number.isascii() and number.isdecimal() else 10_000
    building = Building(compound_id=row_id(compound.id), number=number, position=position)
    session.add(building)
    session.flush()
    households: list[Household] = []
    for u in range(1, units + 1):
        unit = Unit(building_id=row_id(building.id), number=str(u), position=u)
        session.add(unit)
        session.flush()
        for floor in range(1, floors + 1):
            for door in range(1, per_floor + 1):
                room = f"{floor}{door:02d}"
                households.append(
                    Household(
                        compound_id=row_id(compound.id),
                        unit_id=row_id(unit.id),
                        room=room,
                        floor=floor,
                        label=household_label(number, str(u), room),
                        area=round(55 + 35 * ((position * 7 + u * 3 + door) % 5) / 4, 1),
                    )
                )
    session.add_all(households)
    session.flush()
    return households


def demo_answers(rng: random.Random, household: Household) -> Answers:
    """Draw a plausible order: basic items most, elevators by upper floors."""
    catalog = load_catalog()
    elderly = household.elderly or rng.random() < 0.05
    children = rng.random() < 0.3
    weights = []
    for entry in catalog:
        w = {"basic": 3.0, "improvement": 1.6, "enhancement": 1.0}[entry.category]
        if entry.elderly_children and elderly:
            w *= 2.5
        if "elevator" in entry.id:
            w *= 0.3 + household.floor / 2
        weights.append(w)
    picked: list[str] = []
    for _ in range(rng.randint(3, 9)):
        choice = rng.choices(catalog, weights=weights)[0].id
        if choice not in picked:
            picked.append(choice)
    comments = ["", "", "", "楼道灯经常不亮，希望尽快修。", "雨天院里积水严重。", "希望加装电梯。"]
    return Answers(
        approve=picked,
        priorities=picked[: min(3, len(picked))],
        elderly=elderly,
        children=children,
        mobility=elderly and rng.random() < 0.3,
        tenure=Tenure.TENANT if rng.random() < 0.15 else Tenure.OWNER,
        comment=rng.choice(comments),
    )


def seed_demo(session: Session, seed: int = 2026) -> None:
    """Create the demo city: districts, compounds at several points of the cycle, logins."""
    rng = random.Random(seed)
    seed_catalog(session)
    districts = {}
    for code, name in DISTRICTS:
        district = District(code=code, name=name, city=CITY)
        session.add(district)
        districts[code] = district
    session.flush()
    today = local_today()
    compounds: dict[str, Compound] = {}
    needs_surveys: dict[str, Survey] = {}
    for shape in DEMO_COMPOUNDS:
        households = build_compound(session, shape, districts[shape.district])
        for household in households:  # the committee's register of elderly residents
            household.elderly = rng.random() < 0.35
        session.add_all(households)
        compound = session.get(Compound, households[0].compound_id)
        assert compound is not None
        compounds[shape.code] = compound
        survey = Survey(
            compound_id=households[0].compound_id,
            phase=SurveyPhase.NEEDS,
            status=SurveyStatus.OPEN,
            opens_on=today - timedelta(days=10),
            closes_on=today + timedelta(days=30),
            # One demo compound by open link, the other by link or household code.
            mode=SurveyMode.BOTH if shape.code == "zhonghejie" else SurveyMode.OPEN,
        )
        session.add(survey)
        session.flush()
        needs_surveys[shape.code] = survey
        offer_whole_catalog(session, survey)
        for household in rng.sample(households, shape.ballots):
            submit_ballot(
                session,
                survey=survey,
                household=household,
                answers=demo_answers(rng, household),
                submission_key=str(uuid.UUID(int=rng.getrandbits(128))),
                channel=rng.choice([Channel.QR, Channel.QR, Channel.QR, Channel.PAPER]),
                verified=False,
            )
    for item in session.exec(
        select(CatalogItem).where(col(CatalogItem.compound_id).is_(None))
    ).all():
        low, high = DEMO_COSTS[str(item.category)]
        item.cost = rng.randrange(low, high + 1, 10_000)
        session.add(item)
    compounds["dongzhuang"].budget = DEMO_BUDGET
    session.add(compounds["dongzhuang"])
    accounts = {}
    for username, password, role, name, codes in DEMO_ACCOUNTS:
        accounts[username] = create_account(
            session,
            username=username,
            password=password,
            role=role,
            display_name=name,
            compounds=[compounds[code] for code in codes],
        )
    # The first demo compound has published its results (公示) once.
    dongzhuang = compounds["dongzhuang"]
    survey = needs_surveys["dongzhuang"]
    publish(
        session,
        dongzhuang,
        survey,
        accounts["wang"],
        contact=DEMO_CONTACT,
        comments_until=default_comments_until(today),
        today=today,
    )
    # The cycle ahead, with the dates residents can expect.
    for code in ("dongzhuang", "zhonghejie"):
        compound = compounds[code]
        planned = {
            Phase.NEEDS: (today - timedelta(days=10), today + timedelta(days=30)),
            Phase.PLAN: (today + timedelta(days=31), today + timedelta(days=60)),
            Phase.NOTICE: (today + timedelta(days=61), today + timedelta(days=68)),
            Phase.CONSENT: (today + timedelta(days=69), today + timedelta(days=90)),
            Phase.WORKS: (today + timedelta(days=120), today + timedelta(days=300)),
        }
        set_dates(session, compound, planned)
    # Two compounds further along: in the works, and being evaluated (services/seed_cycle.py).
    compounds["huayuan"].budget = 2_400_000
    compounds["xingfuli"].budget = 2_600_000
    for code in ("huayuan", "xingfuli"):
        advance(session, compounds[code], needs_surveys[code], accounts["zhao"], today)
