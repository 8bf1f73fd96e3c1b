"""The published plan, and residents' comments and objections during its notice."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import current_app, flash, g, make_response, redirect, render_template, request, url_for
from flask.wrappers import Response
from flask_babel import gettext as _
from werkzeug.wrappers import Response as BaseResponse

from consult.access import current_compound, public
from consult.db import get_session
from consult.limits import GUESS_LIMIT, SUBMIT_LIMIT, limiter
from consult.models import Compound, Household
from consult.models.cycle import CommentKind, Plan, PlanItem
from consult.residents import bp
from consult.residents.forms import new_submission_token, picker_options, read_submission_token
from consult.services import codes, places, plan_notice, plans, surveys
from consult.services.ballots import Outcome, commit_with_retry

Page = str | tuple[str, int] | BaseResponse


def _guessed_wrong(response: Response) -> bool:
    """Count against the guess limit only a household code that matched nothing."""
    return bool(g.get("plan_code_failed"))


@dataclass
class CommentForm:
    """What a resident sent, read and checked against the compound and its plan."""

    kind: str = "comment"
    item: str = ""
    text: str = ""
    code: str = ""
    building: str = ""
    unit: str = ""
    room: str = ""
    token: str = ""
    errors: dict[str, str] = field(default_factory=dict)
    household: Household | None = None
    verified: bool = False
    key: str | None = None

    @classmethod
    def read(cls) -> CommentForm:
        form = request.form

        def short(name: str) -> str:
            return form.get(name, "")[:40]

        return cls(
            kind=short("kind"),
            item=short("item"),
            text=form.get("text", "")[:2000],
            code=short("code"),
            building=short("building"),
            unit=short("unit"),
            room=short("room"),
            token=form.get("token", "")[:200],
        )

    def plan_item_id(self) -> int | None:
        return int(self.item) if self.item else None

    def check(self, compound: Compound, plan: Plan) -> bool:
        """Fill `errors`, or the household and key; return whether the entry may be stored."""
        session = get_session()
        self.key = read_submission_token(self.token, compound.code)
        if self.key is None:
            self.errors["token"] = _(
                "This form was changed after it was sent to you. Please reload the page."
            )
        if self.kind not in (CommentKind.COMMENT, CommentKind.OBJECTION):
            self.errors["kind"] = _("Choose comment or objection.")
        published = {str(line["id"]) for line in (plan.published or {}).get("items", [])}
        if self.item and (
            self.item not in published
            or not self.item.isdecimal()
            or (item := session.get(PlanItem, int(self.item))) is None
            or item.plan_id != plan.id
        ):
            self.errors["item"] = _("Choose an item of the plan, or the plan as a whole.")
        self.text = self.text.strip()
        if not self.text:
            self.errors["text"] = _("Please write your comment or objection.")
        elif len(self.text) > plans.TEXT_MAX:
            self.errors["text"] = _("Please keep it to %(max)d characters.", max=plans.TEXT_MAX)
        if self.code.strip():
            self._by_code(compound)
        else:
            self._by_home(compound)
        return not self.errors

    def _by_code(self, compound: Compound) -> None:
        secret = current_app.config["SECRET_KEY"]
        household = codes.household_by_code(get_session(), secret, self.code)
        if household is None or household.compound_id != compound.id:
            g.plan_code_failed = True
            self.errors["code"] = _(
                "This household code is not known here. Check it on the slip under your door."
            )
            return
        self.household, self.verified = household, True

    def _by_home(self, compound: Compound) -> None:
        if not (self.building and self.unit and self.room):
            self.errors["home"] = _(
                "Type your household code, or choose your building, unit and room."
            )
            return
        homes = places.Homes(get_session(), compound)
        if not homes.has_room(self.building, self.unit, self.room) or homes.found is None:
            self.errors["home"] = _("This compound has no such home. Please check your choices.")
            return
        if homes.found.code_hash is not None:
            self.errors["home"] = _(
                "Your household has its own code (on the slip under your door). Please use it, "
                "so that nobody else can write in your household's name."
            )
            return
        self.household = homes.found


@bp.route("/c/<code>/plan", methods=["GET", "POST"])
@public
@limiter.limit(SUBMIT_LIMIT, methods=["POST"])
@limiter.limit(GUESS_LIMIT, methods=["POST"], deduct_when=_guessed_wrong)
def plan(code: str) -> Page:
    session = get_session()
    compound = current_compound(code)
    found = plans.plan_of(session, compound)
    if request.method == "GET":
        return _page(compound, found, CommentForm())
    today = surveys.local_today()
    if found is None or found.published is None or not plans.notice_open(compound, found, today):
        # Out of the notice: nothing is stored, and the page says why.
        return _page(compound, found, CommentForm(), refused=True, status=409)
    form = CommentForm.read()
    if not form.check(compound, found) or form.household is None or form.key is None:
        return _page(compound, found, form, status=400)
    household, key = form.household, form.key
    try:
        _stored, outcome = commit_with_retry(
            session,
            lambda: plan_notice.submit_comment(
                session,
                found,
                household,
                kind=CommentKind(form.kind),
                plan_item_id=form.plan_item_id(),
                text=form.text,
                form_key=key,
                verified=form.verified,
            ),
        )
    except plan_notice.VerifiedCommentExists:
        session.rollback()
        form.errors["home"] = _(
            "This household wrote with its household code. To change its entry, use the code."
        )
        return _page(compound, found, form, status=400)
    flash(
        _("Your entry replaced your household's earlier one.")
        if outcome == Outcome.REPLACED
        else _("Thank you: your entry is received and published below."),
        "info",
    )
    return redirect(url_for("residents.plan", code=code) + "#comments", 303)


def _page(
    compound: Compound,
    found: Plan | None,
    form: CommentForm,
    *,
    refused: bool = False,
    status: int = 200,
) -> Page:
    session = get_session()
    today = surveys.local_today()
    published = found.published if found else None
    is_open = plans.notice_open(compound, found, today)
    layout = places.layout(session, compound) if is_open else []
    response = make_response(
        render_template(
            "residents/plan.html",
            compound=compound,
            plan=found,
            published=published,
            lines={line["id"]: line for line in (published or {}).get("items", [])},
            entries=plan_notice.entries(session, found) if found and published else [],
            is_open=is_open,
            notice_ended=bool(found and found.notice_until and found.notice_until < today),
            refused=refused,
            form=form,
            token=form.token if form.key else new_submission_token(compound.code),
            options=picker_options(layout),
            # The pickers offer only the units of the chosen building, and its rooms (script).
            layout_map={b.number: {u.number: u.rooms for u in b.units} for b in layout},
        ),
        status,
    )
    # Back after sending must fetch a fresh form (and key), not resend the old one.
    response.headers["Cache-Control"] = "no-store"
    return response
