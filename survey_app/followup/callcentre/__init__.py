"""The call centre: call list, agents' case screen and phone-mode questionnaire, supervisors'
dashboard. Dispositions are re-derived by :mod:`.dispositions` from everything stored."""


def init_app(app) -> None:
    from . import interview, jobs, supervisor, views, voice_views
    from . import models as _models  # noqa: F401 - the metadata knows the tables

    app.register_blueprint(views.bp)
    app.register_blueprint(interview.bp)
    app.register_blueprint(supervisor.bp)
    app.register_blueprint(voice_views.bp)
    jobs.register_periodic()
