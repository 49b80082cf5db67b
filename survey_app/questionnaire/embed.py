"""The survey embedded in a partner's site (an iframe), working with third-party cookies blocked.

The session is not a cookie: a signed, expiring *handle* in the URL path carries the response.
It is ``URLSafeTimedSerializer(SECRET_KEY, salt)`` over ``{"r": response id, "n": nonce,
"o": parent origin}``; it never holds the access token, which leaves the URL at the first redirect.

CSRF: the embed blueprint is exempt from Flask-WTF's cookie-bound token. Instead every POST must
carry the handle in a hidden ``handle`` field equal to the one in the path, and it must verify
(signature, age, response). This is equivalent: CSRF works by a foreign site making the browser
send *ambient* credentials (a cookie). Here there are none; the only credential is the handle,
an unguessable signed value the attacker cannot read (same-origin policy, ``Referrer-Policy:
no-referrer``) and so cannot put into a forged form, exactly like a synchronizer token.
"""

from __future__ import annotations

import re
import secrets

from flask import Blueprint, current_app, g, redirect, render_template, request, url_for
from flask_babel import refresh
from itsdangerous import BadSignature, URLSafeTimedSerializer

from survey_app.core import limits
from survey_app.core.db import db
from survey_app.core.security import csrf
from survey_app.privacy import notice

from . import services
from .launch import verify_launch
from .views import _context, _invalid_link, _next_url, lang, page_flow, review_flow

bp = Blueprint(
    "embed",
    __name__,
    url_prefix="/embed",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)

MODE = "embed"
_SALT = "embed-session-v1"
_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.-]+(:\d{1,5})?$")


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def _max_age() -> int:
    return int(current_app.config.get("EMBED_HANDLE_MAX_AGE", 4 * 3600))


def allowed_origins(brand) -> list[str]:
    """The brand's embed origins that are well-formed (nothing else reaches a header)."""
    return [o.rstrip("/") for o in (brand.embed_origins or ()) if _ORIGIN.match(o.rstrip("/"))]


def make_handle(response_id: int, origin: str = "", language: str = "") -> str:
    """A signed handle for the response; it also carries the parent origin and the language,
    which a cookie would hold outside the iframe."""
    data = {"r": response_id, "n": secrets.token_urlsafe(8), "o": origin, "l": language}
    return _serializer().dumps(data)


def read_handle(handle: str) -> dict | None:
    if not handle or len(handle) > 500:
        return None
    try:
        data = _serializer().loads(handle, max_age=_max_age())
    except BadSignature:  # includes SignatureExpired
        return None
    if not isinstance(data, dict) or not isinstance(data.get("r"), int):
        return None
    return data


def _open(response, handle: str | None = None):
    """Redirect into the cookie-free flow for ``response`` (a fresh handle)."""
    if response is None:
        return _invalid_link()
    origin = (request.args.get("origin") or "").rstrip("/")
    if origin not in allowed_origins(response.brand):
        origin = ""
    language = request.args.get("lang", "")
    if language not in current_app.config["LANGUAGES"]:
        language = ""
    return redirect(url_for("embed.current", handle=make_handle(response.id, origin, language)))


def _load(handle: str):
    """(response, handle data) for a valid handle, with the brand's frame-ancestors set."""
    data = read_handle(handle)
    if data is None:
        return None, None
    if request.method == "POST" and request.form.get("handle") != handle:
        return None, None
    # A save or a submit takes the response's row lock itself (page_flow, submit below).
    response = db.session.get(services.Response, data["r"])
    if response is None:
        return None, None
    origins = allowed_origins(response.brand)
    if origins:
        g.frame_ancestors = " ".join(origins)
    if data.get("l") in current_app.config["LANGUAGES"]:
        g.embed_lang = data["l"]
        refresh()  # the locale follows the handle from here on
    return response, data


def _render(template: str, response, data, handle: str, bank, status: int = 200, **extra):
    origins = allowed_origins(response.brand)
    parent = data.get("o") if data.get("o") in origins else ""
    return render_template(
        template,
        parent_origin=parent,
        allowed_origins=origins,
        lang_switch_url=lambda code: url_for("embed.switch_lang", handle=handle, code=code),
        **_context(response, bank, handle=handle, **extra),
    ), status


def _handle_response() -> str:
    data = read_handle((request.view_args or {}).get("handle", ""))
    return str(data["r"]) if data else "none"


@bp.route("/s/<token>")
@limits.credential_entry(lambda: request.view_args.get("token"))
def enter(token: str):
    # The access token is exchanged at once; it never reaches another URL or the handle.
    return _open(services.find_by_token(token))


@bp.route("/launch")
@limits.credential_entry(lambda: request.args.get("jwt", ""))
def launch():
    response_id = verify_launch(request.args.get("jwt", ""))
    response = db.session.get(services.Response, response_id) if response_id else None
    db.session.commit()  # keeps the used jti
    return _open(response)


@bp.route("/h/<handle>/lang/<code>")
def switch_lang(handle: str, code: str):
    """The language choice inside the iframe, kept in a new handle instead of a cookie."""
    response, data = _load(handle)
    if response is None:
        return _invalid_link()
    if code not in current_app.config["LANGUAGES"]:
        code = data.get("l", "")
    new = make_handle(response.id, data.get("o", ""), code)
    return redirect(url_for("embed.current", handle=new))


@bp.route("/h/<handle>/survey")
def current(handle: str):
    response, data = _load(handle)
    if response is None:
        return _invalid_link()
    if response.is_completed:
        return redirect(url_for("embed.done", handle=handle))
    bank = services.bank_of(response.bank_version)
    if response.notice_shown_at is None:
        return _render(
            "questionnaire/start.html",
            response,
            data,
            handle,
            bank,
            notice_core=notice.core_text(lang()),
        )
    return redirect(_next_url(response, bank, prefix="embed", handle=handle))


@bp.route("/h/<handle>/start", methods=["POST"])
def start(handle: str):
    response, _data = _load(handle)
    if response is None:
        return _invalid_link()
    if not response.is_completed:
        services.record_notice_shown(response, lang(), MODE)
        db.session.commit()
    return redirect(url_for("embed.current", handle=handle))


@bp.route("/h/<handle>/p/<page_id>", methods=["GET", "POST"])
@limits.page_save(_handle_response)
def page(handle: str, page_id: str):
    response, data = _load(handle)
    if response is None:
        return _invalid_link()
    target, values, status = page_flow(response, page_id, mode=MODE, prefix="embed", handle=handle)
    if target:
        return redirect(target)
    bank = values.pop("bank")
    return _render("questionnaire/page.html", response, data, handle, bank, status=status, **values)


@bp.route("/h/<handle>/review")
def review(handle: str):
    response, data = _load(handle)
    if response is None:
        return _invalid_link()
    target, shown = review_flow(response, prefix="embed", handle=handle)
    if target:
        return redirect(target)
    bank, values = shown
    return _render("questionnaire/review.html", response, data, handle, bank, **values)


@bp.route("/h/<handle>/submit", methods=["POST"])
def submit(handle: str):
    response, _data = _load(handle)
    if response is None:
        return _invalid_link()
    locked = services.locked(response.id)
    if not locked.is_completed:
        bank = services.bank_of(locked.bank_version)
        target = _next_url(locked, bank, prefix="embed", handle=handle)
        if target != url_for("embed.review", handle=handle):
            return redirect(target)
        services.complete(locked, bank)
        db.session.commit()
    return redirect(url_for("embed.done", handle=handle))


@bp.route("/h/<handle>/done")
def done(handle: str):
    response, data = _load(handle)
    if response is None:
        return _invalid_link()
    if not response.is_completed:
        return redirect(url_for("embed.current", handle=handle))
    bank = services.bank_of(response.bank_version)
    return _render("questionnaire/done.html", response, data, handle, bank, complete=True)


def init_app(app) -> None:
    csrf.exempt(bp)
    app.register_blueprint(bp)
