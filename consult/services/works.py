"""Works in progress: each plan item's status and percentage, its dated notes and photos.

An item is part of the works when it is included in a plan that has been
published. Its status and percentage follow its latest-dated progress note.
Photos are re-encoded here: scaled, turned upright, stripped of every metadata
(location above all), stored as JPEG with a small variant for residents' phones.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from consult.models import (
    PHASES,
    Account,
    Building,
    Compound,
    District,
    Phase,
    Plan,
    PlanItem,
    ProgressNote,
    ProgressPhoto,
    Unit,
    WorkStatus,
)
from consult.models._base import row_id, utcnow
from consult.services.phases import current_phase
from consult.services.photos import Photo, demo_photo

#: Phases in which progress notes are taken (evaluation too: late finishing is recorded).
NOTE_PHASES = (Phase.WORKS, Phase.EVALUATION)
#: Photos a note may carry.
PHOTOS_PER_NOTE = 3
#: What a note's text may hold.
TEXT_MAX = 1000
#: Statuses no longer late: finished, or given up.
CLOSED = (WorkStatus.DONE, WorkStatus.DROPPED)


class WorksError(ValueError):
    """A note or photo refused; `reason` says why (see the facilitators' page)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class PhotoInfo:
    """What a page needs to show a photo (the bytes stay in the database)."""

    id: int
    note_id: int
    width: int
    height: int


@dataclass(frozen=True)
class LateItem:
    """A plan item behind its schedule, for the planners' list."""

    compound_code: str
    compound_name: str
    district_name: str
    item_id: int
    title: str
    status: WorkStatus
    percent: int
    starts_on: date | None
    ends_on: date | None
    #: "late" (planned end passed) or "stuck" (planned start passed, not started).
    kind: str
    days: int


def has_begun(compound: Compound) -> bool:
    """Whether the compound has reached the works phase (or gone past it)."""
    return PHASES.index(current_phase(compound)) >= PHASES.index(Phase.WORKS)


def takes_notes(compound: Compound) -> bool:
    """Whether progress notes may be added in the compound's phase."""
    return current_phase(compound) in NOTE_PHASES


def _works_query(compound: Compound) -> SelectOfScalar[PlanItem]:
    return (
        select(PlanItem)
        .join(Plan, col(Plan.id) == PlanItem.plan_id)
        .where(Plan.compound_id == compound.id, Plan.version >= 1, col(PlanItem.included))
    )


def works_items(session: Session, compound: Compound) -> list[PlanItem]:
    """Return the items of the compound's published plan that are carried out, in plan order."""
    query = _works_query(compound).order_by(col(PlanItem.position), col(PlanItem.id))
    return list(session.exec(query).all())


def work_item(session: Session, compound: Compound, plan_item_id: int) -> PlanItem | None:
    """Return one item of the compound's works, None if it is not one."""
    query = _works_query(compound).where(PlanItem.id == plan_item_id)
    return session.exec(query).first()


def is_late(item: PlanItem, today: date) -> bool:
    """Whether the item is past its planned end and neither done nor dropped."""
    return item.ends_on is not None and item.ends_on < today and item.status not in CLOSED


def scope_labels(session: Session, items: Iterable[PlanItem]) -> dict[int, tuple[str, str]]:
    """Return (building number, unit number or "") for items of a building or a unit."""
    wanted = [item for item in items if item.building_id is not None]
    if not wanted:
        return {}
    buildings = {
        b.id: b.number
        for b in session.exec(
            select(Building).where(col(Building.id).in_({i.building_id for i in wanted}))
        )
    }
    unit_ids = {i.unit_id for i in wanted if i.unit_id is not None}
    units = (
        {u.id: u.number for u in session.exec(select(Unit).where(col(Unit.id).in_(unit_ids)))}
        if unit_ids
        else {}
    )
    return {
        row_id(item.id): (
            buildings.get(item.building_id, ""),
            units.get(item.unit_id, "") if item.unit_id is not None else "",
        )
        for item in wanted
    }


def notes_of(session: Session, items: Sequence[PlanItem]) -> dict[int, list[ProgressNote]]:
    """Return each item's notes, newest first (by date, then as written)."""
    notes: dict[int, list[ProgressNote]] = {row_id(item.id): [] for item in items}
    if not notes:
        return notes
    query = (
        select(ProgressNote)
        .where(col(ProgressNote.plan_item_id).in_(notes))
        .order_by(col(ProgressNote.noted_on).desc(), col(ProgressNote.id).desc())
    )
    for note in session.exec(query):
        notes[note.plan_item_id].append(note)
    return notes


def photos_of(session: Session, note_ids: Iterable[int]) -> dict[int, list[PhotoInfo]]:
    """Return each note's photos (ids and sizes only, never the bytes), in upload order."""
    ids = set(note_ids)
    photos: dict[int, list[PhotoInfo]] = {}
    if not ids:
        return photos
    query = (
        select(ProgressPhoto.id, ProgressPhoto.note_id, ProgressPhoto.width, ProgressPhoto.height)
        .where(col(ProgressPhoto.note_id).in_(ids))
        .order_by(col(ProgressPhoto.id))
    )
    for photo_id, note_id, width, height in session.exec(query):
        photos.setdefault(note_id, []).append(PhotoInfo(row_id(photo_id), note_id, width, height))
    return photos


def photo_of(session: Session, compound: Compound, photo_id: int) -> ProgressPhoto | None:
    """Return a photo of the compound's works, None if there is none (or it is another's)."""
    query = (
        select(ProgressPhoto)
        .join(ProgressNote, col(ProgressNote.id) == ProgressPhoto.note_id)
        .join(PlanItem, col(PlanItem.id) == ProgressNote.plan_item_id)
        .join(Plan, col(Plan.id) == PlanItem.plan_id)
        .where(ProgressPhoto.id == photo_id, Plan.compound_id == compound.id)
    )
    return session.exec(query).first()


def note_by_key(session: Session, submission_key: str) -> ProgressNote | None:
    """Return the note a form already sent, if it was sent."""
    query = select(ProgressNote).where(ProgressNote.submission_key == submission_key)
    return session.exec(query).first()


def check_note(*, noted_on: date, status: WorkStatus, percent: int, text: str, today: date) -> int:
    """Return the percentage the note stands for; raise WorksError when it breaks a rule.

    Not started is 0 %, done is 100 %; a date in the future, a percentage out of
    0-100 and a dropped item without a reason are refused.
    """
    if noted_on > today:
        raise WorksError("future_date")
    if not 0 <= percent <= 100:
        raise WorksError("bad_percent")
    if status == WorkStatus.DROPPED and not text.strip():
        raise WorksError("drop_needs_text")
    if len(text) > TEXT_MAX:
        raise WorksError("text_too_long")
    if status == WorkStatus.DONE:
        return 100
    return 0 if status == WorkStatus.NOT_STARTED else percent


def add_note(
    session: Session,
    item: PlanItem,
    account: Account | None,
    *,
    noted_on: date,
    status: WorkStatus,
    percent: int,
    text: str,
    photos: Sequence[Photo] = (),
    today: date,
    submission_key: str | None = None,
) -> ProgressNote:
    """Add a dated note (and its photos) to an item and bring the item up to date; flush.

    Raises WorksError as check_note does, or "too_many_photos".
    """
    percent = check_note(noted_on=noted_on, status=status, percent=percent, text=text, today=today)
    if len(photos) > PHOTOS_PER_NOTE:
        raise WorksError("too_many_photos")
    # Two notes on one item at once: the second waits, then sees the first.
    session.exec(select(PlanItem).where(PlanItem.id == item.id).with_for_update()).one()
    note = ProgressNote(
        plan_item_id=row_id(item.id),
        noted_on=noted_on,
        text=text.strip(),
        status=status,
        percent=percent,
        created_by=account.id if account else None,
        submission_key=submission_key,
    )
    session.add(note)
    session.flush()
    for photo in photos:
        session.add(
            ProgressPhoto(
                note_id=row_id(note.id),
                data=photo.data,
                width=photo.width,
                height=photo.height,
                thumb=photo.thumb,
            )
        )
    follow_latest(session, item)
    return note


def follow_latest(session: Session, item: PlanItem) -> None:
    """Set the item's status, percentage and day done from its latest-dated note; flush."""
    notes = notes_of(session, [item])[row_id(item.id)]
    if notes:
        latest = notes[0]
        item.status, item.percent = WorkStatus(latest.status), latest.percent
        done_on = None
        for note in notes:  # newest first: the first day of the last run of "done"
            if note.status != WorkStatus.DONE:
                break
            done_on = note.noted_on
        item.done_on = done_on
    else:
        item.status, item.percent, item.done_on = WorkStatus.NOT_STARTED, 0, None
    item.updated_at = utcnow()
    session.add(item)
    session.flush()


def late_items(
    session: Session, today: date, district_ids: Iterable[int] | None = None
) -> list[LateItem]:
    """Return the works behind schedule in the city (or the districts), most days late first.

    Late: the planned end has passed and the item is neither done nor dropped.
    Stuck: the planned start has passed and it has not started. Only compounds
    whose works have begun count (the ones still deciding have no schedule yet).
    """
    begun = [str(p) for p in PHASES[PHASES.index(Phase.WORKS) :]]
    query = (
        select(PlanItem, Compound.code, Compound.name, District.name)
        .join(Plan, col(Plan.id) == PlanItem.plan_id)
        .join(Compound, col(Compound.id) == Plan.compound_id)
        .join(District, col(District.id) == Compound.district_id)
        .where(
            Plan.version >= 1,
            col(PlanItem.included),
            col(Compound.phase).in_(begun),
            col(PlanItem.status).not_in([str(s) for s in CLOSED]),
            (col(PlanItem.ends_on) < today)
            | ((col(PlanItem.starts_on) < today) & (PlanItem.status == WorkStatus.NOT_STARTED)),
        )
    )
    if district_ids is not None:
        query = query.where(col(Compound.district_id).in_(set(district_ids)))
    rows = []
    for item, code, name, district in session.exec(query):
        late = item.ends_on is not None and item.ends_on < today
        since = item.ends_on if late else item.starts_on
        assert since is not None
        rows.append(
            LateItem(
                code,
                name,
                district,
                row_id(item.id),
                item.title,
                WorkStatus(item.status),
                item.percent,
                item.starts_on,
                item.ends_on,
                "late" if late else "stuck",
                (today - since).days,
            )
        )
    rows.sort(key=lambda row: (-row.days, row.district_name, row.compound_code, row.item_id))
    return rows


def count_notes(session: Session, compound: Compound) -> int:
    """Return how many progress notes the compound's works have."""
    query = (
        select(func.count())
        .select_from(ProgressNote)
        .join(PlanItem, col(PlanItem.id) == ProgressNote.plan_item_id)
        .join(Plan, col(Plan.id) == PlanItem.plan_id)
        .where(Plan.compound_id == compound.id)
    )
    return int(session.exec(query).one())


def demo_works(session: Session, compound: Compound, account: Account | None, today: date) -> None:
    """Record realistic progress on the compound's works over the past weeks; flush.

    Assumes a published plan with included items. The first items are done, one
    is under way (with photos), one is late (its planned end moved into the past),
    the rest have not started.
    """
    items = works_items(session, compound)
    for index, item in enumerate(items):
        kind = ("done", "done", "progress", "late")[index] if index < 4 else "waiting"
        if kind == "waiting":
            continue
        item.starts_on = today - timedelta(days=40 - 5 * index)
        item.ends_on = (
            today + timedelta(days=20)
            if kind == "progress"
            else today - timedelta(days=6 + 4 * index)
        )
        session.add(item)
        session.flush()
        started = item.starts_on
        add_note(
            session,
            item,
            account,
            noted_on=started,
            status=WorkStatus.IN_PROGRESS,
            percent=10,
            text="施工队进场，围挡已搭好，请居民注意安全。",
            today=today,
        )
        if kind == "done":
            add_note(
                session,
                item,
                account,
                noted_on=started + timedelta(days=12 + 2 * index),
                status=WorkStatus.DONE,
                percent=100,
                text="已完工，经居民代表和监理验收合格。",
                today=today,
            )
        elif kind == "progress":
            add_note(
                session,
                item,
                account,
                noted_on=today - timedelta(days=3),
                status=WorkStatus.IN_PROGRESS,
                percent=60,
                text="主体完成约六成，下周进行防水层施工，雨天顺延。",
                photos=[demo_photo(0), demo_photo(1)],
                today=today,
            )
        else:
            add_note(
                session,
                item,
                account,
                noted_on=today - timedelta(days=8),
                status=WorkStatus.IN_PROGRESS,
                percent=45,
                text="材料到货延迟，工期顺延，预计两周内完成。",
                today=today,
            )
