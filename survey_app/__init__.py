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

    from .core import config, i18n, logs
    from .core.db import db, migrate
    from .core.security import init_app as init_security

    config.load_config(app, test_config)
    db.init_app(app)
    migrate.init_app(
        app,
        db,
        directory=str(config.REPO_ROOT / "migrations"),
        render_as_batch=True,
        compare_type=True,
    )
    i18n.init_app(app)
    logs.init_app(app)
    init_security(app)

    from .core import audit  # noqa: F401 - registers the model
    from .core.health import bp as health_bp

    app.register_blueprint(health_bp)

    from .auth import views as auth_views
    from .partners import models as _partner_models  # noqa: F401
    from .questionnaire import views as questionnaire_views
    from .sampling import models as _sampling_models  # noqa: F401
    from .sampling import views as sampling_views
    from .stats import views as stats_views

    auth_views.init_app(app)
    questionnaire_views.init_app(app)
    stats_views.init_app(app)
    sampling_views.init_app(app)

    from .cli import register_commands

    register_commands(app)
    return app
