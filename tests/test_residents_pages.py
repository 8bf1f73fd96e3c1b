"""Residents' pages as a phone sees them: languages, large text, QR codes, weight, headers."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient
from sqlmodel import Session

from tests.factories import create_compound, open_survey


@pytest.fixture
def yard(session: Session) -> None:
    compound, _ = create_compound(session)
    open_survey(session, compound)


def test_chinese_is_the_default(client: FlaskClient, yard: None) -> None:
    html = client.get("/c/testyard").get_data(as_text=True)
    assert '<html lang="zh-Hans"' in html
    assert "开始填写" in html


def test_lang_parameter_switches_to_english_and_is_remembered(
    client: FlaskClient, yard: None
) -> None:
    response = client.get("/c/testyard?lang=en")
    assert '<html lang="en"' in response.get_data(as_text=True)
    assert "Start the survey" in response.get_data(as_text=True)
    assert "lang=en" in response.headers["Set-Cookie"]
    assert "Building" in client.get("/c/testyard/survey").get_data(as_text=True)
    back = client.get("/c/testyard?lang=zh").get_data(as_text=True)
    assert "开始填写" in back


def test_unknown_language_falls_back_to_chinese(client: FlaskClient, yard: None) -> None:
    html = client.get("/c/testyard?lang=klingon").get_data(as_text=True)
    assert "开始填写" in html


def test_large_text_switch(client: FlaskClient, yard: None) -> None:
    assert 'class="large-text"' not in client.get("/c/testyard").get_data(as_text=True)
    client.get("/c/testyard?size=large")
    assert 'class="large-text"' in client.get("/c/testyard/survey").get_data(as_text=True)
    client.get("/c/testyard?size=normal")
    assert 'class="large-text"' not in client.get("/c/testyard").get_data(as_text=True)


def test_every_response_carries_security_headers(client: FlaskClient, yard: None) -> None:
    for url in ("/c/testyard", "/c/testyard/survey", "/nope"):
        headers = client.get(url).headers
        assert "script-src 'self'" in headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "same-origin"


@pytest.mark.parametrize(
    "url", ["/", "/c/testyard", "/c/testyard/survey", "/c/testyard/poster", "/c/testyard/results"]
)
def test_pages_load_nothing_from_another_host_and_run_no_inline_script(
    client: FlaskClient, yard: None, url: str
) -> None:
    html = client.get(url).get_data(as_text=True)
    assert not re.search(r'(src|href)="(https?:)?//', html)
    for script in re.findall(r"<script\b[^>]*>", html):
        assert 'src="/static/' in script or 'type="application/json"' in script
    assert " style=" not in html


def test_survey_page_with_its_css_and_js_weighs_under_100_kb(
    client: FlaskClient, yard: None
) -> None:
    html = client.get("/c/testyard/survey").get_data()
    assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', html.decode())
    total = len(html)
    for asset in assets:
        with client.get(asset) as response:
            total += len(response.get_data())
    assert {a.rsplit("/", 1)[-1] for a in assets} >= {"app.css", "survey.js"}
    assert total < 100 * 1024, total


def test_qr_codes_encode_the_landing_url(client: FlaskClient, yard: None) -> None:
    svg = client.get("/c/testyard/qr.svg")
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml"
    assert svg.get_data(as_text=True).lstrip().startswith("<svg")
    png = client.get("/c/testyard/qr.png")
    assert png.mimetype == "image/png" and png.get_data()[:8] == b"\x89PNG\r\n\x1a\n"


def test_qr_code_matches_segno_for_the_public_url(client: FlaskClient, yard: None) -> None:
    import io

    import segno

    expected = io.BytesIO()
    segno.make("http://consult.test/c/testyard", error="m").save(
        expected, kind="svg", scale=8, border=2, xmldecl=False
    )
    assert client.get("/c/testyard/qr.svg").get_data() == expected.getvalue()


def test_poster_has_title_qr_three_steps_and_closing_date(client: FlaskClient, yard: None) -> None:
    html = client.get("/c/testyard/poster").get_data(as_text=True)
    assert "测试小区" in html
    assert 'src="/c/testyard/qr.svg"' in html
    assert len(re.findall(r"<li>", html)) == 3
    assert "截止日期" in html


def test_thanks_page_for_a_receipt_of_another_compound_is_404(
    client: FlaskClient, yard: None, session: Session
) -> None:
    from tests.test_residents_survey import submit

    location = submit(client).headers["Location"]
    receipt = location.rsplit("/", 1)[-1]
    other, _ = create_compound(session, code="otheryard")
    assert client.get(f"/c/otheryard/thanks/{receipt}").status_code == 404


@pytest.mark.parametrize(
    "url", ["/c/%00", "/c/testyard?lang=%00", "/h/AB%00CDEFG", "/r/%00", "/login?next=%00"]
)
def test_nul_characters_are_refused_plainly(client: FlaskClient, yard: None, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 400
    assert "无法识别这个请求" in response.get_data(as_text=True)


def test_nul_characters_in_a_form_are_refused(client: FlaskClient, yard: None) -> None:
    from tests.test_residents_survey import form_for

    fields = form_for(client)
    response = client.post("/c/testyard/survey", data={**fields, "comment": "a\x00b"})
    assert response.status_code == 400
