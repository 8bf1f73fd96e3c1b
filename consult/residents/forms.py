"""Residents' answer forms: the household's pickers and key (all), the needs survey's menu."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Collection, Sequence
from typing import Any

from babel import support
from flask import current_app
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from itsdangerous import BadSignature, URLSafeSerializer
from wtforms import BooleanField, Field, HiddenField, StringField, TextAreaField
from wtforms.i18n import messages_path
from wtforms.validators import Length, ValidationError

from consult.models import Household, Survey, SurveyMode
from consult.services.ballots import find_and_lock_household
from consult.services.places import BuildingUnits, Homes
from consult.services.surveys import MenuItem

KEY_SALT = "consult.submission"


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=KEY_SALT)


def new_submission_token(compound_code: str) -> str:
    """Return a signed, fresh idempotency key for one form shown to one person."""
    return _serializer().dumps({"c": compound_code, "k": uuid.uuid4().hex})


def read_submission_token(token: str, compound_code: str) -> str | None:
    """Return the idempotency key inside a token signed for this compound, else None."""
    try:
        data = _serializer().loads(token)
    except BadSignature:
        return None
    if not isinstance(data, dict) or data.get("c") != compound_code:
        return None
    key = data.get("k")
    return key if isinstance(key, str) and len(key) == 32 else None


class AnsweringHomes(Homes):
    """Homes whose household, once found, is the one answering: found with its lock.

    On PostgreSQL the household is found and locked by one statement, so that
    storing its answer need not lock it again (see `find_and_lock_household`).
    """

    def has_room(self, building: str, unit: str, room: str) -> bool:
        self.found = find_and_lock_household(self.session, self.compound, building, unit, room)
        return self.found is not None


class ListField(Field):  # type: ignore[misc]
    """Every non-empty value posted under one name (the three priority pickers)."""

    data: list[str]

    def process_data(self, value: Any) -> None:
        self.data = [str(v) for v in value] if isinstance(value, list | tuple) else []

    def process_formdata(self, valuelist: list[Any]) -> None:
        self.data = [str(v).strip() for v in valuelist if str(v).strip()]

    def _value(self) -> str:
        return ""


@functools.cache
def _wtforms_translations(locale: str) -> support.NullTranslations:
    """WTForms' own messages in a language, read from disk once per process."""
    return support.Translations.load(messages_path(), [locale], domain="wtforms")


class HomeForm(FlaskForm):  # type: ignore[misc]
    """What every residents' answer form has: the household's pickers, own words, the key.

    The pickers' options come from the compound's layout (the view renders them); the
    fields take strings and the validators ask the compound about each, one query each.
    With a household code the household is known and `homes` is None: no pickers.
    """

    class Meta(FlaskForm.Meta):  # type: ignore[misc]
        def get_translations(self, form: Any) -> Any:
            # Flask-WTF reads WTForms' catalogue from disk on every request that
            # translates a message; residents send many, so it is kept per language.
            if not current_app.config.get("WTF_I18N_ENABLED", True):
                return super().get_translations(form)
            return _wtforms_translations(str(get_locale()))

    building = StringField(_l("Building"))
    unit = StringField(_l("Unit"))
    room = StringField(_l("Room"))
    comment = TextAreaField(_l("Anything else"))
    token = HiddenField()

    def __init__(
        self,
        *args: Any,
        homes: Homes | None,
        comment_max: int,
        compound_code: str,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.homes = homes
        self.compound_code = compound_code
        self.submission_key: str | None = None
        self.comment.validators = [
            Length(
                max=comment_max,
                message=_l("Please keep it to %(max)d characters.", max=comment_max),
            )
        ]
        if not self.is_submitted():
            self.token.data = new_submission_token(compound_code)

    def validate_building(self, field: Field) -> None:
        if self.homes is None:
            return
        if not field.data:
            raise ValidationError(_l("Please choose your building."))
        # The usual case, one query: the household exists, so its building and unit do.
        if (
            self.unit.data
            and self.room.data
            and self.homes.has_room(field.data, self.unit.data, self.room.data)
        ):
            return
        if not self.homes.has_building(field.data):
            raise ValidationError(_l("This compound has no such building."))

    def validate_unit(self, field: Field) -> None:
        if self.homes is None:
            return
        if not field.data:
            raise ValidationError(_l("Please choose your unit."))
        if self.building.errors or not self.building.data or self.homes.found:
            return  # the building's message says it all, or the household was found
        if not self.homes.has_unit(self.building.data, field.data):
            raise ValidationError(_l("This building has no such unit."))

    def validate_room(self, field: Field) -> None:
        if self.homes is None:
            return
        if not field.data:
            raise ValidationError(_l("Please choose your room."))
        if self.building.errors or self.unit.errors or not self.unit.data or self.homes.found:
            return
        if not self.homes.has_room(self.building.data, self.unit.data, field.data):
            raise ValidationError(_l("This unit has no such room."))

    def validate_token(self, field: Field) -> None:
        key = read_submission_token(field.data or "", self.compound_code)
        if key is None:
            raise ValidationError(
                _l("This form was changed after it was sent to you. Please reload the page.")
            )
        self.submission_key = key


class SurveyForm(HomeForm):
    """The needs survey (问需) of one compound."""

    elderly = BooleanField(_l("Someone is 60 or older"))
    children = BooleanField(_l("A child under 12 lives here"))
    mobility = BooleanField(_l("Someone has difficulty walking or climbing stairs"))
    tenure = StringField(_l("Home"))
    approve = ListField(_l("What should be fixed"))
    priority = ListField(_l("Top priorities"))

    def __init__(
        self,
        *args: Any,
        items: Sequence[MenuItem],
        rank_depth: int,
        household_label: str | None = None,
        offered: Collection[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        #: Set when a household code opened the form: the household is known, no pickers.
        self.household_label = household_label
        self.items = items
        #: The ids of the items offered, when read without the items (a submission's check).
        self.offered = offered
        self.rank_depth = rank_depth
        self.tenure_choices = [("owner", _l("We own the home")), ("tenant", _l("We rent the home"))]

    def validate_tenure(self, field: Field) -> None:
        if field.data and field.data not in ("owner", "tenant"):
            raise ValidationError(_l("Please choose owner or tenant."))

    def validate_approve(self, field: Field) -> None:
        offered = self.offered if self.offered is not None else {item.id for item in self.items}
        if not field.data:
            raise ValidationError(_l("Please tick at least one item."))
        if any(item not in offered for item in field.data):
            raise ValidationError(_l("One of the ticked items is not on this survey's menu."))
        if len(set(field.data)) != len(field.data):
            raise ValidationError(_l("An item was ticked twice."))

    def validate_priority(self, field: Field) -> None:
        chosen: list[str] = field.data
        if len(chosen) > self.rank_depth:
            raise ValidationError(_l("Choose at most %(n)d priorities.", n=self.rank_depth))
        if len(set(chosen)) != len(chosen):
            raise ValidationError(_l("Each priority must be a different item."))
        if any(item not in (self.approve.data or []) for item in chosen):
            raise ValidationError(_l("Priorities must be chosen among the items you ticked."))


def picker_options(layout: list[BuildingUnits]) -> dict[str, list[str]]:
    """Return the choices of the building, unit and room pickers of a compound."""
    units = sorted({u.number for b in layout for u in b.units}, key=_natural)
    rooms = sorted({r for b in layout for u in b.units for r in u.rooms}, key=_natural)
    return {"building": [b.number for b in layout], "unit": units, "room": rooms}


def _natural(text: str) -> tuple[int, str]:
    """Sort "10" after "9", keep non-numbers last."""
    return (int(text), "") if text.isascii() and text.isdecimal() else (10**9, text)


def answering_household(
    form: HomeForm, household: Household | None, survey: Survey
) -> Household | None:
    """Return the household an answer is for; None with the error set on the room picker.

    With a household code the household is the code's. By the open link it is the one
    the pickers found, unless that household has a code of its own and the survey takes
    both: then only the code answers for it, so that nobody can answer in a neighbour's
    name (and the page reveals nothing of who has answered).
    """
    verified = household is not None
    if household is None and form.homes is not None:
        household = form.homes.found  # the validator found it
    if household is None:  # validated above; a household removed meanwhile
        form.room.errors = [_l("This unit has no such room.")]
        return None
    if not verified and household.code_hash is not None and survey.mode == SurveyMode.BOTH:
        form.room.errors = [
            _l(
                "Your household has its own code (on the slip under your door). Please answer "
                "with it, so that nobody else can answer for your household."
            )
        ]
        return None
    return household
