"""Canyue (参阅): the editorial system for policy briefs. `create_app` is the table of contents."""

from __future__ import annotations

from typing import Any

from flask import Flask

import config as canyue_config
from extensions import babel, csrf, db, login_manager, migrate


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_object(canyue_config.DefaultConfig)
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        app.config.update(canyue_config.from_environment())
    else:
        app.config.update(test_config)
    canyue_config.finalise(app.config)

    db.init_app(app)
    migrate.init_app(app, db, render_as_batch=True, compare_type=True)
    csrf.init_app(app)

    import archive.search  # noqa: F401  keeps the search index in sync with every change
    import notifications.moves  # noqa: F401  each lifecycle move notifies whoever now has work
    import longwork.kinds  # noqa: F401  long work as job kinds (export, verify, reindex, backups)
    import database
    import i18n
    import security
    from audittrail import anchors, keys
    from jobs.queue import init_jobs
    from views import auth, inputs

    database.configure_engine(app)
    keys.init_keys(app)
    anchors.init_anchors(app)
    init_jobs(app)
    auth.init_login(app, login_manager)
    i18n.init_babel(app, babel)
    security.init_security(app)
    inputs.init_inputs(app)  # before the blueprints: their <int:…> ids are bounded

    from views import init_templates
    from views.admin import bp as admin_bp
    from views.amendments import bp as amendments_bp
    from views.archive import bp as archive_bp
    from views.audit import bp as audit_bp
    from views.auth import bp as auth_bp
    from views.briefs import bp as briefs_bp
    from views.corrections import bp as corrections_bp
    from views.distribution import bp as distribution_bp
    from instructions.views import bp as instructions_bp
    from signoff.views import bp as signoff_bp
    from views.errors import init_errors
    from views.jobs import bp as jobs_bp
    from views.notifications import bp as notifications_bp
    from views.inbox import bp as inbox_bp
    from views.security import bp as security_bp
    from views.stats import bp as stats_bp
    from views.word import bp as word_bp
    from views.work import bp as work_bp
    from monitoring import init_monitoring

    init_templates(app)
    app.register_blueprint(auth_bp)
    app.register_blueprint(inbox_bp)
    app.register_blueprint(briefs_bp)
    app.register_blueprint(corrections_bp)
    app.register_blueprint(amendments_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(archive_bp)
    app.register_blueprint(distribution_bp)
    app.register_blueprint(audit_bp)
    app.register_blueprint(security_bp)
    app.register_blueprint(word_bp)
    app.register_blueprint(notifications_bp)
    app.register_blueprint(jobs_bp)
    app.register_blueprint(work_bp)
    app.register_blueprint(signoff_bp)
    app.register_blueprint(instructions_bp)
    init_monitoring(app)  # /healthz, /readyz, /metrics, request ids, JSON logs
    app.register_blueprint(stats_bp)
    init_errors(app)

    from commands import register_commands

    register_commands(app)
    return app
