"""The respondent's pages: enter by link or code, the notice, page by page, review and submit."""

from __future__ import annotations

import re

from flask import Blueprint, abort, redirect, render_template, request, session, url_for
from flask_babel import get_locale

from survey_app.core import limits
from survey_app.core.db import db
from survey_app.privacy import notice

from . import services, store
from .bank import Bank
from .forms import check_page
from .routing import visible_pages, visible_questions

bp = Blueprint("questionnaire", __name__, template_folder="templates")

SESSION_KEY = "rid"
_MOBILE = re.compile(r"Mobi|Android|iPhone", re.I)
_TABLET = re.compile(r"iPad|Tablet", re.I)


def device_class() -> str:
    ua = request.headers.get("User-Agent", "")
    if _TABLET.search(ua):
        return "tablet"
    return "mobile" if _MOBILE.search(ua) else "desktop"


def lang() -> str:
    return str(get_locale() or "da")


def fill(text: str, context: dict) -> str:
    """Put the case's values into ``{job_title}``-style placeholders; unknown ones stay empty."""
    return re.sub(r"\{(\w+)\}", lambda m: str(context.get(m.group(1), "")), text)


def _invalid_link():
    # One answer for every token that does not open a response: unknown, mistyped, removed.
    return render_template("questionnaire/invalid.html", brand=None), 404


def _current_response(for_save: bool = False):
    """The session's response; ``for_save``, its :class:`store.Draft`."""
    rid = session.get(SESSION_KEY)
    if rid is None:
        return None
    return store.for_save(rid) if for_save else db.session.get(services.Response, rid)


def _context(response, bank: Bank, handle: str | None = None, **extra) -> dict:
    """What every respondent page gets. ``handle`` switches to the embedded flow: its layout,
    its URLs (with the handle in the path) and the handle instead of the CSRF token in forms."""
    if handle:
        layout = "questionnaire/_embed_layout.html"

        def survey_url(endpoint: str, **values) -> str:
            return url_for(f"embed.{endpoint}", handle=handle, **values)
    else:
        layout = "questionnaire/_layout.html"

        def survey_url(endpoint: str, **values) -> str:
            return url_for(f"questionnaire.{endpoint}", **values)

    return dict(
        layout=layout,
        handle=handle,
        survey_url=survey_url,
        response=response,
        bank=bank,
        brand=response.brand.theme(),
        lang=lang(),
        ctx=response.context or {},
        fill=fill,
        privacy_url=url_for("questionnaire.privacy", brand_code=response.brand.code),
        **extra,
    )


def _short_code() -> str:
    return "".join(ch for ch in request.form.get("code", "").upper() if ch.isalnum())


def _session_response() -> str:
    return str(session.get(SESSION_KEY, "none"))


@bp.route("/s/<token>")
@limits.credential_entry(lambda: request.view_args.get("token"))
def enter(token: str):
    response = services.find_by_token(token)
    if response is None:
        return _invalid_link()
    session[SESSION_KEY] = response.id
    session["mode"] = "web"
    # The token leaves the address bar at once; the session carries the response from here.
    return redirect(url_for("questionnaire.current"))


@bp.route("/code", methods=["POST"])
@limits.credential_entry(_short_code)
def code_entry():
    response = services.find_by_short_code(request.form.get("code", ""))
    if response is None:
        return _invalid_link()
    session[SESSION_KEY] = response.id
    session["mode"] = "web"
    return redirect(url_for("questionnaire.current"))


@bp.route("/survey")
def current():
    response = _current_response()
    if response is None:
        return _invalid_link()
    if response.is_completed:
        return redirect(url_for("questionnaire.done"))
    if response.notice_shown_at is None:
        bank = services.bank_of(response.bank_version)
        return render_template(
            "questionnaire/start.html",
            notice_core=notice.core_text(lang()),
            **_context(response, bank),
        )
    return redirect(_next_url(response, services.bank_of(response.bank_version)))


@bp.route("/survey/start", methods=["POST"])
def start():
    response = _current_response()
    if response is None:
        return _invalid_link()
    if not response.is_completed:
        services.record_notice_shown(response, lang(), session.get("mode", "web"))
        db.session.commit()
    return redirect(url_for("questionnaire.current"))


def _next_url(
    response, bank: Bank, after: str | None = None, *, prefix: str = "questionnaire", **url_args
) -> str:
    """With ``after``: the next visible page after it. Without: the first visible page that
    still lacks a required answer. The review when there is none.

    ``prefix`` and ``url_args`` name the blueprint (the embedded flow carries its handle)."""
    answers = response.answer_dict()
    pages = visible_pages(bank, answers)
    ids = [p.id for p in pages]
    start_at = ids.index(after) + 1 if after in ids else 0
    if after is not None:
        if start_at < len(pages):
            return url_for(f"{prefix}.page", page_id=pages[start_at].id, **url_args)
        return url_for(f"{prefix}.review", **url_args)
    shown = {q.id for q in visible_questions(bank, answers)}
    for page in pages:
        missing = [
            qid
            for qid in page.questions
            if qid in shown and bank.question(qid).required and qid not in answers
        ]
        if missing:
            return url_for(f"{prefix}.page", page_id=page.id, **url_args)
    return url_for(f"{prefix}.review", **url_args)


def page_flow(
    response, page_id: str, *, mode: str, prefix: str, agent_id: int | None = None, **url_args
):
    """One questionnaire page, shown or saved, for the web, embedded and phone flows alike.

    A save (POST) works on the response's :class:`store.Draft` (``store.for_save``, unless the
    caller passes one). When another write of the response came in between (two tabs), the
    save is worked out again from the response read under its row lock, so neither tab's
    answers are missed. ``agent_id`` stamps phone answers with the agent who took them.

    Returns ``(redirect_url, None, None)`` or ``(None, template values, status)``.
    """
    if request.method != "POST":
        return _page_flow(response, page_id, mode, prefix, agent_id, url_args)
    if not isinstance(response, store.Draft):
        response = store.for_save(response.id)
    try:
        return _page_flow(response, page_id, mode, prefix, agent_id, url_args)
    except store.Conflict:
        response = store.locked(response.id)
        if response is None:  # erased in between
            abort(404)
        return _page_flow(response, page_id, mode, prefix, agent_id, url_args)


def _page_flow(response, page_id: str, mode: str, prefix: str, agent_id, url_args: dict):
    if response.is_completed:
        return url_for(f"{prefix}.done", **url_args), None, None
    if response.notice_shown_at is None:
        return url_for(f"{prefix}.current", **url_args), None, None
    bank = services.bank_by_id(response.bank_version_id)
    answers = response.answer_dict()
    ids = [p.id for p in visible_pages(bank, answers)]
    if page_id not in ids:
        return _next_url(response, bank, prefix=prefix, **url_args), None, None
    pg = bank.page(page_id)
    errors: dict = {}
    values = answers
    if request.method == "POST":
        submitted, merged, errors, revealed = check_page(
            bank, page_id, answers, request.form, lang()
        )
        if not errors and not revealed:
            store.save_page(
                response,
                bank,
                page_id,
                submitted,
                mode=mode,
                lang=lang(),
                device=device_class(),
                agent_id=agent_id,
            )
            # The next page comes from the answers in hand (the draft holds them as saved).
            return _next_url(response, bank, after=page_id, prefix=prefix, **url_args), None, None
        values = merged
    position = ids.index(page_id)
    back = url_for(f"{prefix}.page", page_id=ids[position - 1], **url_args) if position else None
    return (
        None,
        dict(
            bank=bank,
            page=pg,
            values=values,
            errors=errors,
            back_url=back,
            questions=[q for q in visible_questions(bank, values) if q.id in pg.questions],
            revealed=request.method == "POST" and not errors,
            position=position + 1,
            total=len(ids),
        ),
        (400 if errors else 200),
    )


def review_flow(response, *, prefix: str, **url_args):
    """The review page, for the web, embedded and phone flows alike: ``(redirect_url, None)``
    while a page still needs answers (or when done), else ``(None, (bank, template values))``."""
    if response.is_completed:
        return url_for(f"{prefix}.done", **url_args), None
    bank = services.bank_of(response.bank_version)
    target = _next_url(response, bank, prefix=prefix, **url_args)
    if target != url_for(f"{prefix}.review", **url_args):
        return target, None
    answers = response.answer_dict()
    return None, (bank, dict(questions=visible_questions(bank, answers), values=answers))


@bp.route("/survey/p/<page_id>", methods=["GET", "POST"])
@limits.page_save(_session_response)
def page(page_id: str):
    response = _current_response(for_save=request.method == "POST")
    if response is None:
        return _invalid_link()
    target, values, status = page_flow(
        response, page_id, mode=session.get("mode", "web"), prefix="questionnaire"
    )
    if target:
        return redirect(target)
    if isinstance(response, store.Draft):  # a refused save shows the page again
        response = db.session.get(services.Response, response.id)
    return render_template("questionnaire/page.html", **_context(response, **values)), status


@bp.route("/survey/review", methods=["GET"])
def review():
    response = _current_response()
    if response is None:
        return _invalid_link()
    target, shown = review_flow(response, prefix="questionnaire")
    if target:
        return redirect(target)
    bank, values = shown
    return render_template("questionnaire/review.html", **values, **_context(response, bank))


@bp.route("/survey/submit", methods=["POST"])
def submit():
    response = _current_response()
    if response is None:
        return _invalid_link()
    locked = services.locked(response.id)
    if not locked.is_completed:
        bank = services.bank_of(locked.bank_version)
        if _next_url(locked, bank) != url_for("questionnaire.review"):
            return redirect(_next_url(locked, bank))
        services.complete(locked, bank)
        db.session.commit()
    return redirect(url_for("questionnaire.done"))


@bp.route("/survey/done")
def done():
    response = _current_response()
    if response is None:
        return _invalid_link()
    if not response.is_completed:
        return redirect(url_for("questionnaire.current"))
    bank = services.bank_of(response.bank_version)
    return render_template("questionnaire/done.html", **_context(response, bank))


@bp.route("/privacy/<brand_code>")
def privacy(brand_code: str):
    from survey_app.partners.services import brand_by_code

    brand = brand_by_code(brand_code)
    if brand is None:
        abort(404)
    return render_template(
        "questionnaire/privacy.html",
        brand=brand.theme(),
        lang=lang(),
        controller=notice.CONTROLLER,
        dpo=notice.DPO,
        legal_basis=notice.legal_basis(lang()),
        notice_core=notice.core_text(lang()),
    )


def init_app(app) -> None:
    from . import embed, metrics

    app.register_blueprint(bp)
    app.teardown_request(store.release)
    embed.init_app(app)
    metrics.register()
    app.jinja_env.globals.setdefault("current_locale", lambda: lang())
