"""The phone-mode questionnaire: the respondent's pages, page flow and templates inside the
agent's layout. Answers are saved with mode ``phone`` and the agent's id, page visits with mode
``phone``; the response's mode becomes ``phone``, or ``mixed`` when it also holds answers given on
the web. The company can continue on the web with its own link, and the agent with the web
answers in place."""

from __future__ import annotations

from contextlib import contextmanager

from flask import Blueprint, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import event

from survey_app.auth.access import require_role
from survey_app.core.db import db
from survey_app.privacy import notice
from survey_app.questionnaire import services as qservices
from survey_app.questionnaire.models import Answer, Response
from survey_app.questionnaire.views import _context, _next_url, lang, page_flow, review_flow

from . import services
from .views import AGENT_ROLES, locked_case

MODE = "phone"
bp = Blueprint("agent_survey", __name__, url_prefix="/agent/case/<int:case_id>/survey")


def _ctx(case, bank, **extra) -> dict:
    ctx = _context(case.response, bank, **extra)
    ctx.update(
        layout="callcentre/_interview_layout.html",
        survey_url=lambda endpoint, **values: url_for(
            f"agent_survey.{endpoint}", case_id=case.id, **values
        ),
        case=case,
    )
    return ctx


@contextmanager
def _as_agent(agent_id: int):
    """While the phone interview starts: stamp the agent on phone answers and mark the response
    ``mixed`` when other modes' answers remain (a page save does both itself, see
    ``questionnaire.store.save_page``)."""
    session = db.session()

    def before_flush(sess, _ctx, _instances):
        responses = set()
        for obj in list(sess.new) + list(sess.dirty):
            if isinstance(obj, Answer) and obj.mode == MODE and obj.agent_id is None:
                obj.agent_id = agent_id
                responses.add(obj.response)
            elif isinstance(obj, Response) and obj.mode == MODE:
                responses.add(obj)
        for response in responses:
            if response is not None and any(a.mode != MODE for a in response.answers):
                response.mode = "mixed"

    event.listen(session, "before_flush", before_flush)
    try:
        yield
    finally:
        event.remove(session, "before_flush", before_flush)


@bp.route("")
@require_role(*AGENT_ROLES)
def current(case_id: int):
    case = locked_case(case_id)
    response = case.response
    if response.is_completed:
        return redirect(url_for("agent_survey.done", case_id=case_id))
    bank = qservices.bank_of(response.bank_version)
    if response.notice_shown_at is None:
        return render_template(
            "questionnaire/start.html", notice_core=notice.core_text(lang()), **_ctx(case, bank)
        )
    return redirect(_next_url(response, bank, prefix="agent_survey", case_id=case_id))


@bp.route("/start", methods=["POST"])
@require_role(*AGENT_ROLES)
def start(case_id: int):
    case = locked_case(case_id)
    if not case.response.is_completed:
        with _as_agent(current_user.id):
            qservices.record_notice_shown(case.response, lang(), MODE)
            db.session.commit()
    return redirect(url_for("agent_survey.current", case_id=case_id))


@bp.route("/p/<page_id>", methods=["GET", "POST"])
@require_role(*AGENT_ROLES)
def page(case_id: int, page_id: str):
    case = locked_case(case_id)
    target, values, status = page_flow(
        case.response,
        page_id,
        mode=MODE,
        prefix="agent_survey",
        agent_id=current_user.id,
        case_id=case_id,
    )
    if target:
        return redirect(target)
    return render_template("questionnaire/page.html", **_ctx(case, **values)), status


@bp.route("/review")
@require_role(*AGENT_ROLES)
def review(case_id: int):
    case = locked_case(case_id)
    target, shown = review_flow(case.response, prefix="agent_survey", case_id=case_id)
    if target:
        return redirect(target)
    bank, values = shown
    return render_template("questionnaire/review.html", **values, **_ctx(case, bank))


@bp.route("/submit", methods=["POST"])
@require_role(*AGENT_ROLES)
def submit(case_id: int):
    case = locked_case(case_id)
    response = qservices.locked(case.response_id)
    if not response.is_completed:
        bank = qservices.bank_of(response.bank_version)
        target = _next_url(response, bank, prefix="agent_survey", case_id=case_id)
        if target != url_for("agent_survey.review", case_id=case_id):
            return redirect(target)
        qservices.complete(response, bank)
        services.interview_completed(case, current_user.id)
        db.session.commit()
    return redirect(url_for("agent_survey.done", case_id=case_id))


@bp.route("/done")
@require_role(*AGENT_ROLES)
def done(case_id: int):
    from survey_app.sampling.models import Case

    case = db.session.get(Case, case_id)
    if case is None or not case.response.is_completed:
        return redirect(url_for("callcentre.home"))
    return render_template("callcentre/interview_done.html", case=case)
