"""Facilitators' forms: paper entry, survey settings, compounds and households."""

from __future__ import annotations

import re
from typing import Any

from flask import request
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, DateField, Field, HiddenField, StringField, TextAreaField
from wtforms.validators import Length, Optional, ValidationError

from consult.residents.forms import new_submission_token, read_submission_token
from consult.services.paper import NumbersError, numbered, parse_numbers

NUMBER_MESSAGES = {
    "not_a_number": _l("“%(token)s” is not an item number."),
    "out_of_range": _l("There is no item %(token)s on the questionnaire."),
    "twice": _l("Item %(token)s was typed twice."),
}


class PaperEntryForm(FlaskForm):  # type: ignore[misc]
    """One paper questionnaire, typed in with the keyboard."""

    household = StringField(_l("Household (building-unit-room)"), validators=[Length(max=80)])
    approve = StringField(_l("Ticked items (numbers)"), validators=[Length(max=400)])
    priority = StringField(_l("Top three (numbers, in order)"), validators=[Length(max=100)])
    elderly = BooleanField(_l("60 or older"))
    children = BooleanField(_l("Child under 12"))
    mobility = BooleanField(_l("Difficulty walking"))
    tenure = StringField(_l("Owner or tenant"))
    comment = TextAreaField(_l("Anything else"))
    token = HiddenField()
    decision = HiddenField()

    def __init__(
        self,
        *args: Any,
        labels: set[str],
        items: list[Any],
        rank_depth: int,
        comment_max: int,
        compound_code: str,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.labels = labels
        self.numbered = numbered(items)
        self.rank_depth = rank_depth
        self.compound_code = compound_code
        self.approved_ids: list[str] = []
        self.priority_ids: list[str] = []
        self.submission_key: str | None = None
        self.comment.validators = [
            Length(
                max=comment_max,
                message=_l("Please keep it to %(max)d characters.", max=comment_max),
            )
        ]
        if not self.is_submitted():
            self.token.data = new_submission_token(compound_code)

    def _numbers(self, field: Field) -> list[str]:
        try:
            numbers = parse_numbers(field.data or "", len(self.numbered))
            if field.name == "approve":  # ticked in the list as well as typed
                ticked = parse_numbers(
                    " ".join(request.form.getlist("tick")[:100]), len(self.numbered)
                )
                numbers += [n for n in ticked if n not in numbers]
        except NumbersError as error:
            raise ValidationError(NUMBER_MESSAGES[error.reason] % {"token": error.token}) from error
        return [self.numbered[n - 1].item.id for n in numbers]

    def validate_household(self, field: Field) -> None:
        label = (field.data or "").strip()
        if not label:
            raise ValidationError(_l("Type the household, e.g. 3-2-301."))
        if label not in self.labels:
            raise ValidationError(_l("This compound has no household %(label)s.", label=label[:40]))
        field.data = label

    def validate_approve(self, field: Field) -> None:
        self.approved_ids = self._numbers(field)
        if not self.approved_ids:
            raise ValidationError(_l("Type the numbers of the ticked items."))

    def validate_priority(self, field: Field) -> None:
        self.priority_ids = self._numbers(field)
        if len(self.priority_ids) > self.rank_depth:
            raise ValidationError(_l("Choose at most %(n)d priorities.", n=self.rank_depth))
        if any(item not in self.approved_ids for item in self.priority_ids):
            raise ValidationError(_l("Priorities must be chosen among the items you ticked."))

    def validate_tenure(self, field: Field) -> None:
        if field.data and field.data not in ("owner", "tenant"):
            raise ValidationError(_l("Please choose owner or tenant."))

    def validate_decision(self, field: Field) -> None:
        if field.data not in ("", "replace", "keep", None):
            raise ValidationError(_l("Please reload the page."))

    def validate_token(self, field: Field) -> None:
        key = read_submission_token(field.data or "", self.compound_code)
        if key is None:
            raise ValidationError(
                _l("This form was changed after it was sent to you. Please reload the page.")
            )
        self.submission_key = key


class SurveySettingsForm(FlaskForm):  # type: ignore[misc]
    """Open and close a survey, and choose what it offers."""

    status = StringField(_l("Status"))
    opens_on = DateField(_l("Opens on"), validators=[Optional()])
    closes_on = DateField(_l("Closes on"), validators=[Optional()])

    def validate_status(self, field: Field) -> None:
        if field.data not in ("draft", "open", "closed"):
            raise ValidationError(_l("Choose a status."))

    def validate_closes_on(self, field: Field) -> None:
        if field.data and self.opens_on.data and field.data < self.opens_on.data:
            raise ValidationError(_l("The survey cannot close before it opens."))


class CustomItemForm(FlaskForm):  # type: ignore[misc]
    """An item the compound adds to its own menu."""

    name_zh = StringField(_l("Chinese name"), validators=[Length(max=120)])
    name_en = StringField(_l("English name"), validators=[Length(max=160)])
    category = StringField(_l("Category"))

    def validate_name_zh(self, field: Field) -> None:
        if not (field.data or "").strip():
            raise ValidationError(_l("Give the item a Chinese name."))

    def validate_category(self, field: Field) -> None:
        if field.data not in ("basic", "improvement", "enhancement"):
            raise ValidationError(_l("Choose a category."))


class ImportForm(FlaskForm):  # type: ignore[misc]
    """Upload a sheet of households."""

    sheet = FileField(_l("Excel or CSV file"))


class CompoundForm(FlaskForm):  # type: ignore[misc]
    """A compound's name, code and address."""

    district = StringField(_l("District"))
    name = StringField(_l("Name"), validators=[Length(max=120)])
    code = StringField(
        _l("Code (letters, digits and -, used in the QR link)"), validators=[Length(max=40)]
    )
    address = StringField(_l("Address"), validators=[Length(max=200)])


class BuildingForm(FlaskForm):  # type: ignore[misc]
    """Add a building with its units, floors and rooms in one go."""

    number = StringField(_l("Building number"), validators=[Length(max=20)])
    units = StringField(_l("Units"))
    floors = StringField(_l("Floors"))
    per_floor = StringField(_l("Households per floor and unit"))

    def _count(self, field: Field, high: int) -> int:
        text = (field.data or "").strip()
        if not re.fullmatch(r"[0-9]{1,4}", text) or not 1 <= int(text) <= high:
            raise ValidationError(_l("Type a whole number from 1 to %(high)d.", high=high))
        return int(text)

    def validate_number(self, field: Field) -> None:
        if not (field.data or "").strip():
            raise ValidationError(_l("Give the building a number."))

    def validate_units(self, field: Field) -> None:
        self._count(field, 20)

    def validate_floors(self, field: Field) -> None:
        self._count(field, 60)

    def validate_per_floor(self, field: Field) -> None:
        self._count(field, 12)


class HouseholdForm(FlaskForm):  # type: ignore[misc]
    """What the records say of one household."""

    floor = StringField(_l("Floor"))
    area = StringField(_l("Floor area (m²)"))
    tenure = StringField(_l("Owner or tenant"))
    elderly = BooleanField(_l("Someone is 60 or older"))

    def validate_floor(self, field: Field) -> None:
        text = (field.data or "").strip()
        if not re.fullmatch(r"-?[0-9]{1,3}", text) or not -5 <= int(text) <= 200:
            raise ValidationError(_l("Type the floor as a whole number."))

    def validate_area(self, field: Field) -> None:
        text = (field.data or "").strip()
        if not text:
            return
        if not re.fullmatch(r"[0-9]{1,5}(\.[0-9]{1,3})?", text):
            raise ValidationError(_l("Type the area as a number, e.g. 68.5."))
        if not 0 < float(text) < 10_000:
            raise ValidationError(_l("Type the area as a number, e.g. 68.5."))

    def validate_tenure(self, field: Field) -> None:
        if field.data and field.data not in ("owner", "tenant"):
            raise ValidationError(_l("Please choose owner or tenant."))


class PublishForm(FlaskForm):  # type: ignore[misc]
    """Publish the results: how residents object or comment, and until when."""

    contact = TextAreaField(_l("How residents object or comment"), validators=[Length(max=1000)])
    comments_until = DateField(_l("Objections and comments until"))

    def validate_contact(self, field: Field) -> None:
        if not (field.data or "").strip():
            raise ValidationError(
                _l("Say how residents object or comment: who, where, how to reach them.")
            )

    def validate_comments_until(self, field: Field) -> None:
        if field.data is None:
            field.errors.clear()  # WTForms' own "Not a valid date value": ours says more
            raise ValidationError(_l("Give the last day for objections, as 2026-12-01."))
