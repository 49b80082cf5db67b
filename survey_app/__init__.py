"""The fielding service for STAR's recruitment survey."""

from __future__ import annotations

from flask import Flask


def create_app(test_config: dict | None = None) -> Flask:
    """Application factory: config, extensions, then each feature module's blueprints."""
    app = Flask(
        __name__,
        instance_relative_config=True,
        instance_path=None,
        template_folder="core/templates",
        static_folder="core/static",
    )

    from .core import config, i18n, logs, metrics, requestlog
    from .core.db import db, migrate, ping_after_idle
    from .core.security import init_app as init_security

    config.load_config(app, test_config)
    db.init_app(app)
    with app.app_context():
        for engine in db.engines.values():
            ping_after_idle(engine, float(app.config["DB_PING_AFTER_IDLE_SECONDS"]))
    migrate.init_app(
        app,
        db,
        directory=str(config.REPO_ROOT / "migrations"),
        render_as_batch=True,
        compare_type=True,
    )
    i18n.init_app(app)
    logs.init_app(app)
    requestlog.init_app(app)
    metrics.init_app(app)
    init_security(app)
    from .core import limits

    limits.init_app(app)
    from .core import errors

    errors.init_app(app)

    from .core import audit  # noqa: F401 - registers the model
    from .core.health import bp as health_bp

    app.register_blueprint(health_bp)

    from .auth import views as auth_views
    from .partners import models as _partner_models  # noqa: F401
    from .questionnaire import views as questionnaire_views
    from .sampling import api as postings_api
    from .sampling import imports_views
    from .sampling import models as _sampling_models  # noqa: F401
    from .sampling import views as sampling_views
    from .stats import views as stats_views

    auth_views.init_app(app)
    questionnaire_views.init_app(app)
    from .partners import views as partner_views
    from .questionnaire import preview as brand_preview

    partner_views.init_app(app)
    brand_preview.init_app(app)
    stats_views.init_app(app)
    from .stats import api_models as _stats_api_models  # noqa: F401
    from .stats import public as stats_public
    from .stats.api import views as stats_api_views

    stats_api_views.init_app(app)
    stats_public.init_app(app)
    sampling_views.init_app(app)
    postings_api.init_app(app)
    imports_views.init_app(app)

    from .followup.messaging import models as _messaging_models  # noqa: F401
    from .followup.messaging import views as messaging_views

    messaging_views.init_app(app)

    from .followup import callcentre

    callcentre.init_app(app)

    # the register of personal data: every module declares its tables and retention rules
    from .auth import privacy as _auth_privacy  # noqa: F401
    from .core import privacy as _core_privacy  # noqa: F401
    from .followup import privacy as _followup_privacy  # noqa: F401
    from .partners import privacy as _partners_privacy  # noqa: F401
    from .privacy import register_views as privacy_register
    from .questionnaire import privacy as _questionnaire_privacy  # noqa: F401
    from .sampling import privacy as _sampling_privacy  # noqa: F401
    from .stats import privacy as _stats_privacy  # noqa: F401

    privacy_register.init_app(app)

    # data-subject requests: each module registers where it holds a person (order matters for
    # erasure: answers are cleaned before the delivery copies are rebuilt from them)
    from .auth import subjects as _auth_subjects  # noqa: F401
    from .followup.callcentre import subjects as _call_subjects  # noqa: F401
    from .followup.messaging import subjects as _messaging_subjects  # noqa: F401
    from .partners import subjects as _partner_subjects  # noqa: F401
    from .privacy import subject_views as privacy_views
    from .questionnaire import subjects as _questionnaire_subjects  # noqa: F401
    from .sampling import subjects as _sampling_subjects  # noqa: F401
    from .stats import subjects as _stats_subjects  # noqa: F401

    privacy_views.init_app(app)

    from .cli import register_commands

    register_commands(app)
    return app
