"""Call attempts, appointments, case locks, the call list and each case's stored disposition."""

from __future__ import annotations

from survey_app.core.db import db, utcnow

#: outcomes an agent can record (``completed`` is set when the phone questionnaire is sent)
OUTCOMES = (
    "no_answer",
    "busy",
    "answering_machine",
    "wrong_number",
    "refusal",
    "callback",
    "referred",
    "not_eligible",
    "interview_started",
    "completed",
)


class CallAttempt(db.Model):
    """One telephone call to a case by an agent, with its outcome."""

    __tablename__ = "call_attempts"

    id = db.Column(db.Integer, primary_key=True)
    case_id = db.Column(db.ForeignKey("cases.id", ondelete="CASCADE"), nullable=False, index=True)
    agent_id = db.Column(db.ForeignKey("users.id"), nullable=False, index=True)
    started_at = db.Column(db.DateTime, nullable=False, default=utcnow, index=True)
    #: None while the call (or the interview it led to) is going on
    ended_at = db.Column(db.DateTime, nullable=True)
    #: one of OUTCOMES; None while the call is open
    outcome = db.Column(db.String(20), nullable=True)
    #: the calling-time slice the call fell in (morning, midday, afternoon)
    time_slice = db.Column(db.String(20), nullable=True)
    #: the number dialled
    phone = db.Column(db.String(20), nullable=True)
    referred_name = db.Column(db.String(200), nullable=True)
    referred_phone = db.Column(db.String(20), nullable=True)
    note = db.Column(db.Text, nullable=True)
    #: click-to-call through Twilio Voice (see voice.py): the call's sid, its status as Twilio
    #: last reported it (initiating before the API answered), its length in seconds, how the
    #: company's leg ended (DialCallStatus), and why it could not be placed
    call_sid = db.Column(db.String(64), nullable=True, unique=True, index=True)
    call_status = db.Column(db.String(20), nullable=True)
    call_duration = db.Column(db.Integer, nullable=True)
    dial_status = db.Column(db.String(20), nullable=True)
    call_error = db.Column(db.String(300), nullable=True)
    call_updated_at = db.Column(db.DateTime, nullable=True)

    agent = db.relationship("User")


class Appointment(db.Model):
    """A call-back: hard (at the agreed minute) or soft (any time after)."""

    __tablename__ = "call_appointments"

    id = db.Column(db.Integer, primary_key=True)
    case_id = db.Column(db.ForeignKey("cases.id", ondelete="CASCADE"), nullable=False, index=True)
    #: naive UTC
    due_at = db.Column(db.DateTime, nullable=False, index=True)
    hard = db.Column(db.Boolean, nullable=False, default=False)
    #: the agent who should make the call, if it matters (None: anyone)
    agent_id = db.Column(db.ForeignKey("users.id"), nullable=True)
    #: pending, done, cancelled
    state = db.Column(db.String(12), nullable=False, default="pending", index=True)
    created_by_id = db.Column(db.ForeignKey("users.id"), nullable=True)
    attempt_id = db.Column(db.ForeignKey("call_attempts.id"), nullable=True)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)


class CaseLock(db.Model):
    """One agent at a time on a case: a lease renewed while the agent works, released on outcome."""

    __tablename__ = "call_locks"

    case_id = db.Column(db.ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True)
    agent_id = db.Column(db.ForeignKey("users.id"), nullable=False, index=True)
    acquired_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    expires_at = db.Column(db.DateTime, nullable=False, index=True)


class CallListItem(db.Model):
    """A case on the call list: when it is next due and with which priority (see schedule.py)."""

    __tablename__ = "call_list"

    id = db.Column(db.Integer, primary_key=True)
    round_id = db.Column(db.ForeignKey("rounds.id"), nullable=False, index=True)
    case_id = db.Column(db.ForeignKey("cases.id", ondelete="CASCADE"), nullable=False, unique=True)
    #: 1 hard appointment, 2 soft call-back, 3 first call, 4 repeated attempt
    priority = db.Column(db.Integer, nullable=False)
    #: naive UTC; the item may be claimed from then on
    due_at = db.Column(db.DateTime, nullable=True, index=True)
    #: a hard appointment counts as one until then, as a soft call-back after
    hard_until = db.Column(db.DateTime, nullable=True)
    #: the agent an appointment was made for
    preferred_agent_id = db.Column(db.ForeignKey("users.id"), nullable=True)
    last_attempt_at = db.Column(db.DateTime, nullable=True)
    attempts = db.Column(db.Integer, nullable=False, default=0)
    #: open (callable from due_at), done (off the list for good)
    state = db.Column(db.String(8), nullable=False, default="open", index=True)
    #: the schedule's reason for the priority, or why the case left the list
    reason = db.Column(db.String(200), nullable=False, default="")
    built_at = db.Column(db.DateTime, nullable=False, default=utcnow)


class CaseDisposition(db.Model):
    """The AAPOR disposition of a case as last derived (see dispositions.py)."""

    __tablename__ = "case_dispositions"

    case_id = db.Column(db.ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True)
    code = db.Column(db.String(8), nullable=False, index=True)
    #: the rate group (I, P, R, NC, O, UH, UO, NE)
    rate_group = db.Column(db.String(2), nullable=False)
    derived_at = db.Column(db.DateTime, nullable=False, default=utcnow)
