"""Setting compounds up: import from a sheet, buildings and households, the survey itself."""

from __future__ import annotations

import csv
import io
import secrets
import time
from pathlib import Path

from flask import abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from openpyxl import Workbook
from sqlmodel import Session, col, select
from werkzeug.wrappers import Response as BaseResponse

from consult.access import current_compound, requires
from consult.db import get_session
from consult.facilitators import bp
from consult.facilitators.forms import (
    BuildingForm,
    CompoundForm,
    CustomItemForm,
    HouseholdForm,
    ImportForm,
    SurveySettingsForm,
)
from consult.models import (
    Building,
    CatalogItem,
    Category,
    Compound,
    District,
    Household,
    Role,
    Survey,
    SurveyPhase,
    SurveyStatus,
)
from consult.models._base import row_id
from consult.services import accounts, audit, imports, sheets, surveys
from consult.services.seed import add_building

Page = str | tuple[str, int] | BaseResponse
RUN = (Role.ADMIN, Role.FACILITATOR)


# -- importing a sheet -------------------------------------------------------------------------


def _upload_dir() -> Path:
    """Return the folder of uploaded sheets, removing those older than a day."""
    folder = Path(current_app.instance_path) / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    stale = time.time() - 24 * 3600
    for old in folder.iterdir():
        if old.stat().st_mtime < stale:
            old.unlink(missing_ok=True)
    return folder


def _plan(session: Session, filename: str, data: bytes) -> imports.ImportPlan:
    records = sheets.read_sheet(filename, data)
    rows, errors = sheets.check_rows(records)
    may_run = (
        None if current_user.role == Role.ADMIN else accounts.compound_ids(session, current_user)
    )
    return imports.plan_import(session, rows, errors, may_run=may_run)


@bp.route("/import", methods=["GET", "POST"])
@requires(*RUN)
def import_sheet() -> Page:
    form = ImportForm()
    if form.validate_on_submit():
        upload = form.sheet.data
        data = upload.read() if upload else b""
        filename = (upload.filename or "") if upload else ""
        try:
            plan = _plan(get_session(), filename, data)
        except sheets.SheetError as error:
            return render_template("facilitators/import.html", form=form, sheet_error=error), 400
        token = secrets.token_hex(16)
        suffix = ".xlsx" if filename.lower().endswith(".xlsx") else ".csv"
        (_upload_dir() / f"{current_user.id}-{token}{suffix}").write_bytes(data)
        return render_template(
            "facilitators/import_preview.html",
            plan=plan,
            token=token,
            suffix=suffix,
            filename=filename[-80:],
        )
    return render_template("facilitators/import.html", form=form, sheet_error=None)


@bp.post("/import/<token>/confirm")
@requires(*RUN)
def import_confirm(token: str) -> Page:
    suffix = request.form.get("suffix", "")
    if not token.isalnum() or len(token) != 32 or suffix not in (".xlsx", ".csv"):
        abort(404)
    path = _upload_dir() / f"{current_user.id}-{token}{suffix}"
    if not path.exists():
        flash(_("That upload has expired. Please upload the sheet again."), "error")
        return redirect(url_for("facilitators.import_sheet"), 303)
    session = get_session()
    plan = _plan(session, f"sheet{suffix}", path.read_bytes())
    if plan.errors:
        path.unlink(missing_ok=True)
        flash(_("The sheet still has rows that cannot be imported; nothing was changed."), "error")
        return redirect(url_for("facilitators.import_sheet"), 303)
    touched = imports.apply_import(session, plan)
    if current_user.role == Role.FACILITATOR:
        mine = accounts.compound_ids(session, current_user)
        for compound in touched:
            if compound.id not in mine:
                accounts.add_compound(session, current_user, compound)
    audit.record(
        session,
        current_user,
        "import.apply",
        "compounds:" + " ".join(c.code for c in touched),
        new_households=plan.new_households,
        changed=len(plan.changed_households),
    )
    session.commit()
    path.unlink(missing_ok=True)
    flash(
        _(
            "Imported: %(new)d new households, %(changed)d changed.",
            new=plan.new_households,
            changed=len(plan.changed_households),
        ),
        "info",
    )
    return redirect(url_for("facilitators.home"), 303)


@bp.get("/import/template.<kind>")
@requires(*RUN)
def import_template(kind: str) -> Page:
    english = str(request.accept_languages.best_match(["zh", "en"]) or "") == "en" or (
        request.cookies.get("lang") == "en"
    )
    headers = sheets.HEADERS_EN if english else sheets.TEMPLATE_HEADERS_ZH
    if kind == "csv":
        text = io.StringIO()
        writer = csv.writer(text)
        writer.writerow(headers)
        writer.writerows(sheets.template_rows())
        data = io.BytesIO(("\ufeff" + text.getvalue()).encode("utf-8"))
        return send_file(
            data, mimetype="text/csv", as_attachment=True, download_name="consult-households.csv"
        )
    if kind != "xlsx":
        abort(404)
    book = Workbook()
    sheet = book.active
    sheet.title = "households"
    sheet.append(list(headers))
    for row in sheets.template_rows():
        sheet.append(row)
    sheet.freeze_panes = "A2"
    for column in "ABCDEFGHIJ":
        sheet.column_dimensions[column].width = 14
    data = io.BytesIO()
    book.save(data)
    data.seek(0)
    return send_file(
        data,
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        as_attachment=True,
        download_name="consult-households.xlsx",
    )


# -- compounds, buildings, households -----------------------------------------------------------


@bp.route("/compounds/new", methods=["GET", "POST"])
@requires(*RUN)
def new_compound() -> Page:
    session = get_session()
    form = CompoundForm()
    districts = list(session.exec(select(District).order_by(col(District.code))).all())
    if form.validate_on_submit():
        district = next((d for d in districts if d.code == form.district.data), None)
        code = (form.code.data or "").strip().lower()
        name = (form.name.data or "").strip()
        if district is None:
            form.district.errors = [_("Choose a district.")]
        if not name:
            form.name.errors = [_("Give the compound a name.")]
        if not sheets.CODE_RE.match(code):
            form.code.errors = [_("Use 2-40 lower-case letters, digits or -.")]
        elif session.exec(select(Compound).where(Compound.code == code)).first():
            form.code.errors = [_("This code is taken.")]
        if district is not None and not form.errors:
            compound = Compound(
                code=code,
                name=name,
                district_id=row_id(district.id),
                address=(form.address.data or "").strip(),
            )
            session.add(compound)
            session.flush()
            if current_user.role == Role.FACILITATOR:
                accounts.add_compound(session, current_user, compound)
            survey = Survey(compound_id=row_id(compound.id), status=SurveyStatus.DRAFT)
            session.add(survey)
            session.flush()
            surveys.offer_whole_catalog(session, survey)
            audit.record(session, current_user, "compound.create", f"compound:{code}")
            session.commit()
            return redirect(url_for("facilitators.compound_setup", code=code), 303)
    return render_template("facilitators/new_compound.html", form=form, districts=districts), (
        400 if form.errors else 200
    )


@bp.route("/c/<code>/setup", methods=["GET", "POST"])
@requires(*RUN, compound="run")
def compound_setup(code: str) -> Page:
    session = get_session()
    place = current_compound(code)
    form = BuildingForm()
    if form.validate_on_submit():
        number = (form.number.data or "").strip()[:20]
        if session.exec(
            select(Building).where(Building.compound_id == place.id, Building.number == number)
        ).first():
            form.number.errors = [_("Building %(n)s exists already.", n=number)]
        else:
            add_building(
                session,
                place,
                number,
                units=int(form.units.data),
                floors=int(form.floors.data),
                per_floor=int(form.per_floor.data),
            )
            audit.record(session, current_user, "building.create", f"compound:{code}/{number}")
            session.commit()
            flash(_("Building %(n)s added.", n=number), "info")
            return redirect(url_for("facilitators.compound_setup", code=code), 303)
    households = session.exec(
        select(Household).where(Household.compound_id == place.id).order_by(col(Household.label))
    ).all()
    return render_template(
        "facilitators/setup.html", compound=place, form=form, households=households
    ), 400 if form.errors else 200


@bp.post("/c/<code>/details")
@requires(*RUN, compound="run")
def compound_details(code: str) -> Page:
    session = get_session()
    place = current_compound(code)
    form = CompoundForm()
    name = (form.name.data or "").strip()
    if not form.validate() or not name:
        flash(_("Give the compound a name."), "error")
        return redirect(url_for("facilitators.compound_setup", code=code), 303)
    place.name, place.address = name, (form.address.data or "").strip()
    session.add(place)
    audit.record(session, current_user, "compound.update", f"compound:{code}", name=name)
    session.commit()
    flash(_("Saved."), "info")
    return redirect(url_for("facilitators.compound_setup", code=code), 303)


@bp.route("/c/<code>/households/<int(max=2147483647):household_id>", methods=["GET", "POST"])
@requires(*RUN, compound="run")
def household(code: str, household_id: int) -> Page:
    session = get_session()
    place = current_compound(code)
    home = session.get(Household, household_id)
    if home is None or home.compound_id != place.id:
        abort(404)
    form = HouseholdForm(obj=home if request.method == "GET" else None)
    if request.method == "GET":
        form.floor.data = str(home.floor)
        form.area.data = "" if home.area is None else f"{home.area:g}"
    if form.validate_on_submit():
        home.floor = int(form.floor.data)
        home.area = float(form.area.data) if (form.area.data or "").strip() else None
        home.tenure = form.tenure.data or None
        home.elderly = bool(form.elderly.data)
        session.add(home)
        audit.record(session, current_user, "household.update", f"household:{code}/{home.label}")
        session.commit()
        flash(_("Saved."), "info")
        return redirect(url_for("facilitators.compound_setup", code=code), 303)
    return render_template(
        "facilitators/household.html", compound=place, household=home, form=form
    ), 400 if form.errors else 200


# -- the survey: dates, status, items -----------------------------------------------------------


@bp.route("/c/<code>/survey", methods=["GET", "POST"])
@requires(*RUN, compound="run")
def survey_settings(code: str) -> Page:
    session = get_session()
    place = current_compound(code)
    survey = surveys.current_survey(session, place) or _draft_survey(session, place)
    form = SurveySettingsForm(obj=survey if request.method == "GET" else None)
    catalog = list(
        session.exec(
            select(CatalogItem)
            .where((col(CatalogItem.compound_id).is_(None)) | (CatalogItem.compound_id == place.id))
            .order_by(col(CatalogItem.compound_id).is_not(None), col(CatalogItem.position))
        ).all()
    )
    offered = {item.id for item in surveys.offered_items(session, survey)}
    if form.validate_on_submit():
        chosen = [item for item in catalog if item.id in set(request.form.getlist("items"))]
        if not chosen:
            form.status.errors = [_("Offer at least one item.")]
        else:
            survey.status = SurveyStatus(form.status.data)
            survey.opens_on, survey.closes_on = form.opens_on.data, form.closes_on.data
            session.add(survey)
            surveys.offer_items(session, survey, chosen)
            audit.record(
                session,
                current_user,
                "survey.update",
                f"compound:{code}",
                status=form.status.data,
                items=len(chosen),
            )
            session.commit()
            flash(_("Saved."), "info")
            return redirect(url_for("facilitators.survey_settings", code=code), 303)
    return render_template(
        "facilitators/survey.html",
        compound=place,
        survey=survey,
        form=form,
        catalog=catalog,
        offered=offered,
        item_form=CustomItemForm(),
    ), (400 if form.errors else 200)


@bp.post("/c/<code>/survey/items")
@requires(*RUN, compound="run")
def add_item(code: str) -> Page:
    session = get_session()
    place = current_compound(code)
    form = CustomItemForm()
    if not form.validate():
        for errors in form.errors.values():
            for message in errors:
                flash(str(message), "error")
        return redirect(url_for("facilitators.survey_settings", code=code), 303)
    item = CatalogItem(
        id=f"{code}-{secrets.token_hex(3)}",
        category=Category(form.category.data),
        name_zh=form.name_zh.data.strip(),
        name_en=(form.name_en.data or "").strip() or form.name_zh.data.strip(),
        position=10_000,
        compound_id=place.id,
    )
    session.add(item)
    session.flush()
    survey = surveys.current_survey(session, place) or _draft_survey(session, place)
    surveys.offer_items(session, survey, [*surveys.offered_items(session, survey), item])
    audit.record(session, current_user, "item.create", f"compound:{code}", item=item.name_zh)
    session.commit()
    flash(_("Item added to the menu."), "info")
    return redirect(url_for("facilitators.survey_settings", code=code), 303)


def _draft_survey(session: Session, place: Compound) -> Survey:
    survey = session.exec(
        select(Survey)
        .where(Survey.compound_id == place.id, Survey.phase == SurveyPhase.NEEDS)
        .order_by(col(Survey.id).desc())
    ).first()
    if survey is None:
        survey = Survey(compound_id=row_id(place.id), status=SurveyStatus.DRAFT)
        session.add(survey)
        session.flush()
        surveys.offer_whole_catalog(session, survey)
    return survey
