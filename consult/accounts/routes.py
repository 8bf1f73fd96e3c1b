"""Log in and out, change one's password; admins manage users and read the audit log."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from sqlmodel import col, select
from werkzeug.wrappers import Response as BaseResponse

from consult.access import public, requires
from consult.accounts import bp
from consult.accounts.forms import AccountForm, LoginForm, PasswordForm
from consult.db import get_session
from consult.limits import LOGIN_LIMIT, LOGIN_USER_LIMIT, failed, limiter, login_username
from consult.models import Account, Compound, District, Role
from consult.services import accounts, audit

Page = str | tuple[str, int] | BaseResponse


def _safe_next(target: str | None) -> str:
    """Return where to go after logging in: only a path on this site."""
    if not target or not target.isprintable() or "\\" in target:
        return url_for("facilitators.home")
    # Browsers drop tabs and newlines and read "/\t/x" as "//x": printable only, then no host.
    parts = urlsplit(target)
    if (
        target.startswith("/")
        and not parts.scheme
        and not parts.netloc
        and not target.startswith("//")
    ):
        return target
    return url_for("facilitators.home")


@bp.route("/login", methods=["GET", "POST"])
@public
@limiter.limit(LOGIN_LIMIT, methods=["POST"], deduct_when=failed)
@limiter.limit(LOGIN_USER_LIMIT, methods=["POST"], key_func=login_username, deduct_when=failed)
def login() -> Page:
    form = LoginForm()
    if current_user.is_authenticated and request.method == "GET":
        return redirect(_safe_next(request.args.get("next")))
    if form.validate_on_submit():
        session = get_session()
        account = accounts.authenticate(session, form.username.data, form.password.data)
        if account is None:
            audit.record(session, None, "login.failed", f"username:{form.username.data[:60]}")
            session.commit()
            form.password.errors = [_("Wrong username or password.")]
            return render_template("accounts/login.html", form=form), 401
        audit.record(session, account, "login", f"account:{account.username}")
        session.commit()
        login_user(account)
        return redirect(_safe_next(request.args.get("next")))
    status = 400 if form.errors else 200
    return render_template("accounts/login.html", form=form), status


@bp.post("/logout")
@requires()
def logout() -> Page:
    logout_user()
    flash(_("You are logged out."), "info")
    return redirect(url_for("accounts.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@requires()
def password() -> Page:
    form = PasswordForm()
    account: Account = current_user._get_current_object()
    if form.validate_on_submit():
        session = get_session()
        if not accounts.verify_password(account, form.current.data):
            form.current.errors = [_("The current password is wrong.")]
            return render_template("accounts/password.html", form=form), 400
        try:
            accounts.set_password(session, account, form.new.data)
        except accounts.AccountError:
            form.new.errors = [_("That password is too easy to guess.")]
            return render_template("accounts/password.html", form=form), 400
        audit.record(session, account, "account.password", f"account:{account.username}")
        session.commit()
        login_user(account)  # the session key changed with the password
        flash(_("Your password has been changed."), "info")
        return redirect(url_for("facilitators.home"))
    return render_template("accounts/password.html", form=form), 400 if form.errors else 200


def _scope_from(form: AccountForm) -> tuple[list[Compound], list[District]] | None:
    """Read the compound and district codes of the form; set errors and return None if unknown."""
    session = get_session()
    codes = (form.compounds.data or "").split()
    compounds = list(session.exec(select(Compound).where(col(Compound.code).in_(codes))).all())
    unknown = sorted(set(codes) - {c.code for c in compounds})
    if unknown:
        form.compounds.errors = [_("Unknown compound codes: %(codes)s", codes=" ".join(unknown))]
    district_codes = (form.districts.data or "").split()
    districts = list(
        session.exec(select(District).where(col(District.code).in_(district_codes))).all()
    )
    unknown_d = sorted(set(district_codes) - {d.code for d in districts})
    if unknown_d:
        form.districts.errors = [_("Unknown district codes: %(codes)s", codes=" ".join(unknown_d))]
    return None if unknown or unknown_d else (compounds, districts)


def _role_from(form: AccountForm) -> Role | None:
    try:
        return Role(form.role.data)
    except ValueError:
        form.role.errors = [_("Choose a role.")]
        return None


@bp.route("/admin/users", methods=["GET", "POST"])
@requires(Role.ADMIN)
def users() -> Page:
    session = get_session()
    form = AccountForm()
    if form.validate_on_submit():
        role, scope = _role_from(form), _scope_from(form)
        if role is not None and scope is not None:
            try:
                account = accounts.create_account(
                    session,
                    username=form.username.data or "",
                    password=form.password.data or "",
                    role=role,
                    display_name=form.display_name.data or "",
                    compounds=scope[0],
                    districts=scope[1],
                )
            except accounts.AccountError as error:
                form.username.errors = [
                    _("The account could not be created: %(why)s", why=str(error))
                ]
            else:
                audit.record(
                    session,
                    current_user,
                    "account.create",
                    f"account:{account.username}",
                    role=str(role),
                    compounds=form.compounds.data,
                    districts=form.districts.data,
                )
                session.commit()
                flash(_("Account %(name)s created.", name=account.username), "info")
                return redirect(url_for("accounts.users"))
    everyone = session.exec(select(Account).order_by(col(Account.username))).all()
    return render_template(
        "accounts/users.html", form=form, accounts=everyone, roles=list(Role)
    ), 400 if form.errors else 200


@bp.route("/admin/users/<int(max=2147483647):account_id>", methods=["GET", "POST"])
@requires(Role.ADMIN)
def user(account_id: int) -> Page:
    session = get_session()
    account = session.get(Account, account_id)
    if account is None:
        abort(404)
    form = AccountForm(obj=account)
    if request.method == "GET":
        visible = (
            accounts.visible_compounds(session, account) if account.role == Role.FACILITATOR else []
        )
        form.compounds.data = " ".join(c.code for c in visible)
        district_ids = accounts.district_ids(session, account)
        form.districts.data = " ".join(
            d.code for d in session.exec(select(District)).all() if d.id in district_ids
        )
    if form.validate_on_submit():
        role, scope = _role_from(form), _scope_from(form)
        if role is not None and not _keeps_an_admin(account, role, bool(form.active.data)):
            form.role.errors = [
                _(
                    "There must stay at least one active administrator, and you cannot "
                    "switch off or demote your own account."
                )
            ]
            role = None
        if role is not None and scope is not None:
            try:
                if form.password.data:
                    accounts.set_password(session, account, form.password.data)
            except accounts.AccountError as error:
                form.password.errors = [_("The password was refused: %(why)s", why=str(error))]
            else:
                account.role = role
                account.display_name = (form.display_name.data or "").strip()[:80]
                account.active = bool(form.active.data)
                session.add(account)
                accounts.set_scope(session, account, compounds=scope[0], districts=scope[1])
                audit.record(
                    session,
                    current_user,
                    "account.update",
                    f"account:{account.username}",
                    role=str(role),
                    active=account.active,
                    password_reset=bool(form.password.data),
                    compounds=form.compounds.data,
                    districts=form.districts.data,
                )
                session.commit()
                flash(_("Account %(name)s saved.", name=account.username), "info")
                return redirect(url_for("accounts.users"))
    return render_template(
        "accounts/user.html", form=form, account=account, roles=list(Role)
    ), 400 if form.errors else 200


def _keeps_an_admin(account: Account, role: Role, active: bool) -> bool:
    """Whether the change leaves the admin's own account, and some admin, active."""
    if account.role != Role.ADMIN or (role == Role.ADMIN and active):
        return True
    if account.id == current_user.id:
        return False
    others = (
        get_session()
        .exec(
            select(Account).where(
                Account.role == Role.ADMIN, col(Account.active), Account.id != account.id
            )
        )
        .first()
    )
    return others is not None


@bp.get("/admin/audit")
@requires(Role.ADMIN)
def audit_log() -> Page:
    before = request.args.get("before", "")
    older_than = (
        int(before) if before.isascii() and before.isdecimal() and len(before) <= 9 else None
    )
    events = audit.recent(get_session(), before=older_than)
    return render_template("accounts/audit.html", events=events)
