"""Export tables of the small-stool meetings: agenda points with their hands, action plans."""

from __future__ import annotations

from collections.abc import Collection, Iterator

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy import func
from sqlmodel import Session, col

from consult.labels import name_of
from consult.models import (
    ActionItem,
    ActionStatus,
    AgendaItem,
    Attendance,
    CatalogItem,
    Compound,
    Meeting,
)
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
from consult.services.surveys import local_time, local_today


def meetings_table(session: Session, ids: Collection[int]) -> Table:
    """Return the compounds' meetings, one row per agenda point with its hands and decision."""
    columns = [
        CODE,
        NAME,
        Column(_l("Meeting code"), width=10),
        Column(_l("Title"), width=30),
        Column(_l("Date"), "date", width=12),
        Column(_l("Status"), width=10),
        Column(_l("People present"), "number"),
        Column(_l("Topic"), width=24),
        Column(_l("For"), "number", width=7),
        Column(_l("Against"), "number", width=7),
        Column(_l("Abstain"), "number", width=7),
        Column(_l("Decision"), width=30),
    ]
    return Table("meetings", _l("Meetings"), columns, _meeting_rows(session, ids))


def _meeting_rows(session: Session, ids: Collection[int]) -> Iterator[Row]:
    present = dict(
        session.execute(
            sa.select(col(Attendance.meeting_id), func.count())
            .join(Meeting, col(Meeting.id) == Attendance.meeting_id)
            .where(in_scope(Meeting.compound_id, ids))
            .group_by(col(Attendance.meeting_id))
        ).all()
    )
    in_english = english()
    statement = (
        sa.select(
            col(Compound.code),
            col(Compound.name),
            col(Meeting.id),
            col(Meeting.code),
            col(Meeting.title),
            col(Meeting.starts_at),
            col(Meeting.status),
            col(AgendaItem.topic),
            col(CatalogItem.name_en if in_english else CatalogItem.name_zh),
            col(AgendaItem.hands_for),
            col(AgendaItem.hands_against),
            col(AgendaItem.hands_abstain),
            col(AgendaItem.decision),
        )
        .select_from(Meeting)
        .join(Compound, col(Compound.id) == Meeting.compound_id)
        .outerjoin(AgendaItem, col(AgendaItem.meeting_id) == Meeting.id)
        .outerjoin(CatalogItem, col(CatalogItem.id) == AgendaItem.item_id)
        .where(in_scope(Meeting.compound_id, ids))
        .order_by(
            col(Compound.code),
            col(Meeting.starts_at),
            col(Meeting.id),
            col(AgendaItem.position),
            col(AgendaItem.id),
        )
    )
    for code, name, mid, mcode, title, starts_at, status, topic, item, *rest in streamed(
        session, statement
    ):
        hands_for, against, abstain, decision = rest
        yield (
            code,
            name,
            mcode,
            title,
            local_time(starts_at).date(),
            name_of("meeting_status", status),
            int(present.get(mid, 0)),
            topic or item or "",
            hands_for,
            against,
            abstain,
            decision or "",
        )


def actions_table(session: Session, ids: Collection[int]) -> Table:
    """Return the compounds' action plans: what, which party, by when, how far."""
    columns = [
        CODE,
        NAME,
        Column(_l("Meeting code"), width=10),
        Column(_l("What is to be done"), width=36),
        Column(_l("Who (party)"), width=14),
        Column(_l("By"), "date", width=12),
        Column(_l("Status"), width=10),
        Column(_l("Overdue"), "flag", width=8),
    ]
    return Table("actions", _l("Action items"), columns, _action_rows(session, ids))


def _action_rows(session: Session, ids: Collection[int]) -> Iterator[Row]:
    today = local_today()
    statement = (
        sa.select(
            col(Compound.code),
            col(Compound.name),
            col(Meeting.code),
            col(ActionItem.what),
            col(ActionItem.owner),
            col(ActionItem.due_on),
            col(ActionItem.status),
        )
        .select_from(ActionItem)
        .join(Meeting, col(Meeting.id) == ActionItem.meeting_id)
        .join(Compound, col(Compound.id) == Meeting.compound_id)
        .where(in_scope(Meeting.compound_id, ids))
        .order_by(
            col(Compound.code),
            col(ActionItem.due_on).is_(None),
            col(ActionItem.due_on),
            col(ActionItem.id),
        )
    )
    for code, name, meeting, what, owner, due_on, status in streamed(session, statement):
        late = due_on is not None and due_on < today and status != ActionStatus.DONE
        yield (
            code,
            name,
            meeting,
            what,
            name_of("party", owner),
            due_on,
            name_of("action_status", status),
            late,
        )
