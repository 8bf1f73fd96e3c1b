"""The `consult` command line (also `flask --app consult`)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click
from flask import Flask
from flask.cli import FlaskGroup, with_appcontext

from consult.db import get_engine, session_scope


def _create_app() -> Flask:
    from consult import create_app

    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_version_option=False)
def main() -> None:
    """Resident consultation for the renovation of old housing compounds."""


def migrate_or_fail() -> None:
    """Bring the schema up to date, or stop with the reason."""
    from consult.schema import UnversionedSchema, upgrade

    try:
        upgrade(get_engine())
    except UnversionedSchema as error:
        raise click.ClickException(str(error)) from error


@click.group("db")
def db_group() -> None:
    """The database's schema (Alembic migrations)."""


@db_group.command("upgrade")
@click.argument("revision", default="head")
@with_appcontext
def db_upgrade_command(revision: str) -> None:
    """Bring the schema up to REVISION (default: the newest)."""
    from consult.schema import UnversionedSchema, current_revision, upgrade

    try:
        upgrade(get_engine(), revision)
    except UnversionedSchema as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"Schema at revision {current_revision(get_engine())}.")


@db_group.command("current")
@with_appcontext
def db_current_command() -> None:
    """Print the schema's revision."""
    from consult.schema import current_revision

    click.echo(current_revision(get_engine()) or "none")


@db_group.command("stamp")
@click.argument("revision", default="head")
@with_appcontext
def db_stamp_command(revision: str) -> None:
    """Record REVISION as the schema's without changing it (for a schema made by create_all)."""
    from consult.schema import current_revision, stamp

    stamp(get_engine(), revision)
    click.echo(f"Schema recorded at revision {current_revision(get_engine())}.")


@click.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, writable=True))
@with_appcontext
def backup_command(path: str) -> None:
    """Copy the live database to PATH (SQLite's online backup, or pg_dump)."""
    from consult.backups import BackupError, backup

    try:
        size = backup(get_engine(), Path(path))
    except BackupError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"Backed up to {path} ({size:,} bytes).")


@click.command("restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--yes", is_flag=True, help="Do not ask before replacing the database.")
@with_appcontext
def restore_command(path: str, yes: bool) -> None:
    """Replace the database's contents with the backup at PATH."""
    from consult.backups import BackupError, restore

    if not yes:
        click.confirm("This replaces everything in the database. Go on?", abort=True)
    try:
        restore(get_engine(), Path(path))
    except BackupError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"Restored from {path}.")


@click.command("init-db")
@with_appcontext
def init_db_command() -> None:
    """Create the schema and the standard catalogue (safe to run again)."""
    from consult.services.seed import seed_catalog

    migrate_or_fail()
    with session_scope() as session:
        added = seed_catalog(session)
    click.echo(f"Schema ready; {added} catalogue items added.")


@click.command("seed-demo")
@with_appcontext
def seed_demo_command() -> None:
    """Create the demo city when the database has no compound yet."""
    from consult.services.seed import is_empty, seed_demo

    migrate_or_fail()
    with session_scope() as session:
        if not is_empty(session):
            click.echo("The database already has compounds; demo data not added.")
            return
        seed_demo(session)
    click.echo(
        "Demo city created: 东庄小区, 中和街小区 (surveys open), 花园小区 (works), 幸福里小区 (问效)."
    )


@click.command("setup")
@click.option(
    "--demo", is_flag=True, help="Seed the demo city (with demo logins) into an empty database."
)
@click.option(
    "--host", default=lambda: os.environ.get("HOST", "127.0.0.1"), show_default="HOST or 127.0.0.1"
)
@click.option("--port", default=lambda: os.environ.get("PORT", "5000"), show_default="PORT or 5000")
@click.pass_context
def setup_command(ctx: click.Context, demo: bool, host: str, port: str) -> None:
    """Create the schema (and with --demo the demo city when empty); print where to look."""
    from consult.services.seed import DEMO_ACCOUNTS

    ctx.invoke(init_db_command)
    if not demo:
        click.echo(
            f"consult is ready at http://{host}:{port}/ ; add staff with `consult create-user`."
        )
        return
    ctx.invoke(seed_demo_command)
    base = f"http://{host}:{port}"
    click.echo("")
    click.echo(f"  consult is at        {base}/")
    click.echo(f"  东庄小区 survey       {base}/c/dongzhuang")
    click.echo(f"  中和街小区 survey     {base}/c/zhonghejie")
    click.echo(f"  results              {base}/c/dongzhuang/results")
    click.echo(f"  poster (print A4)    {base}/c/dongzhuang/poster")
    click.echo(f"  English              {base}/c/dongzhuang?lang=en")
    click.echo(f"  花园小区 (works)      {base}/c/huayuan")
    click.echo(f"  幸福里小区 (问效)     {base}/c/xingfuli")
    click.echo(f"  planners' city page  {base}/p/")
    click.echo(f"  staff login          {base}/login")
    click.echo("")
    click.echo("  demo logins (username / password):")
    for username, password, role, _name, codes in DEMO_ACCOUNTS:
        scope = f" ({', '.join(codes)})" if codes else ""
        click.echo(f"    {username:<6} / {password:<16} {role}{scope}")
    click.echo("")


@click.command("serve")
@click.option(
    "--bind",
    default=lambda: f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '5000')}",
)
@click.option("--workers", default=2, type=click.IntRange(1, 64), show_default=True)
@click.option("--threads", default=1, type=click.IntRange(1, 64), show_default=True)
@click.option("--timeout", default=30, type=int, show_default=True)
def serve_command(bind: str, workers: int, threads: int, timeout: int) -> None:
    """Serve with gunicorn (one app per worker).

    Several workers share rate limits only through Redis (CONSULT_RATELIMIT_STORAGE_URI);
    with the in-memory default each worker counts on its own.
    """
    from gunicorn.app.base import BaseApplication

    class Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            options = {
                "bind": bind,
                "workers": workers,
                "threads": threads,
                "timeout": timeout,
                "accesslog": "-",
                "graceful_timeout": 10,
            }
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            return _create_app()

    Server().run()


@click.command("export-ballots")
@click.option("--compound", "code", required=True, help="The compound's code, e.g. dongzhuang.")
@click.option("--output", "-o", type=click.File("w", encoding="utf-8"), default="-")
@with_appcontext
def export_ballots_command(code: str, output: Any) -> None:
    """Write a compound's current ballots as consult.ballots/1 JSON."""
    from consult.services.places import compound_by_code
    from consult.services.surveys import current_survey
    from consult.services.tallies import ballots_document

    with session_scope() as session:
        compound = compound_by_code(session, code)
        if compound is None:
            raise click.ClickException(f"no compound has the code {code!r}")
        survey = current_survey(session, compound)
        if survey is None:
            raise click.ClickException(f"compound {code!r} has no survey yet")
        document = ballots_document(session, compound, survey)
        from consult.services import audit

        audit.record(
            session, None, "export.ballots", f"compound:{code}", ballots=len(document["ballots"])
        )
    json.dump(document, output, ensure_ascii=False, indent=1)
    output.write("\n")


@click.command("create-user")
@click.argument("username")
@click.option(
    "--role",
    required=True,
    type=click.Choice(["admin", "planner", "facilitator"]),
    help="admin: everything; planner: reads compounds; facilitator: runs compounds.",
)
@click.option("--compound", "compounds", multiple=True, help="A compound a facilitator runs.")
@click.option("--district", "districts", multiple=True, help="A district a planner reads.")
@click.option("--name", default="", help="Name shown in the audit log.")
@click.password_option(help="Prompted for (twice) when not given.")
@with_appcontext
def create_user_command(
    username: str,
    role: str,
    compounds: tuple[str, ...],
    districts: tuple[str, ...],
    name: str,
    password: str,
) -> None:
    """Create an account for a facilitator, a planner or an admin."""
    from sqlmodel import col, select

    from consult.models import Compound, District, Role
    from consult.services import accounts, audit

    with session_scope() as session:
        found = list(session.exec(select(Compound).where(col(Compound.code).in_(compounds))).all())
        missing = sorted(set(compounds) - {c.code for c in found})
        areas = list(session.exec(select(District).where(col(District.code).in_(districts))).all())
        missing += sorted(set(districts) - {d.code for d in areas})
        if missing:
            raise click.ClickException(f"unknown compound or district codes: {' '.join(missing)}")
        try:
            account = accounts.create_account(
                session,
                username=username,
                password=password,
                role=Role(role),
                display_name=name,
                compounds=found,
                districts=areas,
            )
        except accounts.AccountError as error:
            raise click.ClickException(str(error)) from error
        audit.record(session, None, "account.create", f"account:{account.username}", role=role)
    click.echo(f"Account {account.username} ({role}) created.")


@click.command("set-password")
@click.argument("username")
@click.password_option(help="Prompted for (twice) when not given.")
@with_appcontext
def set_password_command(username: str, password: str) -> None:
    """Give an account a new password."""
    from sqlmodel import select

    from consult.models import Account
    from consult.services import accounts, audit

    with session_scope() as session:
        account = session.exec(
            select(Account).where(Account.username == accounts.normalize_username(username))
        ).first()
        if account is None:
            raise click.ClickException(f"no account is called {username!r}")
        try:
            accounts.set_password(session, account, password)
        except accounts.AccountError as error:
            raise click.ClickException(str(error)) from error
        audit.record(session, None, "account.password", f"account:{account.username}")
    click.echo(f"Password of {account.username} changed.")


def init_app(app: Flask) -> None:
    """Register the commands on the app's CLI."""
    for command in (
        init_db_command,
        seed_demo_command,
        setup_command,
        serve_command,
        export_ballots_command,
        create_user_command,
        set_password_command,
        db_group,
        backup_command,
        restore_command,
    ):
        app.cli.add_command(command)
    from consult.city_cli import seed_city_command
    from consult.export_cli import export_command

    app.cli.add_command(seed_city_command)
    app.cli.add_command(export_command)
    try:
        from consult.tally_cli import tally_command
    except ImportError:  # pragma: no cover - only while the engine's CLI is missing
        return
    app.cli.add_command(tally_command)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
