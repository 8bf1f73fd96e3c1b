"""Household codes (每户一码): random, printed once, stored only as a keyed hash.

A code is 8 characters from a 31-letter alphabet without look-alikes
(31**8 ≈ 8.5e11 codes). The database keeps HMAC-SHA256(secret, code), so a
stolen database does not give the codes away, and a code is found by its hash.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import update
from sqlmodel import Session, col, select

from consult.models import Building, Compound, Household, Unit
from consult.models._base import utcnow
from consult.services.ballots import ALPHABET

CODE_LENGTH = 8
_SEPARATORS = str.maketrans("", "", " -_.\t")


@dataclass(frozen=True)
class IssuedCode:
    """A freshly issued code and the household it opens: shown once, on a slip."""

    household_id: int
    label: str
    code: str


def normalize_code(text: str) -> str:
    """Return a typed code as stored: upper case, without spaces or dashes."""
    return text.translate(_SEPARATORS).upper()


def looks_like_code(text: str) -> bool:
    """Whether the text could be a code at all (length and alphabet)."""
    return len(text) == CODE_LENGTH and all(c in ALPHABET for c in text)


def code_hash(secret: str, code: str) -> str:
    """Return the keyed hash stored for a code."""
    return hmac.new(secret.encode(), normalize_code(code).encode(), hashlib.sha256).hexdigest()


def new_code() -> str:
    """Return a fresh random code."""
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def format_code(code: str) -> str:
    """Return a code as printed: two groups of four."""
    return f"{code[:4]}-{code[4:]}"


def household_by_code(session: Session, secret: str, text: str) -> Household | None:
    """Return the household whose current code this is, or None."""
    code = normalize_code(text)
    if not looks_like_code(code):
        return None
    return session.exec(
        select(Household).where(Household.code_hash == code_hash(secret, code))
    ).first()


def issue_codes(
    session: Session,
    secret: str,
    compound: Compound,
    *,
    only_missing: bool = True,
    household_ids: list[int] | None = None,
) -> list[IssuedCode]:
    """Give households of the compound new codes (replacing old ones); flush.

    Returns the plain codes, in building-unit-room order, for printing now: they
    are not kept anywhere.
    """
    query = (
        select(Household.id, Household.label)
        .join(Unit, col(Unit.id) == Household.unit_id)
        .join(Building, col(Building.id) == Unit.building_id)
        .where(Household.compound_id == compound.id)
        .order_by(
            col(Building.position), col(Unit.position), col(Household.floor), col(Household.room)
        )
    )
    if only_missing:
        query = query.where(col(Household.code_hash).is_(None))
    if household_ids is not None:
        query = query.where(col(Household.id).in_(household_ids))
    rows = session.exec(query).all()
    fresh: set[str] = set()
    while len(fresh) < len(rows):  # a repeat within one batch is rare, but must not happen
        fresh.add(new_code())
    issued = [
        IssuedCode(hid, label, code)
        for (hid, label), code in zip(rows, fresh, strict=True)
        if hid is not None
    ]
    if issued:
        now = utcnow()
        session.execute(
            update(Household),
            [
                {
                    "id": code.household_id,
                    "code_hash": code_hash(secret, code.code),
                    "code_issued_at": now,
                }
                for code in issued
            ],
        )
        session.flush()
    return issued


def revoke_code(session: Session, household: Household) -> None:
    """Make the household's code stop working; flush."""
    household.code_hash = None
    household.code_issued_at = None
    session.add(household)
    session.flush()
