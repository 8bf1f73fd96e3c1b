"""Translated names of the codes stored in the database, for templates."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import Flask, g, has_app_context
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from sqlmodel import select

from consult.catalog import CATEGORIES
from consult.models import CatalogItem, Survey

NAMES = {
    "role": {
        "admin": _l("Administrator"),
        "planner": _l("Planner"),
        "facilitator": _l("Facilitator"),
    },
    "mode": {
        "open": _l("with the compound's QR link only"),
        "codes": _l("with their household code only"),
        "both": _l("with the QR link or their household code"),
    },
    "method": {
        "approval": _l("by approvals"),
        "borda": _l("by priority points (Borda)"),
        "schulze": _l("by pairwise comparison (Schulze)"),
    },
    "channel": {
        "qr": _l("QR link"),
        "invite": _l("household code"),
        "paper": _l("paper"),
        "meeting": _l("meeting"),
    },
    "status": {
        "draft": _l("draft"),
        "open": _l("open"),
        "closed": _l("closed"),
    },
    "party": {
        "party_organisation": _l("Party organisation"),
        "residents_committee": _l("Residents' committee"),
        "owners_committee": _l("Owners' committee"),
        "property_company": _l("Property company"),
        "residents": _l("Residents"),
        "social_organisations": _l("Social organisations"),
        "volunteers": _l("Volunteers"),
        "party_members": _l("Party members"),
    },
    "meeting_status": {
        "planned": _l("planned"),
        "in_progress": _l("in progress"),
        "closed": _l("closed"),
        "published": _l("published"),
    },
    "choice": {"for": _l("for"), "against": _l("against"), "abstain": _l("abstain")},
    "action_status": {"open": _l("open"), "in_progress": _l("in progress"), "done": _l("done")},
    "category": {
        "basic": _l("Basic"),
        "improvement": _l("Improvement"),
        "enhancement": _l("Enhancement"),
    },
    "cycle": {
        "needs": _l("Needs survey"),
        "plan": _l("Drafting the plan"),
        "notice": _l("Plan on public notice"),
        "consent": _l("Owners' consent"),
        "works": _l("Works"),
        "evaluation": _l("Asking results"),
        "maintained": _l("Maintained"),
    },
    "cycle_help": {
        "needs": _l("Every household says what it needs fixed first."),
        "plan": _l("The committee drafts the plan from the ranked menu and the budget."),
        "notice": _l("The plan is posted; residents comment or object."),
        "consent": _l("Owners vote on what the law leaves to them (funds, elevators, rules)."),
        "works": _l("The renovation is carried out; progress is posted."),
        "evaluation": _l("Residents rate what was done."),
        "maintained": _l("Long-term management of what was renovated."),
    },
    "survey_stage": {
        "none": _l("no survey"),
        "draft": _l("survey being prepared"),
        "open": _l("survey open"),
        "closed": _l("survey closed"),
        "published": _l("results published"),
    },
    # Why a meeting step was refused.
    "meeting_error": {
        "started": _l("The meeting has started: the agenda and details can no longer change."),
        "published": _l("The minutes are published. Reopen the meeting to change anything."),
        "wrong_state": _l("That cannot be done at this stage of the meeting."),
        "empty_item": _l("Choose a catalogue item or write a topic."),
        "unknown_item": _l("That item is not on this compound's menu."),
        "bad_count": _l("From 1 to 500 at a time."),
        "negative_hands": _l("Hands are counted from 0 up."),
        "more_hands_than_people": _l("More hands than people present: add the attendance first."),
        "vote_was_opened": _l("Phone voting on this item was opened already."),
        "vote_not_open": _l("Voting on this item is not open."),
        "vote_not_closed": _l("Close the vote first."),
        "applied_already": _l("These votes were applied already."),
        "not_signed_in": _l("Sign in with your household first."),
        "voted_already": _l(
            "Your household has voted on this item already; a vote cannot be changed."
        ),
        "signin_closed": _l("The meeting is over; signing in is closed."),
        "signin_not_yet": _l("Signing in opens when the meeting starts."),
        "code_needed": _l(
            "Your household has its own code (on the slip under your door): sign in with it."
        ),
        "survey_closed": _l("The survey has closed: its answers can no longer change."),
        "empty_action": _l("Say what is to be done."),
    },
    # Why a sheet could not be read at all.
    "sheet_error": {
        "unreadable_file": _l("The file could not be read as a spreadsheet (%(detail)s)."),
        "wrong_type": _l("Upload an Excel (.xlsx) or CSV file."),
        "empty": _l("The sheet is empty."),
        "missing_columns": _l("The sheet lacks the columns: %(detail)s."),
        "too_many_rows": _l("The sheet has more than %(detail)s rows; split it."),
    },
    # Why one row of a sheet was refused.
    "row_error": {
        "missing_district": _l("the district is missing"),
        "missing_compound": _l("the compound is missing"),
        "missing_building": _l("the building is missing"),
        "missing_unit": _l("the unit is missing"),
        "missing_floor": _l("the floor is missing"),
        "missing_room": _l("the room is missing"),
        "too_long": _l("the %(detail)s is too long"),
        "unreadable_floor": _l("the floor “%(detail)s” is not a whole number"),
        "unreadable_area": _l("the floor area “%(detail)s” is not a number"),
        "unreadable_tenure": _l("“%(detail)s” is neither owner nor tenant"),
        "unreadable_elderly": _l("“%(detail)s” is neither yes nor no (60+)"),
        "bad_code": _l("the code “%(detail)s” is not 2-40 lower-case letters, digits or -"),
        "duplicate_room": _l("the same room as row %(detail)s"),
        "unknown_district": _l("there is no district “%(detail)s” (an administrator can add it)"),
        "code_taken": _l("the code %(detail)s belongs to another compound"),
        "code_differs": _l("the code differs from the compound's (%(detail)s)"),
        "not_yours": _l("you do not run the compound “%(detail)s”"),
    },
    # Where the works on a plan item stand.
    "works": {
        "not_started": _l("not started"),
        "in_progress": _l("in progress"),
        "done": _l("done"),
        "dropped": _l("dropped"),
    },
    # Owners' consent: kinds of question, outcomes, scopes, how a vote was cast.
    "consent": {
        "ordinary": _l("Ordinary matter (the plan, management rules, using the maintenance fund)"),
        "major": _l("Raising maintenance funds, rebuilding or change of use of common parts"),
        "elevator": _l("Elevator for a unit"),
        "approved": _l("Approved"),
        "rejected": _l("Not approved"),
        "no_quorum": _l("No decision: too few owners took part"),
        "objected": _l("Not approved: an owner objected"),
        "area_unknown": _l("Not decided: some floor areas are unknown"),
        "compound": _l("The whole compound"),
        "building": _l("A building"),
        "unit": _l("A unit"),
        "code": _l("household code"),
        "paper": _l("paper"),
    },
}


def name_of(kind: str, code: object) -> str:
    """Return the translated name of a stored code (the code itself if unknown).

    Translated once per request and kind: a city page names hundreds of rows.
    """
    if not has_app_context():
        return str(NAMES[kind].get(str(code), code))
    names: dict[tuple[str, str, str], str] = g.setdefault("translated_names", {})
    key = (str(get_locale()), kind, str(code))  # force_locale may switch within a context
    if key not in names:
        names[key] = str(NAMES[kind].get(key[2], code))
    return names[key]


def line_name(line: Any) -> str:
    """A plan line's name in the page's language: the catalogue's English name in English.

    Plan lines keep the Chinese title they were drafted with; an item the plan wrote in
    has only that. The catalogue's English names are read once per request.
    """
    title = str(getattr(line, "title", ""))
    item_id = getattr(line, "item_id", None)
    if not item_id or not has_app_context() or not str(get_locale()).startswith("en"):
        return title
    names: dict[str, str] | None = g.get("catalog_names_en")
    if names is None:
        from consult.db import get_session  # the tables are read only when a page asks

        rows = get_session().exec(select(CatalogItem.id, CatalogItem.name_en)).all()
        names = g.catalog_names_en = dict(rows)
    return names.get(item_id, title)


def explained(kind: str, reason: str, detail: str = "") -> str:
    """Return the translated explanation of an import problem."""
    message = NAMES[kind].get(reason)
    return str(message % {"detail": detail}) if message is not None else f"{reason} {detail}"


def survey_status(survey: Survey) -> str:
    """Return the survey's status as people say it."""
    return name_of("status", survey.status)


def by_category(items: Iterable[Any], attribute: str = "category") -> list[tuple[str, list[Any]]]:
    """Group items by category in the official order (basic, improvement, enhancement)."""
    groups: dict[str, list[Any]] = {category: [] for category in CATEGORIES}
    for item in items:
        value: Any = item
        for part in attribute.split("."):
            value = getattr(value, part)
        groups.setdefault(str(value), []).append(item)
    return [(category, members) for category, members in groups.items() if members]


def init_app(app: Flask) -> None:
    """Make the names available in every template."""
    app.add_template_global(lambda code: name_of("role", code), "role_name")
    app.add_template_global(lambda code: name_of("mode", code), "mode_name")
    app.add_template_global(lambda code: name_of("method", code), "method_name")
    app.add_template_global(lambda code: name_of("channel", code), "channel_name")
    app.add_template_global(survey_status, "survey_status")
    app.add_template_global(line_name, "line_name")
    app.add_template_filter(by_category, "by_category")
    app.add_template_global(lambda code: name_of("status", code), "status_name")
    for kind in (
        "party",
        "meeting_status",
        "choice",
        "action_status",
        "survey_stage",
        "cycle",
        "cycle_help",
    ):
        app.add_template_global(lambda code, kind=kind: name_of(kind, code), f"{kind}_name")
    app.add_template_global(lambda r, d="": explained("sheet_error", r, d), "sheet_error_text")
    app.add_template_global(lambda r, d="": explained("row_error", r, d), "row_error_text")
