"""Accounts: argon2 passwords, roles, and which compounds an account may read or run."""

from __future__ import annotations

from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import bindparam
from sqlmodel import Session, col, select

from consult.models import Account, AccountScope, Compound, District, Role
from consult.models._base import row_id, utcnow

_hasher = PasswordHasher()
#: Verified against when the username is unknown, so both paths cost one argon2 check.
_DUMMY_HASH = _hasher.hash("consult: no such account")
MIN_PASSWORD_LENGTH = 10


class AccountError(ValueError):
    """A reason an account cannot be created or changed, in English for the CLI."""


def normalize_username(username: str) -> str:
    """Return the username as stored: trimmed, lower case."""
    return username.strip().lower()


def check_password_strength(password: str) -> None:
    """Raise AccountError if the password is too weak to accept."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    if password.strip() != password or len(set(password)) < 4:
        raise AccountError("that password is too easy to guess")


def create_account(
    session: Session,
    *,
    username: str,
    password: str,
    role: Role,
    display_name: str = "",
    compounds: list[Compound] | None = None,
    districts: list[District] | None = None,
) -> Account:
    """Create an account with its scope; flush."""
    name = normalize_username(username)
    if not name or len(name) > 60 or not name.replace("_", "").replace(".", "").isalnum():
        raise AccountError("a username is 1-60 letters, digits, '.' or '_'")
    if session.exec(select(Account).where(Account.username == name)).first():
        raise AccountError(f"the username {name!r} is taken")
    check_password_strength(password)
    account = Account(
        username=name,
        password_hash=_hasher.hash(password),
        role=role,
        display_name=display_name.strip(),
    )
    session.add(account)
    session.flush()
    set_scope(session, account, compounds=compounds or [], districts=districts or [])
    return account


def set_scope(
    session: Session, account: Account, *, compounds: list[Compound], districts: list[District]
) -> None:
    """Replace the compounds (facilitators) and districts (planners) of an account; flush."""
    for scope in session.exec(
        select(AccountScope).where(AccountScope.account_id == account.id)
    ).all():
        session.delete(scope)
    session.flush()
    for compound in compounds:
        session.add(AccountScope(account_id=row_id(account.id), compound_id=compound.id))
    for district in districts:
        session.add(AccountScope(account_id=row_id(account.id), district_id=district.id))
    session.flush()


def add_compound(session: Session, account: Account, compound: Compound) -> None:
    """Assign one more compound to a facilitator; flush."""
    session.add(AccountScope(account_id=row_id(account.id), compound_id=row_id(compound.id)))
    session.flush()


def set_password(session: Session, account: Account, password: str) -> None:
    """Give the account a new password; flush."""
    check_password_strength(password)
    account.password_hash = _hasher.hash(password)
    session.add(account)
    session.flush()


def verify_password(account: Account | None, password: str) -> bool:
    """Check a password; unknown accounts cost the same time as known ones."""
    try:
        return _hasher.verify(account.password_hash if account else _DUMMY_HASH, password) and (
            account is not None
        )
    except (VerificationError, InvalidHashError):
        return False


def authenticate(session: Session, username: str, password: str) -> Account | None:
    """Return the active account with this username and password, else None."""
    account = session.exec(
        select(Account).where(Account.username == normalize_username(username))
    ).first()
    if not verify_password(account, password) or account is None or not account.active:
        return None
    if _hasher.check_needs_rehash(account.password_hash):
        account.password_hash = _hasher.hash(password)
    account.last_login_at = utcnow()
    session.add(account)
    session.flush()
    return account


def _scope_statement(column: Any) -> Any:
    return select(column).where(
        col(AccountScope.account_id) == bindparam("account"), col(column).is_not(None)
    )


#: Built once: every staff page with a compound asks one of them.
_SCOPES = {
    "compound_id": _scope_statement(AccountScope.compound_id),
    "district_id": _scope_statement(AccountScope.district_id),
}


def _scope_ids(session: Session, account: Account, column: Any) -> set[int]:
    # Through the connection (Core: ~55 us less than the ORM's path); every write of
    # scopes above flushes.
    rows = session.connection().execute(_SCOPES[column.key], {"account": account.id})
    return {int(i) for i in rows.scalars()}


def compound_ids(session: Session, account: Account) -> set[int]:
    """Return the ids of the compounds a facilitator runs."""
    return _scope_ids(session, account, AccountScope.compound_id)


def district_ids(session: Session, account: Account) -> set[int]:
    """Return the ids of the districts a planner reads (empty: the whole city)."""
    return _scope_ids(session, account, AccountScope.district_id)


def can_read(session: Session, account: Account, compound: Compound) -> bool:
    """Whether the account may see the compound's pages."""
    if account.role == Role.ADMIN:
        return True
    if account.role == Role.PLANNER:
        districts = district_ids(session, account)
        return not districts or compound.district_id in districts
    return compound.id in compound_ids(session, account)


def can_run(session: Session, account: Account, compound: Compound) -> bool:
    """Whether the account may change the compound (set up, codes, paper entry, publish)."""
    if account.role == Role.ADMIN:
        return True
    if account.role == Role.FACILITATOR:
        return compound.id in compound_ids(session, account)
    return False


def visible_compounds(session: Session, account: Account) -> list[Compound]:
    """Return the compounds the account may see, by code."""
    query = select(Compound).order_by(col(Compound.code))
    if account.role == Role.FACILITATOR:
        query = query.where(col(Compound.id).in_(compound_ids(session, account) or {-1}))
    elif account.role == Role.PLANNER and (districts := district_ids(session, account)):
        query = query.where(col(Compound.district_id).in_(districts))
    return list(session.exec(query).all())
