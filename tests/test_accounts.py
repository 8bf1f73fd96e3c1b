"""Logging in and out, passwords, throttling, users and the audit log."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import Session, select

from consult.models import Account, AccountScope, AuditEvent
from consult.services import accounts
from tests.conftest import hidden_fields
from tests.factories import PASSWORD, create_compound, create_user, log_in


def events(session: Session) -> list[tuple[str, str]]:
    session.expire_all()
    return [(e.action, e.target) for e in session.exec(select(AuditEvent).order_by(AuditEvent.id))]


def test_passwords_are_stored_as_argon2_hashes(session: Session) -> None:
    account = create_user(session, "wang", "facilitator")
    assert account.password_hash.startswith("$argon2id$")
    assert PASSWORD not in account.password_hash


@pytest.mark.parametrize("weak", ["short", "          aaaa", "aaaaaaaaaaaa"])
def test_weak_passwords_are_refused(session: Session, weak: str) -> None:
    with pytest.raises(accounts.AccountError):
        create_user(session, "wang", "facilitator", password=weak)


def test_login_and_logout(client: FlaskClient, session: Session) -> None:
    create_user(session, "wang", "facilitator")
    response = log_in(client, "WANG ")
    assert response.status_code == 302 and response.headers["Location"] == "/f/"
    assert "退出" in client.get("/f/").get_data(as_text=True)
    token = hidden_fields(client.get("/f/").get_data(as_text=True))["csrf_token"]
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/f/").status_code == 302
    assert [a for a, _ in events(session)] == ["login"]


def test_wrong_password_is_refused_and_recorded(client: FlaskClient, session: Session) -> None:
    create_user(session, "wang", "facilitator")
    response = log_in(client, "wang", "not-the-password")
    assert response.status_code == 401
    assert "用户名或密码错误" in response.get_data(as_text=True)
    assert client.get("/f/").status_code == 302
    assert events(session) == [("login.failed", "username:wang")]


def test_unknown_user_gets_the_same_answer(client: FlaskClient) -> None:
    response = log_in(client, "nobody", "whatever-password")
    assert response.status_code == 401
    assert "用户名或密码错误" in response.get_data(as_text=True)


def test_inactive_account_cannot_log_in(client: FlaskClient, session: Session) -> None:
    account = create_user(session, "wang", "facilitator")
    account.active = False
    session.add(account)
    session.commit()
    assert log_in(client, "wang").status_code == 401


def test_login_redirects_only_within_the_site(client: FlaskClient, session: Session) -> None:
    create_user(session, "wang", "facilitator")
    token = hidden_fields(client.get("/login").get_data(as_text=True))["csrf_token"]
    data = {"username": "wang", "password": PASSWORD, "csrf_token": token}
    response = client.post("/login?next=//evil.example/x", data=data)
    assert response.headers["Location"] == "/f/"


def test_a_guarded_page_sends_to_login_and_back(client: FlaskClient, session: Session) -> None:
    create_user(session, "wang", "facilitator")
    response = client.get("/f/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=/f/")


def test_logins_are_throttled(app: Flask, client: FlaskClient, session: Session) -> None:
    create_user(session, "wang", "facilitator")
    statuses = [log_in(client, "wang", f"wrong-password-{n}").status_code for n in range(12)]
    assert statuses[:10] == [401] * 10
    assert statuses[10:] == [429, 429]
    assert "尝试次数太多" in log_in(client, "wang").get_data(as_text=True)


def test_change_password_logs_out_other_sessions(app: Flask, session: Session) -> None:
    create_user(session, "wang", "facilitator")
    mine, other = app.test_client(), app.test_client()
    log_in(mine, "wang")
    log_in(other, "wang")
    page = mine.get("/account/password").get_data(as_text=True)
    new = "a-much-better-passphrase"
    response = mine.post(
        "/account/password",
        data={
            "csrf_token": hidden_fields(page)["csrf_token"],
            "current": PASSWORD,
            "new": new,
            "confirm": new,
        },
    )
    assert response.status_code == 302
    assert mine.get("/f/").status_code == 200
    assert other.get("/f/").status_code == 302  # its session key no longer matches
    assert log_in(app.test_client(), "wang", new).status_code == 302


def test_change_password_needs_the_current_one(client: FlaskClient, session: Session) -> None:
    create_user(session, "wang", "facilitator")
    log_in(client, "wang")
    page = client.get("/account/password").get_data(as_text=True)
    response = client.post(
        "/account/password",
        data={
            "csrf_token": hidden_fields(page)["csrf_token"],
            "current": "wrong-current-password",
            "new": "a-much-better-passphrase",
            "confirm": "a-much-better-passphrase",
        },
    )
    assert response.status_code == 400
    assert "当前密码不正确" in response.get_data(as_text=True)


def test_admin_creates_and_edits_an_account(client: FlaskClient, session: Session) -> None:
    create_compound(session)
    create_user(session, "boss", "admin")
    log_in(client, "boss")
    page = client.get("/admin/users").get_data(as_text=True)
    response = client.post(
        "/admin/users",
        data={
            "csrf_token": hidden_fields(page)["csrf_token"],
            "username": "zhang",
            "password": "zhang-secret-2026",
            "role": "facilitator",
            "display_name": "张",
            "compounds": "testyard",
        },
    )
    assert response.status_code == 302
    zhang = session.exec(select(Account).where(Account.username == "zhang")).one()
    scope = session.exec(select(AccountScope).where(AccountScope.account_id == zhang.id)).all()
    assert [s.compound_id for s in scope] == [1]
    edit = client.get(f"/admin/users/{zhang.id}").get_data(as_text=True)
    assert 'value="testyard"' in edit
    client.post(
        f"/admin/users/{zhang.id}",
        data={
            "csrf_token": hidden_fields(edit)["csrf_token"],
            "role": "planner",
            "display_name": "张",
            "compounds": "",
            "districts": "kuiwen",
        },
    )
    session.expire_all()
    zhang = session.get(Account, zhang.id)
    assert zhang is not None and zhang.role == "planner" and not zhang.active
    assert [a for a, _ in events(session)][-2:] == ["account.create", "account.update"]


def test_admin_form_refuses_unknown_compounds_by_name(
    client: FlaskClient, session: Session
) -> None:
    create_user(session, "boss", "admin")
    log_in(client, "boss")
    page = client.get("/admin/users").get_data(as_text=True)
    response = client.post(
        "/admin/users",
        data={
            "csrf_token": hidden_fields(page)["csrf_token"],
            "username": "zhang",
            "password": "zhang-secret-2026",
            "role": "facilitator",
            "compounds": "atlantis",
        },
    )
    assert response.status_code == 400
    assert "未知的小区代码：atlantis" in response.get_data(as_text=True)
    assert session.exec(select(Account).where(Account.username == "zhang")).first() is None


def test_audit_log_page_lists_events(client: FlaskClient, session: Session) -> None:
    create_user(session, "boss", "admin")
    log_in(client, "boss")
    html = client.get("/admin/audit").get_data(as_text=True)
    assert "<code>login</code>" in html


def test_cli_create_user_and_set_password(runner: object, session: Session) -> None:
    create_compound(session)
    result = runner.invoke(  # type: ignore[attr-defined]
        args=[
            "create-user",
            "zhao",
            "--role",
            "facilitator",
            "--compound",
            "testyard",
            "--password",
            "zhao-secret-2026",
        ]
    )
    assert result.exit_code == 0, result.output
    account = session.exec(select(Account).where(Account.username == "zhao")).one()
    assert accounts.verify_password(account, "zhao-secret-2026")
    result = runner.invoke(args=["set-password", "zhao", "--password", "zhao-newer-2027"])  # type: ignore[attr-defined]
    assert result.exit_code == 0, result.output
    session.expire_all()
    assert accounts.verify_password(session.get(Account, account.id), "zhao-newer-2027")
    bad = runner.invoke(  # type: ignore[attr-defined]
        args=[
            "create-user",
            "qian",
            "--role",
            "facilitator",
            "--compound",
            "atlantis",
            "--password",
            "qian-secret-2026",
        ]
    )
    assert bad.exit_code != 0 and "atlantis" in bad.output
    assert ("account.create", "account:zhao") in events(session)
