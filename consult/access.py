"""Who may open which page: every route declares it, and a test walks the URL map.

Residents' pages are `@public`. Every other route is `@requires(...)` with the
roles it admits and, for a compound's pages, whether it reads or runs that
compound: planners read the compounds of their districts (or the whole city),
facilitators read and run the compounds assigned to them, admins do everything.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar

from flask import Flask, abort, g, redirect, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager, current_user
from sqlalchemy import bindparam
from sqlmodel import col, select

from consult.db import get_session
from consult.models import Account, Compound, Role
from consult.services import accounts
from consult.services.places import compound_by_code

F = TypeVar("F", bound=Callable[..., Any])

login_manager = LoginManager()
login_manager.login_view = "accounts.login"
login_manager.login_message = _l("Please log in to see this page.")
login_manager.login_message_category = "info"


@dataclass(frozen=True)
class Access:
    """What a route asks of the person opening it."""

    #: Roles admitted; empty means anyone, logged in or not.
    roles: frozenset[Role]
    #: "read" or "run" a compound named by the route's `code`; None when no compound.
    compound: str | None = None
    #: Whole-city matters (the catalogue's costs): a planner must read the whole city.
    city: bool = False

    @property
    def public(self) -> bool:
        return not self.roles


PUBLIC = Access(frozenset())
ALL_ROLES = (Role.ADMIN, Role.PLANNER, Role.FACILITATOR)


def public(view: F) -> F:
    """Declare a route open to everyone (residents' pages, the login page)."""
    view.access = PUBLIC  # type: ignore[attr-defined]
    return view


def requires(*roles: Role, compound: str | None = None, city: bool = False) -> Callable[[F], F]:
    """Declare and enforce the roles (and the compound right) a route needs.

    `city=True` admits a planner only when the account reads the whole city.
    """
    if compound not in (None, "read", "run"):
        raise ValueError(f"compound must be 'read' or 'run', not {compound!r}")
    access = Access(frozenset(roles or ALL_ROLES), compound, city)

    def decorate(view: F) -> F:
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return redirect(url_for("accounts.login", next=request.full_path.rstrip("?")))
            account: Account = current_user._get_current_object()
            if account.role not in access.roles:
                abort(403)
            if (
                access.city
                and account.role == Role.PLANNER
                and accounts.district_ids(get_session(), account)
            ):
                abort(403)
            if access.compound is not None:
                place = current_compound(kwargs.get("code", ""))
                allowed = (accounts.can_run if access.compound == "run" else accounts.can_read)(
                    get_session(), account, place
                )
                if not allowed:
                    abort(403)
            return view(*args, **kwargs)

        guarded.access = access  # type: ignore[attr-defined]
        return guarded  # type: ignore[return-value]

    return decorate


def access_of(view: Callable[..., Any]) -> Access | None:
    """Return what a view function declared, or None if it declared nothing."""
    declared = getattr(view, "access", None)
    return declared if isinstance(declared, Access) else None


def current_compound(code: str) -> Compound:
    """Return the compound a route names (found once per request, then kept on `g`), or 404."""
    found: dict[str, Compound] = g.setdefault("compounds", {})
    if code not in found:
        place = compound_by_code(get_session(), code)
        if place is None:
            abort(404)
        found[code] = place
    return found[code]


#: Built once: every staff request loads its account (a select here is cheaper than
#: Session.get, whose identity lookup misses in each request's new session anyway).
_ACCOUNT = select(Account).where(col(Account.id) == bindparam("account"))


@login_manager.user_loader  # type: ignore[untyped-decorator]
def _load_account(key: str) -> Account | None:
    account_id = key.partition(":")[0]
    if not (account_id.isascii() and account_id.isdecimal()):
        return None
    account = get_session().exec(_ACCOUNT, params={"account": int(account_id)}).first()
    if account is None or not account.active or account.get_id() != key:
        return None
    return account


def init_app(app: Flask) -> None:
    """Register Flask-Login."""
    login_manager.init_app(app)
