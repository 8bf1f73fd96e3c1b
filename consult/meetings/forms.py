"""Forms of the meeting pages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, Field, IntegerField, StringField, TextAreaField, TimeField
from wtforms.validators import InputRequired, Length, NumberRange, Optional, ValidationError

from consult.models import Party


class MeetingForm(FlaskForm):  # type: ignore[misc]
    """Title, date and time, place, parties invited."""

    title = StringField(_l("Title"), validators=[Length(max=120)])
    day = DateField(_l("Date"), validators=[InputRequired(_l("Choose the date."))])
    time = TimeField(_l("Time"), validators=[InputRequired(_l("Choose the time."))])
    place = StringField(_l("Place"), validators=[Length(max=120)])

    def validate_title(self, field: Field) -> None:
        if not (field.data or "").strip():
            raise ValidationError(_l("Give the meeting a title."))


def _hands(label: object) -> IntegerField:
    return IntegerField(
        label,
        validators=[
            Optional(),
            NumberRange(min=0, max=10_000, message=_l("Hands are counted from 0 up.")),
        ],
    )


class ItemRecordForm(FlaskForm):  # type: ignore[misc]
    """Hands, notes and decision of one agenda item."""

    hands_for = _hands(_l("For"))
    hands_against = _hands(_l("Against"))
    hands_abstain = _hands(_l("Abstain"))
    notes = TextAreaField(_l("Notes of the discussion"), validators=[Length(max=2000)])
    decision = TextAreaField(_l("Decision"), validators=[Length(max=500)])


class AttendeesForm(FlaskForm):  # type: ignore[misc]
    """People without phones, added by hand."""

    party = StringField(_l("Party"))
    count = IntegerField(
        _l("How many"),
        validators=[
            InputRequired(_l("Say how many.")),
            NumberRange(min=1, max=500, message=_l("From 1 to 500 at a time.")),
        ],
    )

    def validate_party(self, field: Field) -> None:
        if field.data not in {str(p) for p in Party}:
            raise ValidationError(_l("Choose a party."))


class ActionForm(FlaskForm):  # type: ignore[misc]
    """An action item."""

    what = StringField(_l("What is to be done"), validators=[Length(max=300)])
    owner = StringField(_l("Who (party)"))
    due_on = DateField(_l("By"), validators=[Optional()])
    agenda_item = StringField(_l("From agenda item"))

    def validate_what(self, field: Field) -> None:
        if not (field.data or "").strip():
            raise ValidationError(_l("Say what is to be done."))

    def validate_owner(self, field: Field) -> None:
        if field.data not in {str(p) for p in Party}:
            raise ValidationError(_l("Choose a party."))
