"""Danish first, English second: the choice comes from ``?lang=``, sticks for the session,
and falls back to the browser's preference and then Danish."""

from __future__ import annotations

from functools import cache

from babel import Locale
from flask import Blueprint, current_app, g, redirect, request, session, url_for
from flask_babel import Babel, refresh

babel = Babel()
bp = Blueprint("i18n", __name__)


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    asked = request.args.get("lang")
    if asked in languages:
        session["lang"] = asked
        return asked
    # Embedded pages carry the choice in their signed handle: third-party cookies may be blocked.
    if g.get("embed_lang") in languages:
        return g.embed_lang
    chosen = session.get("lang")
    if chosen in languages:
        return chosen
    return current_app.config["BABEL_DEFAULT_LOCALE"]


#: a language code's Locale, parsed once (Flask-Babel would parse the code on every request)
_locale = cache(Locale.parse)


def _selected_locale() -> Locale:
    return _locale(select_locale())


@bp.route("/lang/<code>")
def switch(code: str):
    if code in current_app.config["LANGUAGES"]:
        session["lang"] = code
    target = request.args.get("next", "")
    # Only a local path: never an open redirect.
    if not target.startswith("/") or target.startswith("//"):
        target = url_for("health.index")
    return redirect(target)


def switch_target() -> str:
    """Where the language switch returns to: this page, but never a URL that carries a token."""
    if request.path.startswith(("/s/", "/embed/s/", "/embed/launch", "/embed/h/")):
        return "/"
    query = request.query_string.decode("latin-1")
    secret = any(name in query for name in ("token", "jwt", "handle"))
    return request.path + ("?" + query if query and not secret else "")


def init_app(app) -> None:
    babel.init_app(app, locale_selector=_selected_locale)
    app.jinja_env.globals["lang_switch_target"] = switch_target
    # The locale is cached on the app context; a request must never see another's choice.
    app.before_request(refresh)
    app.register_blueprint(bp)
