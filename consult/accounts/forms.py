"""Forms for logging in, passwords and users."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, StringField
from wtforms.validators import EqualTo, InputRequired, Length


class LoginForm(FlaskForm):  # type: ignore[misc]
    """Username and password."""

    username = StringField(
        _l("Username"),
        validators=[InputRequired(_l("Please enter your username.")), Length(max=60)],
    )
    password = PasswordField(
        _l("Password"),
        validators=[InputRequired(_l("Please enter your password.")), Length(max=200)],
    )


class PasswordForm(FlaskForm):  # type: ignore[misc]
    """Change one's own password."""

    current = PasswordField(
        _l("Current password"),
        validators=[InputRequired(_l("Please enter your current password."))],
    )
    new = PasswordField(
        _l("New password"),
        validators=[
            InputRequired(_l("Please enter a new password.")),
            Length(min=10, max=200, message=_l("A password needs at least 10 characters.")),
        ],
    )
    confirm = PasswordField(
        _l("New password again"),
        validators=[EqualTo("new", message=_l("The two new passwords differ."))],
    )


class AccountForm(FlaskForm):  # type: ignore[misc]
    """Create or edit an account (admins)."""

    username = StringField(_l("Username"), validators=[Length(max=60)])
    display_name = StringField(_l("Name"), validators=[Length(max=80)])
    role = StringField(_l("Role"))
    compounds = StringField(
        _l("Compounds (codes, separated by spaces)"), validators=[Length(max=4000)]
    )
    districts = StringField(
        _l("Districts (codes, separated by spaces)"), validators=[Length(max=400)]
    )
    password = PasswordField(_l("Password"), validators=[Length(max=200)])
    active = BooleanField(_l("Active"), default=True)
