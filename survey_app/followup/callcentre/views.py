"""The agent's pages: next case, the case screen with its history and outcomes."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from survey_app.auth.access import require_role
from survey_app.auth.models import AGENT, SUPERVISOR, User
from survey_app.core import audit
from survey_app.core.db import db, utcnow
from survey_app.sampling.models import Case, Company, Posting

from . import calllist, services
from .forms import OutcomeForm
from .models import Appointment, CallAttempt, CallListItem
from .sources import message_model

bp = Blueprint(
    "callcentre",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/callcentre/static",
)

AGENT_ROLES = (AGENT, SUPERVISOR)

#: outcome buttons: (outcome, key, label)
BUTTONS = (
    ("no_answer", "1"),
    ("busy", "2"),
    ("answering_machine", "3"),
    ("wrong_number", "4"),
    ("refusal", "5"),
    ("callback", "6"),
    ("referred", "7"),
    ("not_eligible", "8"),
)


def outcome_labels() -> dict[str, str]:
    return {
        "no_answer": _("No answer"),
        "busy": _("Busy"),
        "answering_machine": _("Answering machine"),
        "wrong_number": _("Wrong number"),
        "refusal": _("Refusal"),
        "callback": _("Call back at…"),
        "referred": _("Referred to another person"),
        "not_eligible": _("Not eligible"),
        "interview_started": _("Interview started"),
        "completed": _("Completed"),
    }


def locked_case(case_id: int) -> Case:
    """The case, with its posting, company and brand, if the current agent holds its lease."""
    row = db.session.execute(
        db.select(Case, Posting, Company)
        .join(Posting, Posting.id == Case.posting_id)
        .join(Company, Company.id == Case.company_id)
        .where(Case.id == case_id)
    ).first()
    if row is None:
        abort(404)
    case = row[0]
    try:
        services.renew(case, current_user.id)
    except services.NotYours:
        db.session.rollback()
        flash(_("This case is no longer yours: its lock ran out or another agent has it."), "error")
        abort(redirect(url_for("callcentre.home")))
    db.session.commit()
    return case


@bp.route("/agent")
@require_role(*AGENT_ROLES)
def home():
    held = calllist.held_by(current_user.id)
    if held is not None:
        return redirect(url_for("callcentre.case", case_id=held))
    now = utcnow()
    due = db.session.scalar(
        db.select(db.func.count())
        .select_from(CallListItem)
        .join(Case, Case.id == CallListItem.case_id)
        .where(
            CallListItem.state == "open",
            CallListItem.due_at <= now,
            Case.status.in_(calllist.OPEN_STATUSES),
        )
    )
    return render_template("callcentre/home.html", due=due)


@bp.route("/agent/next", methods=["POST"])
@require_role(*AGENT_ROLES)
def next_case():
    case_id = calllist.claim_next(current_user.id)
    db.session.commit()
    if case_id is None:
        flash(_("There is no case to call right now."), "info")
        return redirect(url_for("callcentre.home"))
    return redirect(url_for("callcentre.case", case_id=case_id))


def _history(case: Case) -> dict:
    calls = db.session.execute(
        db.select(CallAttempt, User.email)
        .join(User, User.id == CallAttempt.agent_id)
        .where(CallAttempt.case_id == case.id)
        .order_by(CallAttempt.started_at.desc(), CallAttempt.id.desc())
    ).all()
    appointments = db.session.scalars(
        db.select(Appointment)
        .where(Appointment.case_id == case.id)
        .order_by(Appointment.due_at.desc())
    ).all()
    Message = message_model()
    messages = []
    if Message is not None:
        messages = db.session.scalars(
            db.select(Message).where(Message.case_id == case.id).order_by(Message.created_at.desc())
        ).all()
    return {"calls": calls, "appointments": appointments, "messages": messages}


def _render_case(case: Case, form: OutcomeForm, status: int = 200):
    from . import voice

    cfg = services.settings_of(case)
    tz = cfg.rules.timezone
    return render_template(
        "callcentre/case.html",
        case=case,
        posting=case.posting,
        company=case.posting.company,
        response=case.response,
        phone=services.dial_number(case),
        form=form,
        buttons=BUTTONS,
        labels=outcome_labels(),
        local=lambda moment: calllist.to_local(moment, tz) if moment else None,
        timezone=tz,
        voice_ready=voice.available_for(current_user),
        call_state=voice.state(voice.current_call(case.id, current_user.id)),
        **_history(case),
    ), status


@bp.route("/agent/case/<int:case_id>")
@require_role(*AGENT_ROLES)
def case(case_id: int):
    held = locked_case(case_id)
    # the page shows the contact person: who saw it, and when, goes into the audit log
    audit.record("case.viewed", "case", held.id)
    db.session.commit()
    return _render_case(held, OutcomeForm())


@bp.route("/agent/case/<int:case_id>/outcome", methods=["POST"])
@require_role(*AGENT_ROLES)
def outcome(case_id: int):
    case = locked_case(case_id)
    form = OutcomeForm()
    tz = services.settings_of(case).rules.timezone
    now = utcnow()
    if not (form.validate_on_submit() and form.check_outcome(calllist.to_local(now, tz))):
        return _render_case(case, form, 400)
    callback = None
    if form.outcome.data == "callback":
        local = datetime.combine(form.callback_date.data, form.callback_time.data)
        callback = services.Callback(
            due_at=calllist.to_utc(local, tz),
            hard=form.callback_kind.data == "hard",
            mine=bool(form.callback_mine.data),
        )
    try:
        services.record_outcome(
            case,
            current_user.id,
            form.outcome.data,
            note=form.note.data or "",
            callback=callback,
            referred_name=form.referred_name.data or "",
            referred_phone=form.referred_phone.data or "",
            now=now,
        )
    except services.NotYours:
        db.session.rollback()
        flash(_("This case is no longer yours: its lock ran out or another agent has it."), "error")
        return redirect(url_for("callcentre.home"))
    db.session.commit()
    flash(_("Saved: %(outcome)s.", outcome=outcome_labels()[form.outcome.data]), "success")
    return redirect(url_for("callcentre.home"))


@bp.route("/agent/case/<int:case_id>/renew", methods=["POST"])
@require_role(*AGENT_ROLES)
def renew(case_id: int):
    case = db.session.get(Case, case_id) or abort(404)
    try:
        services.renew(case, current_user.id)
    except services.NotYours:
        db.session.rollback()
        return jsonify(ok=False), 409
    db.session.commit()
    return jsonify(ok=True)


@bp.route("/agent/case/<int:case_id>/interview", methods=["POST"])
@require_role(*AGENT_ROLES)
def start_interview(case_id: int):
    case = locked_case(case_id)
    try:
        services.start_interview(case, current_user.id)
    except services.NotYours:
        db.session.rollback()
        return redirect(url_for("callcentre.home"))
    db.session.commit()
    return redirect(url_for("agent_survey.current", case_id=case_id))
