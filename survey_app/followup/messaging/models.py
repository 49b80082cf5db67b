"""The outbox and its companions: messages, their events, suppressions, reminders, opt-outs."""

from __future__ import annotations

from survey_app.core.db import db, utcnow

CHANNELS = ("email", "sms", "letter")
PURPOSES = ("invitation", "reminder", "notice", "retention")
STATES = ("queued", "sending", "sent", "delivered", "failed", "suppressed")
#: the order in which a message's state may move (failed/suppressed are terminal, see services)
STATE_RANK = {"queued": 0, "sending": 1, "sent": 2, "delivered": 3}
SUPPRESSION_REASONS = ("stop", "bounce", "invalid", "opt_out")
REMINDER_CHANNELS = ("email", "sms", "letter", "phone")
#: case statuses after which nothing more is sent on any channel
STOP_STATUSES = frozenset({"responded", "refused", "opted_out", "ineligible", "final"})


class Message(db.Model):
    """One outbound message, written before it is sent. Its body is rendered at send time."""

    __tablename__ = "messages"
    __table_args__ = (db.Index("ix_messages_state_next_attempt_at", "state", "next_attempt_at"),)

    id = db.Column(db.Integer, primary_key=True)
    #: None for a message about the person rather than a case (the retention notice)
    case_id = db.Column(db.ForeignKey("cases.id"), nullable=True, index=True)
    #: email, sms, letter
    channel = db.Column(db.String(8), nullable=False)
    #: invitation, reminder, notice
    purpose = db.Column(db.String(12), nullable=False)
    #: e-mail (lowercased), E.164 number, or the addressee of a letter
    to_address = db.Column(db.String(254), nullable=False)
    language = db.Column(db.String(5), nullable=False, default="da")
    brand_id = db.Column(db.ForeignKey("brands.id"), nullable=False, index=True)
    #: queued, sending, sent, delivered, failed, suppressed
    state = db.Column(db.String(12), nullable=False, default="queued", index=True)
    #: SMTP Message-ID, Twilio MessageSid, or letter-batch:<id>
    provider_id = db.Column(db.String(128), nullable=True, index=True)
    attempts = db.Column(db.Integer, nullable=False, default=0)
    last_error = db.Column(db.Text, nullable=True)
    error_permanent = db.Column(db.Boolean, nullable=False, default=False)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    queued_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    #: when a sender claimed it (state sending); a claim older than the timeout is a crash
    claimed_at = db.Column(db.DateTime, nullable=True)
    #: a temporary fault's back-off: not to be claimed before this time
    next_attempt_at = db.Column(db.DateTime, nullable=True)
    sent_at = db.Column(db.DateTime, nullable=True)
    delivered_at = db.Column(db.DateTime, nullable=True)
    failed_at = db.Column(db.DateTime, nullable=True)

    case = db.relationship("Case")
    brand = db.relationship("Brand")


class MessageEvent(db.Model):
    """Every state change and provider callback of a message, as received."""

    __tablename__ = "message_events"

    id = db.Column(db.Integer, primary_key=True)
    message_id = db.Column(
        db.ForeignKey("messages.id", ondelete="CASCADE"), nullable=False, index=True
    )
    at = db.Column(db.DateTime, nullable=False, default=utcnow)
    #: state (a change made here), callback (from the provider), fault, ignored
    kind = db.Column(db.String(12), nullable=False)
    #: the message's state after the event
    state = db.Column(db.String(12), nullable=False)
    #: the provider's own status word (Twilio MessageStatus), if any
    raw_status = db.Column(db.String(32), nullable=True)
    detail = db.Column(db.JSON, nullable=False, default=dict)


class Suppression(db.Model):
    """An address nothing more is sent to on a channel, until lifted (e.g. SMS START)."""

    __tablename__ = "suppressions"

    id = db.Column(db.Integer, primary_key=True)
    channel = db.Column(db.String(8), nullable=False)
    #: E.164 number or lowercased e-mail
    address = db.Column(db.String(254), nullable=False)
    #: stop, bounce, invalid, opt_out
    reason = db.Column(db.String(12), nullable=False)
    #: what told us (inbound-sms, smtp, twilio:21211, optout-link, ...)
    source = db.Column(db.String(64), nullable=True)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    lifted_at = db.Column(db.DateTime, nullable=True)


db.Index("ix_suppressions_channel_address", Suppression.channel, Suppression.address)


class Reminder(db.Model):
    """A planned follow-up step of a case; the periodic sweep acts on it when it is due."""

    __tablename__ = "reminders"

    id = db.Column(db.Integer, primary_key=True)
    case_id = db.Column(db.ForeignKey("cases.id"), nullable=False, index=True)
    #: email, sms, letter, or phone (the hand-over to the call centre)
    channel = db.Column(db.String(8), nullable=False)
    #: its place in the round's schedule (1, 2, ...)
    step = db.Column(db.Integer, nullable=False, default=1)
    due_at = db.Column(db.DateTime, nullable=False)
    #: pending, done, cancelled
    state = db.Column(db.String(12), nullable=False, default="pending")
    message_id = db.Column(db.ForeignKey("messages.id"), nullable=True)
    #: why it was cancelled, or what was done
    note = db.Column(db.String(200), nullable=True)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    done_at = db.Column(db.DateTime, nullable=True)


db.Index("ix_reminders_state_due_at", Reminder.state, Reminder.due_at)


class OptOut(db.Model):
    """A company's refusal through the opt-out link (or its List-Unsubscribe header)."""

    __tablename__ = "opt_outs"

    id = db.Column(db.Integer, primary_key=True)
    case_id = db.Column(db.ForeignKey("cases.id"), nullable=False, unique=True)
    at = db.Column(db.DateTime, nullable=False, default=utcnow)
    #: link (the confirmation page), one-click (List-Unsubscribe-Post)
    source = db.Column(db.String(16), nullable=False)


class InboundMessage(db.Model):
    """An SMS received on one of our numbers (replies, STOP, START)."""

    __tablename__ = "inbound_messages"

    id = db.Column(db.Integer, primary_key=True)
    provider_id = db.Column(db.String(64), nullable=True, unique=True)
    from_address = db.Column(db.String(32), nullable=False, index=True)
    to_address = db.Column(db.String(32), nullable=True)
    body = db.Column(db.Text, nullable=False, default="")
    #: stop, start, or None for any other text
    action = db.Column(db.String(8), nullable=True)
    received_at = db.Column(db.DateTime, nullable=False, default=utcnow)


class LetterBatch(db.Model):
    """The printable PDF of one round's letters of one day, for staff to download and post."""

    __tablename__ = "letter_batches"
    __table_args__ = (db.UniqueConstraint("round_id", "day"),)

    id = db.Column(db.Integer, primary_key=True)
    round_id = db.Column(db.ForeignKey("rounds.id"), nullable=False, index=True)
    day = db.Column(db.Date, nullable=False)
    pdf = db.Column(db.LargeBinary, nullable=False)
    letters = db.Column(db.Integer, nullable=False, default=0)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    updated_at = db.Column(db.DateTime, nullable=False, default=utcnow)
