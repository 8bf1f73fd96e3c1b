"""Exports: Excel workbooks, CSV tables and consult.ballots/1 JSON, from the pages and the CLI."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook
from openpyxl.workbook import Workbook
from sqlmodel import Session, select

import consult.tally as engine
from consult.models import AuditEvent, Compound, MeetingStatus, Party, SurveyStatus
from consult.services import meetings
from consult.services.ballots import Answers, submit_ballot
from consult.services.seed import DemoCompound, build_compound
from consult.services.tallies import ballots_document, compound_menu
from tests.factories import create_compound, create_district, create_user, log_in, open_survey

BOM = "\ufeff".encode()
FORMULA = '=HYPERLINK("http://evil.example","点我")'
ANSWERS = [
    Answers(approve=["gas_pipeline", "roof_waterproofing", "parking"], priorities=["parking"]),
    Answers(
        approve=["gas_pipeline", "elevator_retrofit"],
        priorities=["elevator_retrofit", "gas_pipeline"],
        elderly=True,
        comment="楼道灯经常不亮",
    ),
    Answers(approve=["gas_pipeline", "parking"], children=True, comment=FORMULA),
    Answers(approve=["roof_waterproofing"]),
]


@pytest.fixture
def world(app: Flask, session: Session) -> dict[str, Any]:
    """Two compounds in 奎文区, one in 坊子区; ballots, a closed meeting, an action item."""
    compound, households = create_compound(session)
    other, other_households = create_compound(session, code="otheryard", name="别的小区")
    fangzi = create_district(session, code="fangzi", name="坊子区")
    far_households = build_compound(
        session, DemoCompound("faryard", "远方小区", "fangzi", "", (1,), 2, 2, 0), fangzi
    )
    session.commit()
    far = session.exec(select(Compound).where(Compound.code == "faryard")).one()
    survey = open_survey(session, compound)
    for n, answers in enumerate(ANSWERS):
        submit_ballot(
            session,
            survey=survey,
            household=households[n],
            answers=answers,
            submission_key=f"test-{n}".ljust(32, "x"),
        )
    for place, homes in ((other, other_households), (far, far_households)):
        submit_ballot(
            session,
            survey=open_survey(session, place),
            household=homes[0],
            answers=Answers(approve=["greening"]),
            submission_key=f"{place.code}-1".ljust(32, "x"),
        )
    meeting = meetings.create_meeting(
        session,
        compound,
        title="小马扎议事会：停车",
        starts_at=datetime(2026, 3, 1, 16, 30, tzinfo=UTC),  # 00:30 on 2 March in Weifang
        place="广场",
        invited=list(Party),
    )
    parking = meetings.add_agenda_item(session, meeting, item_id="parking", topic="")
    pets = meetings.add_agenda_item(session, meeting, item_id=None, topic="宠物怎么管")
    meetings.set_status(session, meeting, MeetingStatus.IN_PROGRESS, survey)
    meetings.add_attendees(session, meeting, Party.RESIDENTS, 12)
    meetings.record_item(session, meeting, parking, hands=(9, 2, 1), notes="", decision="同意")
    meetings.record_item(session, meeting, pets, hands=(5, 5, 0), notes="", decision="")
    meetings.add_action(
        session,
        meeting,
        what="=1+2 划停车位",
        owner=Party.PROPERTY_COMPANY,
        due_on=date(2026, 4, 1),
        agenda_item_id=parking.id,
    )
    meetings.set_status(session, meeting, MeetingStatus.CLOSED, survey)
    session.commit()
    create_user(session, "admin", "admin")
    create_user(session, "planner", "planner")
    create_user(session, "far_planner", "planner", districts=[fangzi])
    create_user(session, "facilitator", "facilitator", compounds=[compound])
    create_user(session, "other_facilitator", "facilitator", compounds=[other])
    return {"compound": compound, "survey": survey, "households": households}


def client_of(app: Flask, username: str | None) -> FlaskClient:
    client = app.test_client()
    if username is not None:
        assert log_in(client, username).status_code == 302
    return client


def get(client: FlaskClient, path: str) -> Any:
    """GET a page and read it to the end, as a server does: a streamed export then ends its
    request (and its database transaction) before the test goes on."""
    response = client.get(path)
    response.get_data()
    response.close()
    return response


def workbook(response: Any) -> Workbook:
    assert response.status_code == 200, response.status_code
    assert response.mimetype.endswith("spreadsheetml.sheet")
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Content-Disposition"].startswith("attachment; filename=")
    assert int(response.headers["Content-Length"]) == len(response.data)
    return load_workbook(io.BytesIO(response.data))


def rows_of(book: Workbook, index: int) -> list[tuple[Any, ...]]:
    return list(book.worksheets[index].iter_rows(values_only=True))


def csv_rows(response: Any) -> list[list[str]]:
    assert response.status_code == 200, response.status_code
    assert response.data.startswith(BOM)
    return list(csv.reader(io.StringIO(response.data.decode("utf-8").removeprefix("\ufeff"))))


# -- Excel -------------------------------------------------------------------------------------


def test_compound_workbook_has_the_five_sheets_with_chinese_headers(
    app: Flask, world: dict[str, Any]
) -> None:
    response = get(client_of(app, "facilitator"), "/p/c/testyard/export.xlsx")
    book = workbook(response)
    assert book.sheetnames == ["小区", "清单", "答卷", "议事会", "行动事项"]
    headers = [rows_of(book, index)[0] for index in range(5)]
    assert headers[0] == (
        "城区",
        "小区代码",
        "小区",
        "户数",
        "已回答户数",
        "覆盖率",
        "调查状态",
        "截止日期",
        "未完成的行动事项",
        "预算（元）",
    )
    assert headers[1][:10] == (
        "小区代码",
        "小区",
        "排名",
        "项目代码",
        "项目",
        "类别",
        "赞成户数",
        "支持率",
        "95% 区间下限",
        "95% 区间上限",
    )
    assert headers[2] == (
        "小区代码",
        "住户（楼-单元-房号）",
        "楼栋",
        "渠道",
        "已核验",
        "60岁以上",
        "12 岁以下孩子",
        "提交时间（北京时间）",
        "选择的项目",
        "第 1 优先",
        "第 2 优先",
        "第 3 优先",
    )
    assert headers[3][2:8] == ("会议码", "主题", "日期", "状态", "到场人数", "议题")
    assert headers[4][3:] == ("要做的事", "负责方", "完成期限", "状态", "逾期")
    compounds = rows_of(book, 0)
    assert len(compounds) == 2  # the header and testyard only
    district, code, name, households, answered, coverage = compounds[1][:6]
    assert (district, code, name, households, answered) == ("奎文区", "testyard", "测试小区", 24, 4)
    assert coverage == round(4 / 24, 6)  # as the tally rounds shares
    closes = datetime.combine(world["survey"].closes_on, time())
    assert compounds[1][6:] == ("进行中", closes, 1, None)  # open, closing day, 1 action open


def test_workbook_types_numbers_percentages_dates_and_freezes_the_header(
    app: Flask, world: dict[str, Any]
) -> None:
    book = workbook(get(client_of(app, "admin"), "/p/c/testyard/export.xlsx"))
    for sheet in book.worksheets:
        assert sheet.freeze_panes == "A2"
        assert all(cell.font.b for cell in sheet[1])
        assert sheet.column_dimensions["A"].width >= 10
    compounds = book.worksheets[0]
    households, coverage, closes = compounds["D2"], compounds["F2"], compounds["H2"]
    assert households.data_type == "n" and isinstance(households.value, int)
    assert coverage.number_format == "0.0%" and isinstance(coverage.value, float)
    assert isinstance(closes.value, datetime) and closes.number_format == "yyyy-mm-dd"
    assert closes.value.date() == world["survey"].closes_on
    menus = book.worksheets[1]
    assert menus["H2"].number_format == "0.0%"
    assert menus["C2"].value == 1 and menus["G2"].data_type == "n"
    ballots = book.worksheets[2]
    assert isinstance(ballots["H2"].value, datetime)  # submitted, local time


def test_menu_sheet_is_the_compound_menu(
    app: Flask, world: dict[str, Any], session: Session
) -> None:
    menu = compound_menu(session, world["compound"], world["survey"])
    rows = rows_of(workbook(get(client_of(app, "admin"), "/p/c/testyard/export.xlsx")), 1)[1:]
    assert len(rows) == len(menu["items"]) == 53
    above = None
    for row, entry in zip(rows, menu["items"], strict=True):
        code, name, rank, item, item_name, _, approvals, support, low, high, tied = row[:11]
        assert (code, name, rank, item, item_name) == (
            "testyard",
            "测试小区",
            entry["rank"],
            entry["id"],
            entry["name_zh"],
        )
        assert (approvals, support, [low, high]) == (
            entry["approvals"],
            entry["support"],
            entry["ci95"],
        )
        assert tied == ("是" if above in entry["tied_with"] else "否")
        above = entry["id"]
    assert [row[10] for row in rows[:3]] == ["否", "是", "是"]  # 4 ballots tell little apart
    top = rows[0]
    assert top[3] == "gas_pipeline" and top[6] == 3 and top[5] == "基础类"
    parking = next(row for row in rows if row[3] == "parking")
    assert parking[11:14] == (9, 2, 1)  # the meeting's hands beside the survey's figures
    assert top[11:14] == (None, None, None)  # no hands counted on gas pipes


def test_ballots_sheet_lists_households_without_their_words_unless_asked(
    app: Flask, world: dict[str, Any]
) -> None:
    client = client_of(app, "admin")
    plain = rows_of(workbook(get(client, "/p/c/testyard/export.xlsx")), 2)
    labels = [h.label for h in world["households"][:4]]
    assert [row[1] for row in plain[1:]] == sorted(labels)
    by_label = {row[1]: row for row in plain[1:]}
    second = by_label[labels[1]]
    assert second[3:7] == ("二维码链接", "否", "是", "否")
    assert second[8] == "elevator_retrofit gas_pipeline"
    assert second[9:12] == ("elevator_retrofit", "gas_pipeline", None)
    assert len(plain[0]) == 12
    everything = [str(value) for row in plain for value in row]
    assert not any("楼道灯" in value or "HYPERLINK" in value for value in everything)

    with_words = workbook(get(client, "/p/c/testyard/export.xlsx?comments=1"))
    sheet = with_words.worksheets[2]
    assert sheet.max_column == 13
    words = {row[1].value: row[12] for row in sheet.iter_rows(min_row=2)}
    assert words[labels[1]].value == "楼道灯经常不亮"
    formula = words[labels[2]]
    assert formula.value == FORMULA and formula.data_type == "s"  # text, never a formula


def test_meeting_and_action_sheets(app: Flask, world: dict[str, Any]) -> None:
    book = workbook(get(client_of(app, "admin"), "/p/c/testyard/export.xlsx"))
    agenda = rows_of(book, 3)[1:]
    assert [row[7] for row in agenda] == ["停车库(场)", "宠物怎么管"]
    first = agenda[0]
    assert first[0] == "testyard" and first[3] == "小马扎议事会：停车"
    assert first[4] == datetime(2026, 3, 2)  # the local date of the meeting
    assert first[5] == "已截止"
    assert first[6] == 12 and first[8:11] == (9, 2, 1) and first[11] == "同意"
    assert agenda[1][7] == "宠物怎么管" and agenda[1][8:11] == (5, 5, 0)
    [action] = rows_of(book, 4)[1:]
    assert action[3] == "=1+2 划停车位" and action[4] == "物业公司"
    assert action[5] == datetime(2026, 4, 1)
    assert action[6:] == ("进行中", "是")  # open, and past its date
    cell = book.worksheets[4]["D2"]
    assert cell.data_type == "s"


def test_english_workbook(app: Flask, world: dict[str, Any]) -> None:
    book = workbook(get(client_of(app, "admin"), "/p/c/testyard/export.xlsx?lang=en"))
    assert book.sheetnames == ["Compounds", "Menu", "Ballots", "Meetings", "Action items"]
    assert rows_of(book, 0)[0][:6] == (
        "District",
        "Compound code",
        "Compound",
        "Households",
        "Households answered",
        "Coverage",
    )
    top = rows_of(book, 1)[1]
    assert top[4] == "Gas pipeline renewal"
    assert top[5] == "Basic"
    assert rows_of(book, 2)[1][3] == "QR link"
    assert rows_of(book, 4)[1][4] == "Property company"


def test_city_workbook_menus_equal_the_compound_workbooks(
    app: Flask, world: dict[str, Any]
) -> None:
    client = client_of(app, "admin")
    city = workbook(get(client, "/p/export.xlsx"))
    assert [row[1] for row in rows_of(city, 0)[1:]] == ["faryard", "otheryard", "testyard"]
    one = rows_of(workbook(get(client, "/p/c/testyard/export.xlsx")), 1)[1:]
    city_rows = [row for row in rows_of(city, 1)[1:] if row[0] == "testyard"]
    assert city_rows == one
    assert len(rows_of(city, 2)) == 1 + 4 + 1 + 1


# -- CSV and JSON ------------------------------------------------------------------------------


def test_csv_tables_stream_utf8_with_a_bom(app: Flask, world: dict[str, Any]) -> None:
    client = client_of(app, "facilitator")
    response = client.get("/p/c/testyard/export/compounds.csv")
    streamed = response.is_streamed  # a generator, not a body made in advance
    response.get_data()
    response.close()
    assert streamed
    assert response.headers["Cache-Control"] == "no-store"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="consult-testyard-compounds-')
    assert "filename*=UTF-8''%E6%B5%8B%E8%AF%95%E5%B0%8F%E5%8C%BA-testyard" in disposition
    header, row = csv_rows(response)
    assert header[:3] == ["城区", header[1], "小区"]
    assert row[:5] == ["奎文区", "testyard", "测试小区", "24", "4"]
    assert float(row[5]) == pytest.approx(4 / 24, abs=1e-6)
    assert row[7] == world["survey"].closes_on.isoformat()

    ballots = csv_rows(get(client, "/p/c/testyard/export/ballots.csv"))
    assert len(ballots) == 1 + 4 and len(ballots[0]) == 12
    assert "楼道灯经常不亮" not in "".join(",".join(r) for r in ballots)
    words = csv_rows(get(client, "/p/c/testyard/export/ballots.csv?comments=1"))
    comments = [row[12] for row in words[1:]]
    assert "楼道灯经常不亮" in comments and "'" + FORMULA in comments  # defused for Excel
    [action] = csv_rows(get(client, "/p/c/testyard/export/actions.csv"))[1:]
    assert action[3] == "'=1+2 划停车位" and action[5] == "2026-04-01"


def test_json_is_the_ballots_document_and_tallies_to_the_menu(
    app: Flask, world: dict[str, Any], session: Session
) -> None:
    response = get(client_of(app, "facilitator"), "/p/c/testyard/ballots.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.headers["Cache-Control"] == "no-store"
    document = json.loads(response.data)
    compound, survey = world["compound"], world["survey"]
    assert document == ballots_document(session, compound, survey)
    assert len(document["ballots"]) == 4
    assert "comment" not in json.dumps(document)
    assert engine.tally(document) == compound_menu(session, compound, survey)


def test_unknown_tables_and_bad_parameters_never_break(app: Flask, world: dict[str, Any]) -> None:
    client = client_of(app, "planner")
    assert get(client, "/p/c/testyard/export/nope.csv").status_code == 404
    assert get(client, "/p/export/nope.csv").status_code == 404
    assert get(client, "/p/export.xlsx?district=nowhere").status_code == 404
    assert get(client, "/p/c/nowhere/export.xlsx").status_code == 404
    for query in ("comments=%FF%FE", "comments=", "district=", "district=%E2%80%8B", "lang=xx"):
        assert get(client, f"/p/export/ballots.csv?{query}").status_code < 500
        assert get(client, f"/p/c/testyard/export.xlsx?{query}").status_code < 500
    empty = get(client_of(app, "admin"), "/p/c/otheryard/ballots.json")
    assert empty.status_code == 200  # a survey with one ballot


# -- who may export what -----------------------------------------------------------------------


def test_a_facilitator_exports_only_their_compound(app: Flask, world: dict[str, Any]) -> None:
    other = client_of(app, "other_facilitator")
    for path in ("export.xlsx", "export/ballots.csv", "ballots.json"):
        assert get(other, f"/p/c/testyard/{path}").status_code == 403
    assert get(other, "/p/export.xlsx").status_code == 403
    assert get(other, "/p/c/otheryard/export/ballots.csv").status_code == 200


def test_planners_see_only_the_compounds_of_their_districts(
    app: Flask, world: dict[str, Any]
) -> None:
    far = client_of(app, "far_planner")
    assert [row[1] for row in csv_rows(get(far, "/p/export/compounds.csv"))[1:]] == ["faryard"]
    ballots = csv_rows(get(far, "/p/export/ballots.csv"))[1:]
    assert [row[0] for row in ballots] == ["faryard"]
    book = workbook(get(far, "/p/export.xlsx"))
    assert {row[0] for row in rows_of(book, 1)[1:]} == {"faryard"}
    assert get(far, "/p/c/testyard/export.xlsx").status_code == 403
    # A district the planner does not read: 404, as on the pages.
    assert get(far, "/p/export/compounds.csv?district=kuiwen").status_code == 404

    city = client_of(app, "planner")
    codes = [row[1] for row in csv_rows(get(city, "/p/export/compounds.csv"))[1:]]
    assert codes == ["faryard", "otheryard", "testyard"]  # by district, then code
    kuiwen = csv_rows(get(city, "/p/export/compounds.csv?district=kuiwen"))[1:]
    assert [row[1] for row in kuiwen] == ["otheryard", "testyard"]


def test_anonymous_is_sent_to_log_in(app: Flask, world: dict[str, Any]) -> None:
    client = client_of(app, None)
    for path in ("/p/export.xlsx", "/p/export/ballots.csv", "/p/c/testyard/ballots.json"):
        response = get(client, path)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_exports_are_audited(app: Flask, world: dict[str, Any], session: Session) -> None:
    client = client_of(app, "facilitator")
    get(client, "/p/c/testyard/export/ballots.csv?comments=1")
    get(client, "/p/c/testyard/export.xlsx")
    events = session.exec(
        select(AuditEvent.action, AuditEvent.target, AuditEvent.detail).where(
            AuditEvent.action.startswith("export.")  # type: ignore[attr-defined]
        )
    ).all()
    assert [(a, t) for a, t, _ in events] == [
        ("export.csv", "compound:testyard"),
        ("export.xlsx", "compound:testyard"),
    ]
    assert json.loads(events[0][2]) == {"table": "ballots", "comments": True}


# -- the command line --------------------------------------------------------------------------


def test_cli_writes_what_the_pages_send(
    app: Flask, world: dict[str, Any], runner: Any, tmp_path: Path
) -> None:
    client = client_of(app, "admin")
    out = tmp_path / "ballots.csv"
    args = ["export", "csv", "--compound", "testyard", "--table", "ballots", "--comments"]
    result = runner.invoke(args=[*args, "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == get(client, "/p/c/testyard/export/ballots.csv?comments=1").data

    result = runner.invoke(args=["export", "json", "--compound", "testyard", "-o", "-"])
    assert result.exit_code == 0, result.output
    assert result.stdout_bytes == get(client, "/p/c/testyard/ballots.json").data

    book = tmp_path / "city.xlsx"
    result = runner.invoke(args=["export", "xlsx", "-o", str(book)])
    assert result.exit_code == 0, result.output
    from_cli = load_workbook(book)
    from_page = workbook(get(client, "/p/export.xlsx"))
    assert from_cli.sheetnames == from_page.sheetnames
    for mine, theirs in zip(from_cli.worksheets, from_page.worksheets, strict=True):
        assert list(mine.values) == list(theirs.values)


def test_cli_scopes_and_languages(app: Flask, world: dict[str, Any], runner: Any) -> None:
    result = runner.invoke(
        args=["export", "csv", "--district", "fangzi", "--table", "compounds", "--lang", "en"]
        + ["-o", "-"]
    )
    assert result.exit_code == 0, result.output
    text = result.stdout_bytes.decode("utf-8").removeprefix("\ufeff")
    header, *rows = list(csv.reader(io.StringIO(text)))
    assert header[:3] == ["District", "Compound code", "Compound"]
    assert [row[1] for row in rows] == ["faryard"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["csv", "--compound", "nope", "--table", "ballots"], "no compound has the code nope"),
        (["csv", "--district", "nowhere", "--table", "menus"], "no district has the code"),
        (["csv"], "--table"),
        (["json"], "exactly one --compound"),
        (["xlsx", "--table", "menus"], "--table goes with csv"),
    ],
)
def test_cli_refuses_clearly(
    app: Flask, world: dict[str, Any], runner: Any, args: list[str], message: str
) -> None:
    result = runner.invoke(args=["export", *args, "-o", "-"])
    assert result.exit_code != 0
    assert message in result.output


def test_cli_wants_a_file_for_a_workbook(app: Flask, runner: Any) -> None:
    result = runner.invoke(args=["export", "xlsx", "-o", "-"])
    assert result.exit_code == 2 and "needs a file" in result.output


def test_survey_status_written_in_words(
    app: Flask, world: dict[str, Any], session: Session
) -> None:
    survey = world["survey"]
    survey.status = SurveyStatus.CLOSED
    session.add(survey)
    session.commit()
    rows = csv_rows(get(client_of(app, "admin"), "/p/c/testyard/export/compounds.csv"))
    assert rows[1][6] == "已截止"
