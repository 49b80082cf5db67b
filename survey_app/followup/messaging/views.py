"""Twilio webhooks, the respondent's opt-out pages, staff downloads of letters, the queue board."""

from __future__ import annotations

import hmac
from datetime import date

from flask import Blueprint, Response, abort, current_app, jsonify, render_template, request
from flask_babel import gettext as _
from twilio.request_validator import RequestValidator

from survey_app.auth.access import require_role
from survey_app.auth.models import ADMIN, SUPERVISOR
from survey_app.core import audit, tokens
from survey_app.core.db import db
from survey_app.core.security import csrf
from survey_app.questionnaire.models import Response as SurveyResponse
from survey_app.sampling.models import Case, FieldingRound

from . import services, webhooks
from .models import LetterBatch

bp = Blueprint("messaging", __name__, template_folder="templates")

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


# -- Twilio ----------------------------------------------------------------------------------


def _signed() -> bool:
    """``X-Twilio-Signature`` over BASE_URL + path (+ query) and the POSTed form, never trusting
    the Host header the request came with."""
    token = current_app.config.get("TWILIO_AUTH_TOKEN")
    signature = request.headers.get("X-Twilio-Signature", "")
    if not token or not signature:
        return False
    url = str(current_app.config["BASE_URL"]).rstrip("/") + request.path
    if request.query_string:
        url += "?" + request.query_string.decode("latin-1")
    return RequestValidator(str(token)).validate(url, request.form.to_dict(), signature)


#: the same check for the call centre's Voice webhooks
twilio_signed = _signed


@bp.route("/hooks/twilio/status", methods=["POST"])
@csrf.exempt
def twilio_status():
    if not _signed():
        abort(403)
    message, _moved = webhooks.status_callback(request.form.to_dict(), request.args.get("m"))
    db.session.commit()
    if message is None:
        current_app.logger.warning("Twilio status callback for an unknown message")
    return Response(status=204)


@bp.route("/hooks/twilio/inbound", methods=["POST"])
@csrf.exempt
def twilio_inbound():
    if not _signed():
        abort(403)
    webhooks.inbound(request.form.to_dict())
    db.session.commit()
    return Response(EMPTY_TWIML, mimetype="text/xml")


@bp.route("/hooks/email/bounce", methods=["POST"])
@csrf.exempt
def email_bounce():
    """A bounce report (the raw DSN as the body) from the bounce mailbox's MTA, authorised by
    ``Authorization: Bearer <SURVEY_BOUNCE_TOKEN>``; 404 while no token is configured."""
    from .bounces import BounceError, ingest

    token = str(current_app.config.get("BOUNCE_TOKEN") or "")
    if not token:
        abort(404)
    given = request.headers.get("Authorization", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        abort(403)
    try:
        result = ingest(request.get_data(cache=False), "dsn-http")
    except BounceError as exc:
        db.session.rollback()
        return jsonify(error=str(exc)), 400
    db.session.commit()
    return jsonify(
        message=result.message_id,
        case=result.case_id,
        status=result.status,
        action=result.action,
        outcome=result.outcome,
        applied=result.applied,
    )


# -- opt-out ---------------------------------------------------------------------------------


def _case_of(token: str) -> Case:
    if len(token) > 128:
        abort(404)
    response = db.session.execute(
        db.select(SurveyResponse).filter_by(token_hash=tokens.hash_token(token))
    ).scalar_one_or_none()
    case = None
    if response is not None:
        case = db.session.execute(
            db.select(Case).filter_by(response_id=response.id)
        ).scalar_one_or_none()
    if case is None:
        abort(404)
    return case


@bp.route("/optout/<token>", methods=["GET"])
def optout_page(token: str):
    case = _case_of(token)
    return render_template(
        "messaging/optout.html",
        brand=case.brand.theme(),
        case=case,
        done=case.status == "opted_out",
        token=token,
    )


@bp.route("/optout/<token>", methods=["POST"])
@csrf.exempt  # the secret token in the path authorises it; mail clients POST without a form
def optout(token: str):
    case = _case_of(token)
    one_click = request.form.get("List-Unsubscribe") == "One-Click"
    services.opt_out(case, "one-click" if one_click else "link")
    db.session.commit()
    if one_click:
        return Response(_("You will receive no more messages about this survey."), 200)
    return render_template(
        "messaging/optout.html", brand=case.brand.theme(), case=case, done=True, token=token
    )


# -- staff -----------------------------------------------------------------------------------


@bp.route("/staff/rounds/<code>/letters.pdf")
@require_role(ADMIN, SUPERVISOR)
def letters_pdf(code: str):
    rnd = db.session.execute(db.select(FieldingRound).filter_by(code=code)).scalar_one_or_none()
    if rnd is None:
        abort(404)
    query = db.select(LetterBatch).filter_by(round_id=rnd.id)
    day = request.args.get("day")
    if day:
        try:
            query = query.filter_by(day=date.fromisoformat(day))
        except ValueError:
            abort(400, description=f"day {day!r}: use YYYY-MM-DD")
    batch = db.session.execute(query.order_by(LetterBatch.day.desc()).limit(1)).scalar()
    if batch is None:
        abort(404, description=_("No letters have been printed for this round yet."))
    audit.record(
        "letters.downloaded", "letter_batch", batch.id, round=rnd.code, day=batch.day.isoformat(),
        letters=batch.letters,
    )  # fmt: skip
    db.session.commit()
    return Response(
        batch.pdf,
        mimetype="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{rnd.code}-letters-{batch.day}.pdf"'
        },
    )


@require_role(ADMIN, SUPERVISOR)
def queues_embedded():
    """Only reached in the embedded mode; with Redis the RQ dashboard is mounted here instead."""
    return render_template("messaging/queues_embedded.html")


def _mount_dashboard(app) -> None:
    import rq_dashboard
    from flask_login import current_user

    from survey_app.core.security import csrf as protect

    board = rq_dashboard.blueprint
    if not getattr(board, "_survey_guarded", False):

        @board.before_request
        def guard():
            if not current_user.is_authenticated:
                return current_app.login_manager.unauthorized()
            if current_user.role not in (ADMIN, SUPERVISOR):
                abort(403)
            if request.method != "GET":
                # its buttons post without a CSRF token: accept them only from our own pages
                origin = request.headers.get("Origin") or request.headers.get("Referer") or ""
                if not origin.startswith(request.host_url.rstrip("/")):
                    abort(403)
            return None

        @board.after_request
        def csp(response):
            response.headers["Content-Security-Policy"] = (
                "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
                "script-src 'self' 'unsafe-inline'; frame-ancestors 'none'"
            )
            return response

        board._survey_guarded = True
        protect.exempt(board)
    app.config.setdefault("RQ_DASHBOARD_REDIS_URL", app.config["REDIS_URL"])
    app.register_blueprint(board, url_prefix="/staff/queues")
    rq_dashboard.web.setup_rq_connection(app)


def init_app(app) -> None:
    from . import jobs  # noqa: F401 - registers the periodic jobs

    app.register_blueprint(bp)
    if app.config["EMBEDDED_QUEUE"]:
        app.add_url_rule("/staff/queues", "messaging_queues", queues_embedded)
    else:
        _mount_dashboard(app)
