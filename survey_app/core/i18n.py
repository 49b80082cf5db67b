"""Danish first, English second: the choice comes from ``?lang=``, sticks for the session,
and falls back to the browser's preference and then Danish."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, request, session, url_for
from flask_babel import Babel

babel = Babel()
bp = Blueprint("i18n", __name__)


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    asked = request.args.get("lang")
    if asked in languages:
        session["lang"] = asked
        return asked
    chosen = session.get("lang")
    if chosen in languages:
        return chosen
    return current_app.config["BABEL_DEFAULT_LOCALE"]


@bp.route("/lang/<code>")
def switch(code: str):
    if code in current_app.config["LANGUAGES"]:
        session["lang"] = code
    target = request.args.get("next", "")
    # Only a local path: never an open redirect.
    if not target.startswith("/") or target.startswith("//"):
        target = url_for("health.index")
    return redirect(target)


def init_app(app) -> None:
    babel.init_app(app, locale_selector=select_locale)
    app.register_blueprint(bp)
