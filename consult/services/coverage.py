"""Full coverage (全覆盖): who has been heard, building by building, and who not yet."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import bindparam, func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col

from consult.models import Ballot, Building, Compound, Household, Survey, Unit


@dataclass
class UnitCoverage:
    """One unit (stairwell): households, how many answered, who not yet."""

    building: str
    unit: str
    total: int = 0
    answered: int = 0
    not_heard: list[str] = field(default_factory=list)


@dataclass
class Coverage:
    """A compound's coverage, overall, among households with elderly members, per unit."""

    total: int = 0
    answered: int = 0
    #: Households known to have someone aged 60+ (records or their own answer).
    elderly_total: int = 0
    elderly_answered: int = 0
    #: Of elderly_total, those the community's records mark (the rest said so themselves).
    elderly_in_records: int = 0
    by_channel: dict[str, int] = field(default_factory=dict)
    units: list[UnitCoverage] = field(default_factory=list)

    def buildings(self) -> list[tuple[str, list[UnitCoverage]]]:
        """Return the units grouped by building, in order."""
        grouped: list[tuple[str, list[UnitCoverage]]] = []
        for unit in self.units:
            if not grouped or grouped[-1][0] != unit.building:
                grouped.append((unit.building, []))
            grouped[-1][1].append(unit)
        return grouped


def percent(part: int, whole: int) -> int:
    """Return part/whole in whole percent (0 when whole is 0)."""
    return round(100 * part / whole) if whole else 0


def compound_coverage(session: Session, compound: Compound, survey: Survey | None) -> Coverage:
    """Count the households heard by the survey, per unit, listing those not heard yet."""
    # The survey's current ballots are read apart and matched here: joined to each
    # household, SQLite (without statistics) scans the survey's ballots per household.
    heard = {
        household_id: (elderly, channel)
        for household_id, elderly, channel in session.execute(
            sa_select(col(Ballot.household_id), col(Ballot.elderly), col(Ballot.channel)).where(
                col(Ballot.survey_id) == (survey.id if survey else -1), col(Ballot.is_current)
            )
        )
    }
    rows = session.execute(
        sa_select(
            col(Building.number),
            col(Unit.number),
            col(Household.id),
            col(Household.label),
            col(Household.elderly),
        )
        .join(Unit, col(Unit.building_id) == Building.id)
        .join(Household, col(Household.unit_id) == Unit.id)
        .where(col(Building.compound_id) == compound.id)
        .order_by(
            col(Building.position),
            col(Building.number),
            col(Unit.position),
            col(Unit.number),
            col(Household.floor),
            col(Household.room),
        )
    ).all()
    coverage = Coverage()
    for building, unit, household_id, label, elderly_record in rows:
        ballot = heard.get(household_id)
        elderly_said, channel = ballot if ballot else (False, None)
        if not coverage.units or (coverage.units[-1].building, coverage.units[-1].unit) != (
            building,
            unit,
        ):
            coverage.units.append(UnitCoverage(building, unit))
        current = coverage.units[-1]
        elderly = bool(elderly_record or elderly_said)
        current.total += 1
        coverage.total += 1
        coverage.elderly_total += elderly
        coverage.elderly_in_records += bool(elderly_record)
        if ballot is not None:
            current.answered += 1
            coverage.answered += 1
            coverage.elderly_answered += elderly
            coverage.by_channel[str(channel)] = coverage.by_channel.get(str(channel), 0) + 1
        else:
            current.not_heard.append(label)
    return coverage


#: The compound's buildings that have households, in residents' order, with their count.
_BUILDING_SIZES = (
    sa_select(col(Building.number), func.count())
    .join(Unit, col(Unit.building_id) == Building.id)
    .join(Household, col(Household.unit_id) == Unit.id)
    .where(col(Building.compound_id) == bindparam("compound"))
    .group_by(col(Building.id), col(Building.number), col(Building.position))
    .order_by(col(Building.position), col(Building.number))
)


def building_sizes(session: Session, compound: Compound) -> list[tuple[str, int]]:
    """Return the compound's buildings that have households, in residents' order, with
    how many households each has."""
    return [
        (number, int(households))
        for number, households in session.connection().execute(
            _BUILDING_SIZES, {"compound": compound.id}
        )
    ]
