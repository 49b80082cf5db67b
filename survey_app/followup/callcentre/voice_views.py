"""Click-to-call: the agent's Call button and the call's state, and Twilio Voice's webhooks
(TwiML, status callbacks, the dial result), each checked against ``X-Twilio-Signature``."""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    request,
    url_for,
)
from flask_login import current_user

from survey_app.auth.access import require_role
from survey_app.core.db import db
from survey_app.core.security import csrf
from survey_app.sampling.models import Case

from . import services, voice
from .views import AGENT_ROLES

bp = Blueprint("callcentre_voice", __name__)


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


@bp.route("/agent/case/<int:case_id>/call", methods=["POST"])
@require_role(*AGENT_ROLES)
def call(case_id: int):
    """Place the call: written to the attempt and committed first, then Twilio is asked."""
    case = db.session.get(Case, case_id) or abort(404)
    back = redirect(url_for("callcentre.case", case_id=case_id))
    try:
        attempt, endpoint = voice.prepare(case, current_user)
    except services.NotYours:
        db.session.rollback()
        if _wants_json():
            return jsonify(error="not-yours"), 409
        return redirect(url_for("callcentre.home"))
    except voice.VoiceError as exc:
        db.session.rollback()
        if _wants_json():
            return jsonify(error=str(exc)), 409
        flash(str(exc), "error")
        return back
    db.session.commit()
    voice.dial(attempt, endpoint)
    db.session.commit()
    state = voice.state(attempt)
    if _wants_json():
        return jsonify(state), 502 if attempt.call_error else 200
    if attempt.call_error:
        flash(state["label"], "error")
    return back


@bp.route("/agent/case/<int:case_id>/call", methods=["GET"])
@require_role(*AGENT_ROLES)
def call_state(case_id: int):
    """The state of the agent's call on the case, polled by the case page."""
    if not services.holds(case_id, current_user.id):
        return jsonify(error="not-yours"), 409
    return jsonify(voice.state(voice.current_call(case_id, current_user.id)))


# -- Twilio ----------------------------------------------------------------------------------


def _check() -> None:
    from survey_app.followup.messaging.views import twilio_signed

    if not twilio_signed():
        abort(403)


@bp.route("/hooks/twilio/voice/twiml", methods=["POST"])
@csrf.exempt
def twiml():
    _check()
    attempt = voice.attempt_of(request.args.get("a"), request.form.get("CallSid"))
    if attempt is not None and attempt.call_sid is None and request.form.get("CallSid"):
        attempt.call_sid = request.form["CallSid"]
        db.session.commit()
    return Response(voice.twiml(attempt), mimetype="text/xml")


@bp.route("/hooks/twilio/voice/status", methods=["POST"])
@csrf.exempt
def status():
    _check()
    attempt = voice.status_callback(
        request.form.to_dict(), request.args.get("a"), request.args.get("leg")
    )
    db.session.commit()
    if attempt is None:
        current_app.logger.warning("Twilio Voice status callback for an unknown call")
    return Response(status=204)


@bp.route("/hooks/twilio/voice/dial", methods=["POST"])
@csrf.exempt
def dial_result():
    _check()
    voice.dial_result(request.form.to_dict(), request.args.get("a"))
    db.session.commit()
    from twilio.twiml.voice_response import VoiceResponse

    response = VoiceResponse()
    response.hangup()
    return Response(str(response), mimetype="text/xml")
