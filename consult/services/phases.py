"""The renovation cycle: where a compound stands, what comes next, and the phases' dates."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from sqlmodel import Session, select

from consult.models import PHASES, Compound, Phase, PhaseDates, Survey, SurveyPhase, SurveyStatus
from consult.models._base import row_id, utcnow


class PhaseError(ValueError):
    """A phase or its dates cannot be what was asked."""


@dataclass(frozen=True)
class Step:
    """One phase on a compound's timeline."""

    phase: Phase
    #: "done", "current" or "later".
    state: str
    starts_on: date | None
    ends_on: date | None


def current_phase(compound: Compound) -> Phase:
    """Return the compound's phase (the first one if the stored value is unknown)."""
    try:
        return Phase(compound.phase)
    except ValueError:
        return PHASES[0]


def next_phase(compound: Compound) -> Phase | None:
    """Return the phase after the compound's, None after the last."""
    index = PHASES.index(current_phase(compound))
    return PHASES[index + 1] if index + 1 < len(PHASES) else None


def _dates(session: Session, compound: Compound) -> dict[Phase, PhaseDates]:
    rows = session.exec(select(PhaseDates).where(PhaseDates.compound_id == compound.id)).all()
    return {Phase(row.phase): row for row in rows}


def timeline(session: Session, compound: Compound) -> list[Step]:
    """Return every phase in order with its dates and whether it is done, current or later."""
    dates = _dates(session, compound)
    now = PHASES.index(current_phase(compound))
    steps = []
    for index, phase in enumerate(PHASES):
        row = dates.get(phase)
        state = "done" if index < now else "current" if index == now else "later"
        steps.append(
            Step(phase, state, row.starts_on if row else None, row.ends_on if row else None)
        )
    return steps


def _row(session: Session, compound: Compound, phase: Phase) -> PhaseDates:
    row = session.exec(
        select(PhaseDates).where(PhaseDates.compound_id == compound.id, PhaseDates.phase == phase)
    ).first()
    if row is None:
        row = PhaseDates(compound_id=row_id(compound.id), phase=phase)
    return row


def set_dates(
    session: Session,
    compound: Compound,
    dates: Mapping[Phase, tuple[date | None, date | None]],
) -> None:
    """Set the phases' planned dates; flush. Raises PhaseError if a phase ends before it starts."""
    for phase, (starts_on, ends_on) in dates.items():
        if starts_on and ends_on and ends_on < starts_on:
            raise PhaseError(phase)
    for phase, (starts_on, ends_on) in dates.items():
        row = _row(session, compound, phase)
        if (row.starts_on, row.ends_on) != (starts_on, ends_on):
            row.starts_on, row.ends_on, row.updated_at = starts_on, ends_on, utcnow()
            session.add(row)
    session.flush()


def move_to(session: Session, compound: Compound, phase: Phase, today: date) -> None:
    """Put the compound in the phase (forward or, to correct a mistake, back); flush.

    Forward, the dates become what happened: the phase left ends today and the
    phase entered starts today (its planned end is kept unless already past), and
    the survey that belonged to the phase left stops taking answers (the needs
    survey on leaving the needs phase, the satisfaction survey on leaving the
    evaluation). Going back changes no date and reopens nothing: a survey closed by
    mistake is reopened on its settings page.
    """
    left = current_phase(compound)
    if phase == left:
        return
    forward = PHASES.index(phase) > PHASES.index(left)
    if forward:
        old = _row(session, compound, left)
        old.ends_on = max(today, old.starts_on) if old.starts_on else today
        old.updated_at = utcnow()
        session.add(old)
        for asked in _surveys_of(session, compound, left):
            asked.status = SurveyStatus.CLOSED
            session.add(asked)
    new = _row(session, compound, phase)
    if forward or new.starts_on is None:
        new.starts_on = today
        if new.ends_on is not None and new.ends_on < today:
            new.ends_on = None
    new.entered_at = new.updated_at = utcnow()
    session.add(new)
    compound.phase = str(phase)
    session.add(compound)
    session.flush()


#: The survey that belongs to a phase and closes when the compound leaves it.
PHASE_SURVEYS = {Phase.NEEDS: SurveyPhase.NEEDS, Phase.EVALUATION: SurveyPhase.SATISFACTION}


def _surveys_of(session: Session, compound: Compound, phase: Phase) -> list[Survey]:
    """The open surveys of the phase (none for phases without one)."""
    asked = PHASE_SURVEYS.get(phase)
    if asked is None:
        return []
    return list(
        session.exec(
            select(Survey).where(
                Survey.compound_id == compound.id,
                Survey.phase == asked,
                Survey.status == SurveyStatus.OPEN,
            )
        ).all()
    )
