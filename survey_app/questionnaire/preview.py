"""The brand preview for staff: the questionnaire exactly as a respondent sees it in a brand,
page by page with routing and validation, from the pinned bank version, while creating no
response and no answer rows. The preview's answers (and unsaved brand settings sent from the
brand page) live only in the staff user's session."""

from __future__ import annotations

import dataclasses

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user

from survey_app.auth.access import check_organisation, require_role
from survey_app.auth.models import ADMIN, PARTNER_OPERATOR
from survey_app.core.db import db
from survey_app.partners import brand_rules
from survey_app.partners.forms import COLOUR_FIELDS
from survey_app.partners.services import brand_by_code
from survey_app.privacy import notice as privacy_notice

from . import services
from .bank import Bank
from .forms import check_page
from .models import BankVersion
from .routing import visible_pages, visible_questions
from .views import fill, lang

bp = Blueprint("brand_preview", __name__, template_folder="templates")

KEY = "brand_preview"  # the same session key the brand pages clear on save


def _brand(code: str):
    brand = brand_by_code(code)
    if brand is None:
        abort(404)
    check_organisation(current_user, brand.organisation_id)
    return brand


def _bank_version() -> BankVersion | None:
    """The bank version the newest round pins, else the newest loaded version."""
    rounds = db.metadata.tables.get("rounds")
    if rounds is not None:
        pinned = db.session.execute(
            db.select(rounds.c.bank_version_id).order_by(rounds.c.id.desc()).limit(1)
        ).scalar()
        if pinned is not None:
            return db.session.get(BankVersion, pinned)
    return db.session.scalars(db.select(BankVersion).order_by(BankVersion.id.desc())).first()


def _state(code: str) -> dict:
    state = session.get(KEY)
    if not isinstance(state, dict) or state.get("code") != code:
        state = {"code": code, "theme": {}, "answers": {}}
    return state


def _save(state: dict) -> None:
    session[KEY] = state
    session.modified = True


def _theme(brand, state: dict):
    theme = brand.theme()
    unsaved = state.get("theme") or {}
    if unsaved:
        theme = dataclasses.replace(
            theme,
            name=unsaved.get("name") or theme.name,
            colours={**theme.colours, **unsaved.get("colours", {})},
            notice_intro=unsaved.get("notice_intro", theme.notice_intro),
        )
    return theme


def _context(brand, bank: Bank, state: dict, **extra) -> dict:
    code = brand.code

    def survey_url(endpoint: str, **values) -> str:
        return url_for(f"brand_preview.{endpoint}", brand_code=code, **values)

    if state.get("theme"):
        message = _("Preview with unsaved settings. Nothing you enter here is saved.")
    else:
        message = _("Preview. Nothing you enter here is saved.")
    flash(message, "preview")
    return dict(
        layout="questionnaire/_layout.html",
        handle=None,
        survey_url=survey_url,
        response=None,
        bank=bank,
        brand=_theme(brand, state),
        lang=lang(),
        ctx={
            "job_title": _("Example job title"),
            "posted_on": "2026-05-01",
            "source_name": brand.name,
        },
        fill=fill,
        privacy_url=url_for("questionnaire.privacy", brand_code=code),
        preview=True,
        **extra,
    )


def _loaded(code: str):
    brand = _brand(code)
    version = _bank_version()
    if version is None:
        abort(404)
    return brand, services.bank_of(version), _state(code)


def _unsaved_settings(form) -> dict:
    """Name, colours and notice wording sent from the brand page; colours only if they pass."""
    colours = {
        key: (form.get(field) or "").strip().lower()
        for field, key in COLOUR_FIELDS.items()
        if (form.get(field) or "").strip()
    }
    problems = brand_rules.colour_problems(colours)
    for messages in problems.values():
        for message in messages:
            flash(message, "error")
    notice_intro = {
        language: brand_rules.clean_text(form.get(f"notice_{language}"))[: brand_rules.NOTICE_MAX]
        for language in ("da", "en")
    }
    return {
        "name": brand_rules.clean_text(form.get("name")).replace("\n", " ")[: brand_rules.NAME_MAX],
        "colours": {} if problems else colours,
        "notice_intro": {k: v for k, v in notice_intro.items() if v},
    }


@bp.route("/staff/brands/<brand_code>/preview", methods=["GET", "POST"])
@require_role(ADMIN, PARTNER_OPERATOR)
def notice(brand_code: str):
    """The notice page. A GET starts over with the saved brand; a POST from the brand page
    starts over with the settings typed there."""
    code = brand_code
    brand, bank, _state_ = _loaded(brand_code)
    state = {"code": code, "theme": {}, "answers": {}}
    if request.method == "POST":
        state["theme"] = _unsaved_settings(request.form)
        _save(state)
        return redirect(url_for("brand_preview.notice", brand_code=code, unsaved=1), code=303)
    if request.args.get("unsaved"):
        state["theme"] = _state(code).get("theme") or {}
    _save(state)
    return render_template(
        "questionnaire/start.html",
        notice_core=privacy_notice.core_text(lang()),
        **_context(brand, bank, state),
    )


@bp.route("/staff/brands/<brand_code>/preview/start", methods=["POST"])
@require_role(ADMIN, PARTNER_OPERATOR)
def start(brand_code: str):
    brand, bank, state = _loaded(brand_code)
    first = visible_pages(bank, state["answers"])[0]
    return redirect(url_for("brand_preview.page", brand_code=brand_code, page_id=first.id))


@bp.route("/staff/brands/<brand_code>/preview/p/<page_id>", methods=["GET", "POST"])
@require_role(ADMIN, PARTNER_OPERATOR)
def page(brand_code: str, page_id: str):
    code = brand_code
    brand, bank, state = _loaded(brand_code)
    answers = state["answers"]
    ids = [p.id for p in visible_pages(bank, answers)]
    if page_id not in ids:
        abort(404)
    pg = bank.page(page_id)
    errors: dict = {}
    values = answers
    if request.method == "POST":
        submitted, merged, errors, revealed = check_page(
            bank, page_id, answers, request.form, lang()
        )
        if not errors and not revealed:
            shown = {q.id for q in visible_questions(bank, merged)}
            state["answers"] = {k: v for k, v in merged.items() if k in shown and v is not None}
            _save(state)
            after = [p.id for p in visible_pages(bank, state["answers"])]
            position = after.index(page_id) + 1 if page_id in after else len(after)
            if position < len(after):
                return redirect(
                    url_for("brand_preview.page", brand_code=code, page_id=after[position])
                )
            return redirect(url_for("brand_preview.review", brand_code=code))
        values = merged
    position = ids.index(page_id)
    back = (
        url_for("brand_preview.page", brand_code=code, page_id=ids[position - 1])
        if position
        else None
    )
    return (
        render_template(
            "questionnaire/page.html",
            **_context(
                brand,
                bank,
                state,
                page=pg,
                values=values,
                errors=errors,
                back_url=back,
                questions=[q for q in visible_questions(bank, values) if q.id in pg.questions],
                revealed=request.method == "POST" and not errors,
                position=position + 1,
                total=len(ids),
            ),
        ),
        400 if errors else 200,
    )


@bp.route("/staff/brands/<brand_code>/preview/review")
@require_role(ADMIN, PARTNER_OPERATOR)
def review(brand_code: str):
    brand, bank, state = _loaded(brand_code)
    answers = state["answers"]
    return render_template(
        "questionnaire/review.html",
        questions=visible_questions(bank, answers),
        values=answers,
        **_context(brand, bank, state),
    )


@bp.route("/staff/brands/<brand_code>/preview/submit", methods=["POST"])
@require_role(ADMIN, PARTNER_OPERATOR)
def submit(brand_code: str):
    code = brand_code
    _brand(brand_code)
    return redirect(url_for("brand_preview.done", brand_code=code))


@bp.route("/staff/brands/<brand_code>/preview/done")
@require_role(ADMIN, PARTNER_OPERATOR)
def done(brand_code: str):
    brand, bank, state = _loaded(brand_code)
    return render_template("questionnaire/done.html", **_context(brand, bank, state))


def init_app(app) -> None:
    app.register_blueprint(bp)
