"""The renovation catalogue (改造清单) as stored, seeded from data/catalog.csv."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import String
from sqlmodel import Field, SQLModel


class Category(StrEnum):
    """The three official categories of renovation content (2020 guidance)."""

    BASIC = "basic"
    IMPROVEMENT = "improvement"
    ENHANCEMENT = "enhancement"


class CatalogItem(SQLModel, table=True):
    """One menu item residents can order."""

    #: Stable ASCII id, e.g. "roof_waterproofing".
    id: str = Field(primary_key=True, max_length=60)
    #: basic / improvement / enhancement.
    category: Category = Field(sa_type=String(20))
    #: Chinese name.
    name_zh: str = Field(max_length=120)
    #: English name.
    name_en: str = Field(max_length=160)
    #: Serves the elderly and children (一老一小).
    elderly_children: bool = Field(default=False)
    #: Improves barrier-free access.
    accessibility: bool = Field(default=False)
    #: Default cost in yuan, when known.
    cost: int | None = Field(default=None)
    #: Catalogue order.
    position: int = Field(default=0)
    #: Set when a compound added the item for itself.
    compound_id: int | None = Field(default=None, foreign_key="compound.id", index=True)
