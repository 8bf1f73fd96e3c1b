"""The tables, one module per aggregate; importing this registers them all."""

from consult.models.accounts import Account, AccountScope, AuditEvent, Role
from consult.models.ballots import Ballot, BallotItem, Channel, Tenure
from consult.models.catalog import CatalogItem, Category
from consult.models.places import Building, Compound, District, Household, Unit
from consult.models.surveys import Survey, SurveyItem, SurveyMode, SurveyPhase, SurveyStatus

__all__ = [
    "Account",
    "AccountScope",
    "AuditEvent",
    "Ballot",
    "BallotItem",
    "Building",
    "CatalogItem",
    "Category",
    "Channel",
    "Compound",
    "District",
    "Household",
    "Role",
    "Survey",
    "SurveyItem",
    "SurveyMode",
    "SurveyPhase",
    "SurveyStatus",
    "Tenure",
    "Unit",
]
