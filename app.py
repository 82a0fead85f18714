"""The app factory: the only place blueprints, extensions and commands are wired."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask, redirect, url_for
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

import errors
import i18n
import logs
import security
from config import limiter_storage_uri, load_settings, log_level
from database import MAX_DATABASE_ID
from extensions import cors, csrf, db, limiter, login_manager, migrate


class NewsletterApp(Flask):
    """Flask, remembering which hooks and views are plain functions.

    Flask asks inspect.iscoroutinefunction about every hook and view on every request (about
    fifteen a request here); the answer for a function never changes.
    """

    _REMEMBERED_AT_MOST = 4096  # bound methods made per call are not all kept

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._plain_functions: set = set()

    def ensure_sync(self, func):
        try:
            if func in self._plain_functions:
                return func
        except TypeError:  # an unhashable callable: asked every time, as Flask does
            return super().ensure_sync(func)
        synchronous = super().ensure_sync(func)
        if synchronous is func and len(self._plain_functions) < self._REMEMBERED_AT_MOST:
            self._plain_functions.add(func)
        return synchronous


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    app = NewsletterApp(__name__, instance_relative_config=True)
    # Before the settings are read: their own warnings (no REDIS_URL) are JSON lines on stderr too.
    logs.configure_logging(log_level())
    app.config.update(load_settings(Path(app.instance_path)))
    if test_config:
        app.config.update(test_config)
    logs.configure_logging(app.config["LOG_LEVEL"])

    if app.config["PROXY_COUNT"] > 0:
        count = app.config["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count)

    security.init_app(app)
    app.url_map.converters["int"] = DatabaseId
    _init_extensions(app)
    # After the rate limiter's check: a client past its limit is refused before its body is read.
    app.before_request(security.refuse_nul_characters)
    i18n.init_app(app, english_only_blueprints=("staff",))
    _register_blueprints(app)
    _register_operations(app)
    _register_commands(app)
    errors.init_app(app)
    return app


class DatabaseId(IntegerConverter):
    """<int:…> in our routes never matches past a 64-bit id: 404, not a database overflow."""

    def __init__(self, map, *args, **kwargs):  # noqa: A002 (werkzeug's own argument name)
        kwargs.setdefault("max", MAX_DATABASE_ID)
        super().__init__(map, *args, **kwargs)


def _init_extensions(app: Flask) -> None:
    import campaigns.models  # noqa: F401
    import mailer.models  # noqa: F401  (every model registered before migrations look)
    import mailer.suppression_models  # noqa: F401
    import membership.models  # noqa: F401
    import newsletters.models  # noqa: F401
    import operations.models  # noqa: F401
    import payments.models  # noqa: F401
    import privacy.models  # noqa: F401
    import staff.models  # noqa: F401

    db.init_app(app)
    migrate.init_app(app, db, directory=str(Path(app.root_path) / "migrations"))
    csrf.init_app(app)
    # A Redis storage named directly (a test's RATELIMIT_STORAGE_URI) goes through
    # limiter_storage.py's fallback too: the signup limits count through no other.
    app.config["RATELIMIT_STORAGE_URI"] = limiter_storage_uri(app.config["RATELIMIT_STORAGE_URI"])
    limiter.init_app(app)
    login_manager.init_app(app)
    cors.init_app(
        app,
        resources={r"/api/*": {"origins": app.config["EMBED_ORIGINS"]}},
        supports_credentials=False,
        # Not CORS-safelisted: an outlet's script must be able to read how long to wait.
        expose_headers=["Retry-After"],
    )


def _register_blueprints(app: Flask) -> None:
    from campaigns.mail import register_with_mailer
    from campaigns.views import bp as archive_bp
    from membership.views import bp as membership_bp
    from newsletters.api import bp as newsletters_api_bp
    from newsletters.mail_links import register_with_mailer as register_signup_mail
    from newsletters.routes import bp as newsletters_bp
    from payments.views import bp as payments_bp
    from privacy.routes import bp as privacy_bp
    from staff.views import bp as staff_bp

    app.register_blueprint(newsletters_bp)
    app.register_blueprint(newsletters_api_bp)
    app.register_blueprint(membership_bp)
    app.register_blueprint(payments_bp)
    app.register_blueprint(privacy_bp)
    app.register_blueprint(archive_bp)
    app.register_blueprint(staff_bp)
    register_with_mailer()  # how `outbox work` renders and filters campaign mail
    register_signup_mail()  # signup mail's links are signed when it is rendered

    @app.get("/staff")
    def staff_without_slash():
        return redirect(url_for("staff.dashboard"))


def _register_operations(app: Flask) -> None:
    """Health, metrics and the request log; the spike alarm checked by `outbox work`."""
    from mailer.pass_hooks import register_pass_hook
    from operations import requests as request_log
    from operations import shared_answers
    from operations.spike import EveryMinute, signup_spike
    from operations.views import bp as operations_bp

    request_log.init_app(app)
    shared_answers.init_app(app)  # the goal, widget and badge answered from a copy
    app.register_blueprint(operations_bp)
    app.add_template_global(signup_spike, "signup_spike")
    register_pass_hook("signup_spike", EveryMinute())


def _register_commands(app: Flask) -> None:
    from campaigns.cli import campaigns_cli
    from demo import demo_command
    from mailer.cli import outbox_cli
    from mailer.daily_jobs import register_daily_job
    from mailer.suppression_cli import mail_cli, suppressions_cli
    from newsletters.cli import newsletters_cli, subscribers_cli
    from payments.cli import members_cli, tiers_cli
    from privacy.cli import maintenance_cli
    from privacy.retention import DAILY_JOB, daily_purge
    from staff.cli import staff_cli
    from staff.imports import delete_old_reports

    for command in (newsletters_cli, tiers_cli, members_cli, staff_cli, outbox_cli, demo_command):
        app.cli.add_command(command)
    for command in (suppressions_cli, mail_cli, campaigns_cli, subscribers_cli, maintenance_cli):
        app.cli.add_command(command)
    # Run by `outbox work`, by one of its processes, once a day.
    register_daily_job(DAILY_JOB, daily_purge)
    register_daily_job("staff-import-reports", delete_old_reports)
