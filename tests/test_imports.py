"""Compounds from a sheet: preview, every bad row by number and reason, nothing half-done."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import Workbook, load_workbook
from sqlalchemy import func
from sqlmodel import Session, select

from consult.models import AccountScope, Building, Compound, Household, Unit
from consult.services import sheets
from tests.conftest import hidden_fields
from tests.factories import create_compound, create_district, create_user, log_in

HEADER = ["区", "小区", "小区代码", "楼栋", "单元", "楼层", "房号", "面积", "产权", "老人"]


def big_sheet() -> list[list[object]]:
    """A real-shaped sheet: 一个 720-household compound, 10 buildings x 3 units x 6 floors x 4."""
    rows: list[list[object]] = []
    for building in range(1, 11):
        for unit in range(1, 4):
            for floor in range(1, 7):
                for door in range(1, 5):
                    rows.append(
                        [
                            "奎文区",
                            "北苑小区",
                            "beiyuan",
                            f"{building}号楼",
                            f"{unit}单元",
                            floor,
                            f"{floor}0{door}",
                            58.5 + door,
                            "业主" if door % 3 else "租户",
                            "是" if (building + door) % 4 == 0 else "",
                        ]
                    )
    return rows


def xlsx(rows: list[list[object]], header: list[str] = HEADER) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    data = io.BytesIO()
    book.save(data)
    return data.getvalue()


def csv_bytes(rows: list[list[object]], encoding: str = "utf-8-sig") -> bytes:
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(HEADER)
    writer.writerows(rows)
    return text.getvalue().encode(encoding)


@pytest.fixture
def admin(client: FlaskClient, session: Session) -> FlaskClient:
    create_district(session)
    create_user(session, "boss", "admin")
    log_in(client, "boss")
    return client


def upload(client: FlaskClient, data: bytes, name: str = "sheet.xlsx") -> Any:
    page = client.get("/f/import").get_data(as_text=True)
    return client.post(
        "/f/import",
        data={"csrf_token": hidden_fields(page)["csrf_token"], "sheet": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def confirm(client: FlaskClient, preview_html: str) -> Any:
    action = re.search(r'action="(/f/import/\w+/confirm)"', preview_html)
    assert action, "the preview offers to import"
    fields = hidden_fields(preview_html)
    return client.post(action.group(1), data=fields)


def count(session: Session, model: Any) -> int:
    session.expire_all()
    return int(session.exec(select(func.count()).select_from(model)).one())


def test_a_700_household_sheet_previews_then_imports(admin: FlaskClient, session: Session) -> None:
    preview = upload(admin, xlsx(big_sheet()))
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200
    assert "北苑小区" in html
    assert re.search(r'stat-value">720</span><span class="stat-label">新住户', html)
    assert count(session, Household) == 0  # nothing changed before confirming
    response = confirm(admin, html)
    assert response.status_code == 303
    assert count(session, Household) == 720
    assert count(session, Building) == 10 and count(session, Unit) == 30
    home = session.exec(select(Household).where(Household.label == "3-2-504")).one()
    assert (home.floor, home.area, home.tenure) == (5, 62.5, "owner")
    assert session.exec(select(Compound).where(Compound.code == "beiyuan")).one().name == "北苑小区"


def test_reimporting_the_same_sheet_changes_nothing(admin: FlaskClient, session: Session) -> None:
    confirm(admin, upload(admin, xlsx(big_sheet())).get_data(as_text=True))
    html = upload(admin, xlsx(big_sheet())).get_data(as_text=True)
    assert "导入不会带来任何改动" in html
    assert "/confirm" not in html
    assert count(session, Household) == 720


def test_a_changed_sheet_previews_what_changes(admin: FlaskClient, session: Session) -> None:
    rows = big_sheet()
    confirm(admin, upload(admin, xlsx(rows)).get_data(as_text=True))
    rows[0][7] = 99.0
    rows.append(["奎文区", "北苑小区", "beiyuan", "11号楼", "1单元", 1, "101", 60, "", ""])
    html = upload(admin, xlsx(rows)).get_data(as_text=True)
    assert re.search(r'stat-value">1</span><span class="stat-label">修改的住户', html)
    assert re.search(r'stat-value">1</span><span class="stat-label">新楼栋', html)
    confirm(admin, html)
    assert count(session, Household) == 721
    changed = session.exec(select(Household).where(Household.label == "1-1-101")).one()
    assert changed.area == 99.0


BAD_ROWS = [
    (["奎文区", "北苑小区", "beiyuan", "1", "1", 1, "101", 60, "", ""], "与第 2 行是同一个房号"),
    (["奎文区", "北苑小区", "beiyuan", "", "1", 1, "102", 60, "", ""], "缺少楼栋"),
    (["奎文区", "北苑小区", "beiyuan", "1", "1", "一楼", "103", 60, "", ""], "楼层“一楼”不是整数"),
    (
        ["奎文区", "北苑小区", "beiyuan", "1", "1", 1, "104", "大约六十", "", ""],
        "建筑面积“大约六十”不是数字",
    ),
    (["奎文区", "北苑小区", "beiyuan", "1", "1", 1, "105", 60, "房东", ""], "既不是业主也不是租户"),
    (["火星区", "北苑小区", "beiyuan", "1", "1", 1, "106", 60, "", ""], "没有“火星区”这个城区"),
]


def test_every_bad_row_is_reported_and_nothing_is_imported(
    client: FlaskClient, session: Session
) -> None:
    compound, _ = create_compound(session, code="beiyuan", name="北苑小区")
    create_user(session, "wang", "facilitator", compounds=[compound])
    log_in(client, "wang")
    before = count(session, Household)
    good = ["奎文区", "北苑小区", "beiyuan", "1", "1", 1, "101", 60, "", ""]
    html = upload(client, xlsx([good] + [row for row, _ in BAD_ROWS])).get_data(as_text=True)
    for number, (_, reason) in enumerate(BAD_ROWS, start=3):
        assert re.search(rf'<td class="num">{number}</td><td>[^<]*{re.escape(reason)}', html), (
            reason
        )
    assert "有 6 行无法导入" in html
    assert "/confirm" not in html
    assert count(session, Household) == before


def test_a_facilitator_cannot_import_into_another_compound(
    client: FlaskClient, session: Session
) -> None:
    create_compound(session, code="beiyuan", name="北苑小区")
    create_user(session, "wang", "facilitator")
    log_in(client, "wang")
    row = ["奎文区", "北苑小区", "beiyuan", "9", "1", 1, "101", 60, "", ""]
    html = upload(client, xlsx([row])).get_data(as_text=True)
    assert "您不负责“北苑小区”这个小区" in html


def test_a_facilitator_runs_the_compounds_it_imports(client: FlaskClient, session: Session) -> None:
    create_district(session)
    account = create_user(session, "wang", "facilitator")
    log_in(client, "wang")
    confirm(client, upload(client, xlsx(big_sheet()[:24])).get_data(as_text=True))
    scopes = session.exec(select(AccountScope).where(AccountScope.account_id == account.id)).all()
    assert len(scopes) == 1
    assert client.get("/f/c/beiyuan/coverage").status_code == 200


@pytest.mark.parametrize("encoding", ["utf-8-sig", "gb18030"])
def test_csv_in_utf8_or_gbk(admin: FlaskClient, session: Session, encoding: str) -> None:
    html = upload(admin, csv_bytes(big_sheet()[:12], encoding), "sheet.csv").get_data(as_text=True)
    assert re.search(r'stat-value">12</span><span class="stat-label">新住户', html)
    confirm(admin, html)
    assert count(session, Household) == 12


@pytest.mark.parametrize(
    "data, name, message",
    [
        (b"not a workbook", "sheet.xlsx", "无法把这个文件读成表格"),
        (b"a,b\n1,2\n", "sheet.csv", "表格缺少这些列"),
        (b"", "sheet.csv", "表格是空的"),
        (b"\x00\x01", "sheet.pdf", "请上传 Excel"),
    ],
)
def test_unreadable_files_say_why(admin: FlaskClient, data: bytes, name: str, message: str) -> None:
    response = upload(admin, data, name)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)


def test_english_headers_are_understood() -> None:
    header = list(sheets.HEADERS_EN)
    records = sheets.read_sheet(
        "s.xlsx", xlsx([["Kuiwen", "Y", "", "1", "1", 2, "201", "", "", ""]], header)
    )
    rows, errors = sheets.check_rows(records)
    assert errors == [] and rows[0].floor == 2 and rows[0].area is None


def test_templates_download_with_the_expected_columns(admin: FlaskClient) -> None:
    response = admin.get("/f/import/template.xlsx")
    book = load_workbook(io.BytesIO(response.get_data()))
    assert [c.value for c in book.active[1]] == HEADER
    csv_text = admin.get("/f/import/template.csv").get_data().decode("utf-8-sig")
    assert csv_text.splitlines()[0] == ",".join(HEADER)
    assert admin.get("/f/import/template.pdf").status_code == 404


def test_confirming_an_unknown_upload_changes_nothing(admin: FlaskClient, app: Flask) -> None:
    token = hidden_fields(admin.get("/f/import").get_data(as_text=True))["csrf_token"]
    response = admin.post(
        f"/f/import/{'a' * 32}/confirm", data={"csrf_token": token, "suffix": ".xlsx"}
    )
    assert response.status_code == 303
    assert admin.post("/f/import/zzz/confirm", data={"csrf_token": token}).status_code == 404


@pytest.mark.parametrize("floor", ["inf", "1e400", "nan", "²"])
def test_unreadable_floors_are_row_errors(admin: FlaskClient, floor: str) -> None:
    row = ["奎文区", "北苑小区", "beiyuan", "1", "1", floor, "101", 60, "", ""]
    response = upload(admin, csv_bytes([row]), "sheet.csv")
    assert response.status_code == 200
    assert "不是整数" in response.get_data(as_text=True)


def test_a_made_up_code_never_takes_a_code_the_sheet_gives(
    admin: FlaskClient, session: Session
) -> None:
    rows = [
        ["奎文区", "甲小区", "", "1", "1", 1, "101", 60, "", ""],
        ["奎文区", "乙小区", "xq0001", "1", "1", 1, "101", 60, "", ""],
    ]
    response = confirm(admin, upload(admin, xlsx(rows)).get_data(as_text=True))
    assert response.status_code == 303
    codes = dict(session.exec(select(Compound.name, Compound.code)).all())
    assert codes["乙小区"] == "xq0001" and codes["甲小区"] != "xq0001"


def test_one_new_compound_with_two_codes_is_refused(admin: FlaskClient, session: Session) -> None:
    rows = [
        ["奎文区", "甲小区", "aaa", "1", "1", 1, "101", 60, "", ""],
        ["奎文区", "甲小区", "bbb", "1", "1", 1, "102", 60, "", ""],
        ["奎文区", "甲小区", "", "1", "1", 1, "201", 60, "", ""],
    ]
    html = upload(admin, xlsx(rows)).get_data(as_text=True)
    assert "代码与小区现有代码不同（bbb ≠ aaa）" in html
    assert "/confirm" not in html
    rows[1][2] = "aaa"
    confirm(admin, upload(admin, xlsx(rows)).get_data(as_text=True))
    assert session.exec(select(Compound.code)).all() == ["aaa"]
    again = upload(admin, xlsx(rows)).get_data(as_text=True)
    assert "导入不会带来任何改动" in again
