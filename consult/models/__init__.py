"""The tables, one module per aggregate; importing this registers them all."""

from consult.models.accounts import Account, AccountScope, AuditEvent, Role
from consult.models.ballots import Ballot, BallotItem, Channel, Tenure
from consult.models.catalog import CatalogItem, Category
from consult.models.meetings import (
    ActionItem,
    ActionStatus,
    AgendaItem,
    Attendance,
    Choice,
    Meeting,
    MeetingStatus,
    Party,
    PhoneVote,
    VoteState,
)
from consult.models.phases import PHASES, Phase, PhaseDates
from consult.models.places import Building, Compound, District, Household, Unit
from consult.models.publications import Publication
from consult.models.surveys import Survey, SurveyItem, SurveyMode, SurveyPhase, SurveyStatus

__all__ = [
    "Account",
    "AccountScope",
    "ActionItem",
    "ActionStatus",
    "AgendaItem",
    "Attendance",
    "AuditEvent",
    "Ballot",
    "BallotItem",
    "Building",
    "CatalogItem",
    "Category",
    "Channel",
    "Choice",
    "Compound",
    "District",
    "Household",
    "Meeting",
    "MeetingStatus",
    "Party",
    "PHASES",
    "Phase",
    "PhaseDates",
    "PhoneVote",
    "Publication",
    "Role",
    "Survey",
    "SurveyItem",
    "SurveyMode",
    "SurveyPhase",
    "SurveyStatus",
    "Tenure",
    "Unit",
    "VoteState",
]
