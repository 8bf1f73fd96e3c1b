"""The tables, one module per aggregate; importing this registers them all."""

from consult.models.ballots import Ballot, BallotItem, Channel, Tenure
from consult.models.catalog import CatalogItem, Category
from consult.models.places import Building, Compound, District, Household, Unit
from consult.models.surveys import Survey, SurveyItem, SurveyPhase, SurveyStatus

__all__ = [
    "Ballot",
    "BallotItem",
    "Building",
    "CatalogItem",
    "Category",
    "Channel",
    "Compound",
    "District",
    "Household",
    "Survey",
    "SurveyItem",
    "SurveyPhase",
    "SurveyStatus",
    "Tenure",
    "Unit",
]
