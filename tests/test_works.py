"""Works in progress: notes and their rules, photos stripped of location, the late list."""

from __future__ import annotations

import io
import os
import random
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from sqlmodel import Session, select

from consult.models import (
    AuditEvent,
    Compound,
    Phase,
    Plan,
    PlanItem,
    ProgressNote,
    ProgressPhoto,
    WorkStatus,
)
from consult.models._base import utcnow
from consult.services import photos, works
from consult.services.surveys import local_today
from tests.conftest import hidden_fields
from tests.factories import create_compound, create_district, create_user, log_in

TODAY = local_today()


def published_works(
    session: Session, code: str = "testyard", phase: Phase = Phase.WORKS
) -> tuple[Compound, list[PlanItem]]:
    """A compound in the phase with a published plan: two items included, one left out."""
    compound, _ = create_compound(session, code, f"{code}小区")
    plan = Plan(compound_id=compound.id, version=1, published_at=utcnow())  # type: ignore[arg-type]
    session.add(plan)
    session.flush()
    rows = [
        PlanItem(
            plan_id=plan.id,  # type: ignore[arg-type]
            title=title,
            category="basic",
            included=included,
            position=n,
            starts_on=TODAY - timedelta(days=30),
            ends_on=TODAY + timedelta(days=ends_in),
        )
        for n, (title, included, ends_in) in enumerate(
            [("屋面防水", True, -5), ("雨污分流", True, 20), ("加装电梯", False, 0)]
        )
    ]
    session.add_all(rows)
    compound.phase = str(phase)
    session.add(compound)
    session.commit()
    return compound, rows


def photo_bytes(
    size: tuple[int, int] = (2000, 1000), *, gps: bool = True, noise: bool = False
) -> bytes:
    """A JPEG (or a noisy PNG, large in bytes) as a phone sends it: EXIF with GPS, turned."""
    if noise:
        image = Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3))
        out = io.BytesIO()
        image.save(out, "PNG")
        return out.getvalue()
    image = Image.new("RGB", size, (200, 120, 40))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif[0x0112] = 6  # taken turned: shown rotated by 90 degrees
    if gps:
        exif[0x8825] = {1: "N", 2: (36.0, 42.0, 30.0), 3: "E", 4: (119.0, 6.0, 0.0)}
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, comment=b"secret place")
    return out.getvalue()


def facilitator(app: Flask, session: Session, compound: Compound) -> tuple[FlaskClient, str]:
    """Log the compound's facilitator in (English); return the client and a CSRF token."""
    create_user(session, "wang", "facilitator", compounds=[compound])
    client = app.test_client()
    log_in(client, "wang")
    page = client.get(f"/f/c/{compound.code}/works?lang=en").get_data(as_text=True)
    return client, hidden_fields(page)["csrf_token"]


def note(session: Session, item: PlanItem, **fields: Any) -> ProgressNote:
    values: dict[str, Any] = {
        "noted_on": TODAY,
        "status": WorkStatus.IN_PROGRESS,
        "percent": 50,
        "text": "",
        "today": TODAY,
    } | fields
    return works.add_note(session, item, None, **values)


def test_status_and_percent_follow_the_latest_dated_note(session: Session) -> None:
    compound, (roof, drains, _left) = published_works(session)
    assert [i.id for i in works.works_items(session, compound)] == [roof.id, drains.id]
    assert works.is_late(roof, TODAY) and not works.is_late(drains, TODAY)
    note(session, roof, noted_on=TODAY - timedelta(days=3), status=WorkStatus.DONE, percent=40)
    assert (roof.status, roof.percent, roof.done_on) == (
        WorkStatus.DONE,
        100,  # done means 100 %
        TODAY - timedelta(days=3),
    )
    assert not works.is_late(roof, TODAY)
    # A note about an earlier day does not undo a later one.
    note(session, roof, noted_on=TODAY - timedelta(days=10), percent=30)
    assert (roof.status, roof.percent) == (WorkStatus.DONE, 100)
    # A later "done" keeps the day it was first done; a later setback clears it.
    note(session, roof, noted_on=TODAY - timedelta(days=1), status=WorkStatus.DONE)
    assert roof.done_on == TODAY - timedelta(days=3)
    note(session, roof, noted_on=TODAY, percent=90, text="返工")
    assert (roof.status, roof.percent, roof.done_on) == (WorkStatus.IN_PROGRESS, 90, None)
    note(session, drains, status=WorkStatus.NOT_STARTED, percent=70)
    assert drains.percent == 0
    refusals = [
        ({"noted_on": TODAY + timedelta(days=1)}, "future_date"),
        ({"percent": 101}, "bad_percent"),
        ({"percent": -1}, "bad_percent"),
        ({"status": WorkStatus.DROPPED, "text": "  "}, "drop_needs_text"),
    ]
    for fields, reason in refusals:
        with pytest.raises(works.WorksError) as refused:
            note(session, drains, **fields)
        assert refused.value.reason == reason
    note(session, drains, status=WorkStatus.DROPPED, percent=0, text="管线无法改道")
    session.commit()
    assert drains.status == WorkStatus.DROPPED
    assert len(session.exec(select(ProgressNote)).all()) == 6


def test_a_note_with_photos_is_stored_without_location(app: Flask, session: Session) -> None:
    compound, (roof, *_rest) = published_works(session)
    client, token = facilitator(app, session, compound)
    upload = photo_bytes()
    assert Image.open(io.BytesIO(upload)).getexif().get_ifd(0x8825)  # the upload has GPS
    form = {"csrf_token": token, "key": "k1", "noted_on": TODAY.isoformat(), "status": "done"}
    response = client.post(
        f"/f/c/testyard/works/{roof.id}",
        data=form | {"percent": "80", "text": "完工", "photos": (io.BytesIO(upload), "a.jpg")},
    )
    assert response.status_code == 303
    again = client.post(f"/f/c/testyard/works/{roof.id}", data=form | {"percent": "80"})
    assert again.status_code == 303  # the same form twice: one note
    [stored] = session.exec(select(ProgressNote)).all()
    assert (stored.status, stored.percent) == ("done", 100)
    [photo] = session.exec(select(ProgressPhoto)).all()
    assert (photo.width, photo.height) == (800, 1600)  # turned upright, scaled to 1600
    audit = session.exec(select(AuditEvent).where(AuditEvent.action == "works.note")).all()
    assert len(audit) == 1
    served = client.get(f"/c/testyard/works/photos/{photo.id}.jpg")
    small = client.get(f"/c/testyard/works/photos/{photo.id}.jpg?size=small")
    assert served.data == photo.data and small.data == photo.thumb
    assert served.mimetype == "image/jpeg" and "max-age" in served.headers["Cache-Control"]
    for data in (photo.data, served.data, small.data):
        image = Image.open(io.BytesIO(data))
        assert image.format == "JPEG"
        assert not image.getexif() and "exif" not in image.info and "comment" not in image.info
        assert b"Exif" not in data and b"PhoneMaker" not in data and b"secret" not in data
    etag = served.headers["ETag"]
    cached = client.get(f"/c/testyard/works/photos/{photo.id}.jpg", headers={"If-None-Match": etag})
    assert cached.status_code == 304
    page = client.get("/c/testyard/works").get_data(as_text=True)
    assert f'/c/testyard/works/photos/{photo.id}.jpg?size=small"' in page
    assert 'loading="lazy" width="800" height="1600"' in page
    assert '<progress max="100" value="100"' in page


def test_non_images_and_oversize_uploads_are_refused(app: Flask, session: Session) -> None:
    compound, (roof, *_rest) = published_works(session)
    client, token = facilitator(app, session, compound)
    form = {"csrf_token": token, "noted_on": TODAY.isoformat(), "status": "in_progress"}
    url = f"/f/c/testyard/works/{roof.id}"
    text = client.post(url, data=form | {"photos": (io.BytesIO(b"%PDF-1.4 hello"), "a.jpg")})
    assert text.status_code == 400
    assert "must be JPEG or PNG" in text.get_data(as_text=True)
    # Larger than the app's 256 KB limit, within the photos' limit: taken.
    big = photo_bytes((400, 400), noise=True)
    assert len(big) > app.config["MAX_CONTENT_LENGTH"]
    taken = client.post(url, data=form | {"key": "a", "photos": (io.BytesIO(big), "b.png")})
    assert taken.status_code == 303
    app.config["PHOTO_MAX_UPLOAD"] = 200 * 1024
    large = client.post(url, data=form | {"key": "b", "photos": (io.BytesIO(big), "b.png")})
    assert large.status_code == 413
    assert "larger than 0.2 MB" in large.get_data(as_text=True)
    assert "Nothing was saved" in large.get_data(as_text=True)
    assert len(session.exec(select(ProgressNote)).all()) == 1


def test_out_of_phase_notes_change_nothing(app: Flask, session: Session) -> None:
    compound, (roof, *_rest) = published_works(session, phase=Phase.CONSENT)
    client, token = facilitator(app, session, compound)
    page = client.get("/f/c/testyard/works").get_data(as_text=True)
    assert "The works have not started" in page and 'enctype="multipart/form-data"' not in page
    response = client.post(
        f"/f/c/testyard/works/{roof.id}",
        data={"csrf_token": token, "noted_on": TODAY.isoformat(), "status": "done"},
        follow_redirects=True,
    )
    assert "Nothing was saved" in response.get_data(as_text=True)
    assert session.exec(select(ProgressNote)).all() == []
    residents = client.get("/c/testyard/works")
    assert residents.status_code == 200
    assert "The works have not started yet" in residents.get_data(as_text=True)


def test_bad_input_is_refused_on_the_page(app: Flask, session: Session) -> None:
    compound, (roof, *_rest) = published_works(session)
    client, token = facilitator(app, session, compound)
    url = f"/f/c/testyard/works/{roof.id}"
    cases = [
        ({"noted_on": (TODAY + timedelta(days=1)).isoformat()}, "dated in the future"),
        ({"percent": "１００"}, "whole number from 0 to 100"),
        ({"status": "dropped"}, "Say why"),
        ({"noted_on": "yesterday"}, "2026-12-01"),
    ]
    for fields, message in cases:
        form = {"csrf_token": token, "noted_on": TODAY.isoformat(), "status": "in_progress"}
        response = client.post(url, data=form | fields)
        assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert client.post("/f/c/testyard/works/999999", data={"csrf_token": token}).status_code == 303
    assert session.exec(select(ProgressNote)).all() == []


def test_a_photo_of_another_compound_is_not_found(app: Flask, session: Session) -> None:
    _compound, (roof, *_rest) = published_works(session)
    published_works(session, "otheryard")
    made = photos.process_photo(photo_bytes(gps=False), max_side=1600)
    note(session, roof, photos=[made])
    session.commit()
    [photo] = session.exec(select(ProgressPhoto)).all()
    client = app.test_client()
    assert client.get(f"/c/testyard/works/photos/{photo.id}.jpg").status_code == 200
    assert client.get(f"/c/otheryard/works/photos/{photo.id}.jpg").status_code == 404
    assert client.get(f"/c/testyard/works/photos/{photo.id + 1}.jpg").status_code == 404


def test_planners_see_late_works_of_their_districts(app: Flask, session: Session) -> None:
    published_works(session)
    other, (late_there, *_rest) = published_works(session, "otheryard")
    waiting, _items = published_works(session, "stillvoting", phase=Phase.CONSENT)
    elsewhere = create_district(session, "fangzi", "坊子区")
    other.district_id = elsewhere.id  # type: ignore[assignment]
    late_there.ends_on = TODAY - timedelta(days=9)
    session.add_all([other, late_there])
    session.commit()
    rows = works.late_items(session, TODAY)
    # Late: the roofs, past their end; stuck: the drains, started on paper only.
    assert [(r.compound_code, r.kind, r.days) for r in rows] == [
        ("otheryard", "stuck", 30),  # same days: by district name
        ("testyard", "stuck", 30),
        ("otheryard", "late", 9),
        ("testyard", "late", 5),
    ]
    create_user(session, "zhou", "planner", districts=[elsewhere])
    client = app.test_client()
    log_in(client, "zhou")
    page = client.get("/p/late?lang=en").get_data(as_text=True)
    assert "otheryard小区" in page and "testyard小区" not in page
    assert "stillvoting" not in page
    assert client.get("/p/late?district=kuiwen").status_code == 404
    assert client.get("/p/late?district=fangzi").status_code == 200


def test_demo_works_tells_a_story(session: Session) -> None:
    compound, _items = published_works(session)
    plan = session.exec(select(Plan)).one()
    session.add_all(
        PlanItem(plan_id=plan.id, title=f"项目{n}", category="basic", position=3 + n)  # type: ignore[arg-type]
        for n in range(3)
    )
    session.flush()
    works.demo_works(session, compound, None, TODAY)
    session.commit()
    statuses = [i.status for i in works.works_items(session, compound)]
    assert statuses[:4] == ["done", "done", "in_progress", "in_progress"]
    assert works.is_late(works.works_items(session, compound)[3], TODAY)
    assert len(session.exec(select(ProgressPhoto)).all()) == 2
    assert works.works_items(session, compound)[0].done_on is not None


def test_photos_with_damaged_exif_are_taken_or_refused_never_crash() -> None:
    # Phones and chat apps' editors write broken EXIF; Pillow's exif_transpose raised
    # TypeError on some. Each damaged copy is stored (unturned) or refused as no image.
    good = photo_bytes((64, 32))
    start = good.index(b"Exif\x00\x00")
    end = start + int.from_bytes(good[start - 2 : start], "big")
    draw = random.Random(278)
    for _ in range(400):
        damaged = bytearray(good)
        for _ in range(draw.randint(1, 6)):
            damaged[draw.randrange(start + 6, end - 2)] = draw.randrange(256)
        try:
            stored = photos.process_photo(bytes(damaged), max_side=1600)
        except photos.PhotoError as error:
            assert error.reason == "not_an_image"
        else:
            assert b"Exif" not in stored.data and b"PhoneMaker" not in stored.data
