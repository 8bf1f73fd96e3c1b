"""The standard renovation catalogue shipped in data/catalog.csv, bilingual."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

CATALOG_CSV = Path(__file__).parent / "data" / "catalog.csv"

#: The three official categories, in the order the guidance lists them.
CATEGORIES = ("basic", "improvement", "enhancement")


@dataclass(frozen=True, slots=True)
class CatalogEntry:
    """One item of the standard catalogue."""

    id: str
    category: str
    name_zh: str
    name_en: str
    elderly_children: bool
    accessibility: bool
    source: str
    position: int

    def name(self, locale: str) -> str:
        """Return the item's name in the given locale (Chinese unless English)."""
        return self.name_en if locale.startswith("en") else self.name_zh


@cache
def load_catalog(path: Path = CATALOG_CSV) -> tuple[CatalogEntry, ...]:
    """Read the catalogue CSV; raise ValueError naming the line of a bad row."""
    entries: list[CatalogEntry] = []
    seen: set[str] = set()
    with path.open(encoding="utf-8", newline="") as f:
        for line, row in enumerate(csv.DictReader(f), start=2):
            item_id = (row.get("id") or "").strip()
            category = (row.get("category") or "").strip()
            if not item_id or item_id in seen:
                raise ValueError(f"{path.name}:{line}: missing or repeated id {item_id!r}")
            if category not in CATEGORIES:
                raise ValueError(f"{path.name}:{line}: unknown category {category!r}")
            seen.add(item_id)
            entries.append(
                CatalogEntry(
                    id=item_id,
                    category=category,
                    name_zh=row["name_zh"].strip(),
                    name_en=row["name_en"].strip(),
                    elderly_children=row["elderly_children"].strip() == "1",
                    accessibility=row["accessibility"].strip() == "1",
                    source=row.get("source", "").strip(),
                    position=len(entries),
                )
            )
    return tuple(entries)


def catalog_by_id() -> dict[str, CatalogEntry]:
    """Return the catalogue keyed by item id."""
    return {entry.id: entry for entry in load_catalog()}
