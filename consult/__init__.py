"""consult: residents decide what their compound's renovation should fix first."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from consult import config

if TYPE_CHECKING:  # Flask is imported by create_app, so that `import consult.tally` stays light
    from flask import Flask

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Create the application: config, extensions, blueprints, CLI."""
    from flask import Flask
    from werkzeug.middleware.proxy_fix import ProxyFix

    app = Flask(
        __name__,
        instance_path=os.environ.get("CONSULT_INSTANCE_PATH") or str(PROJECT_ROOT / "instance"),
        instance_relative_config=True,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    app.config.from_mapping(config.DEFAULTS)
    app.config["DATABASE_URL"] = f"sqlite:///{Path(app.instance_path) / 'consult.db'}"
    if test_config is None:
        app.config.update(config.from_environment())
        app.config.from_pyfile("config.py", silent=True)
    else:
        app.config.update(test_config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = config.secret_key_for(Path(app.instance_path))
    config.raise_collector_threshold(int(app.config["GC_YOUNG_THRESHOLD"] or 0))

    if app.config["HTTPS"]:
        app.config.update(
            SESSION_COOKIE_SECURE=True, REMEMBER_COOKIE_SECURE=True, PREFERRED_URL_SCHEME="https"
        )
    if proxies := int(app.config["PROXY_COUNT"]):
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies
        )

    from consult import access, cli, db, errors, i18n, labels, limits, security
    from consult.accounts import bp as accounts_bp
    from consult.facilitators import bp as facilitators_bp
    from consult.meetings import bp as meetings_bp
    from consult.planners import bp as planners_bp
    from consult.residents import bp as residents_bp

    db.init_app(app)
    i18n.init_app(app)
    labels.init_app(app)
    security.init_app(app)
    access.init_app(app)
    limits.init_app(app)
    errors.init_app(app)
    app.register_blueprint(residents_bp)
    app.register_blueprint(accounts_bp)
    app.register_blueprint(facilitators_bp)
    app.register_blueprint(meetings_bp)
    app.register_blueprint(planners_bp)
    cli.init_app(app)
    return app
