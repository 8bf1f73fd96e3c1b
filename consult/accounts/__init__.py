"""Accounts: log in and out, change one's password, and (admins) users and the audit log."""

from flask import Blueprint

bp = Blueprint("accounts", __name__)

from consult.accounts import routes  # noqa: E402, F401
