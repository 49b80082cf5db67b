"""Bounces of e-mail that arrive after the send: RFC 3464 delivery status notifications.

A DSN is a ``multipart/report; report-type=delivery-status`` message; its
``message/delivery-status`` part has one block of per-message fields and a block per recipient
(``Final-Recipient``, ``Action``, ``Status``, ``Diagnostic-Code``). It is matched to the outbox
row by the signed VERP address it is sent to (``bounces+m<id>-<signature>@…``, see
``channels/email.py``), else by the Message-ID of the returned original headers.

A permanent failure (status 5.x.x) fails the message for good, suppresses
the address for e-mail and moves the case on to its next channel; a temporary one (4.x.x,
``delayed``) and a success report are stored as events only. Every report is an event of its
message, also when it changes nothing.
"""

from __future__ import annotations

import email
import email.policy
import hmac
import re
from dataclasses import dataclass, field
from email.message import Message as MimeMessage

from survey_app.core import audit
from survey_app.core.db import db, utcnow

from . import services
from .channels.email import verp_signature
from .models import Message

STATUS = re.compile(r"^([245])\.(\d{1,3})\.(\d{1,3})$")
ACTIONS = frozenset({"failed", "delayed", "delivered", "relayed", "expanded"})
VERP = re.compile(r"\+m(\d{1,12})-([0-9a-f]{12})@", re.IGNORECASE)
OUR_MESSAGE_ID = re.compile(r"\.m(\d{1,12})@")
#: where the address a bounce was delivered to may be found
ADDRESSED_TO = ("X-Original-To", "Delivered-To", "Envelope-To", "To")


class BounceError(ValueError):
    """The input is not a usable delivery status notification; the text says what and where."""


@dataclass(frozen=True)
class RecipientStatus:
    address: str | None
    action: str
    status: str
    diagnostic: str | None

    @property
    def permanent(self) -> bool:
        return self.status.startswith("5.")

    @property
    def temporary(self) -> bool:
        return self.status.startswith("4.")


@dataclass
class Report:
    recipients: list[RecipientStatus]
    #: the outbox id from the VERP address the report was sent to, if any
    verp_id: int | None = None
    #: the Message-ID of the original message, if its headers were returned
    original_message_id: str | None = None
    reporting_mta: str | None = None
    problems: list[str] = field(default_factory=list)


@dataclass
class BounceResult:
    message_id: int
    case_id: int | None
    status: str
    action: str
    #: failed (permanently, now or before), temporary, or success
    outcome: str
    #: whether this report changed the message
    applied: bool


def _value(field_value: str | None) -> str | None:
    """``rfc822; someone@example.dk`` -> ``someone@example.dk``."""
    if not field_value:
        return None
    text = str(field_value).strip()
    if ";" in text:
        text = text.split(";", 1)[1].strip()
    return text.strip("<>").strip() or None


def _blocks(part: MimeMessage) -> list[MimeMessage]:
    payload = part.get_payload()
    if isinstance(payload, list):
        return payload
    # some generators leave the part as text: parse its blank-line separated blocks ourselves
    text = payload if isinstance(payload, str) else ""
    blocks = [b for b in re.split(r"\r?\n\s*\r?\n", text.strip()) if b.strip()]
    return [email.message_from_string(b + "\n", policy=email.policy.default) for b in blocks]


def parse_dsn(raw: bytes) -> Report:
    """Read a DSN; :class:`BounceError` when it is not one or lacks what matching needs."""
    if not raw or not raw.strip():
        raise BounceError("empty input: expected a delivery status notification (RFC 3464)")
    try:
        mail = email.message_from_bytes(raw, policy=email.policy.default)
    except Exception as exc:  # the parser is lenient; this is a last resort
        raise BounceError(f"not an e-mail message: {exc}") from None
    ctype = mail.get_content_type()
    if ctype != "multipart/report":
        raise BounceError(
            f"Content-Type is {ctype}: a delivery status notification is multipart/report "
            "with report-type=delivery-status"
        )
    report_type = (mail.get_param("report-type") or "").lower()
    if report_type != "delivery-status":
        raise BounceError(
            f"multipart/report has report-type={report_type or '(none)'}, expected delivery-status"
        )
    status_part = original = None
    for part in mail.walk():
        kind = part.get_content_type()
        if kind == "message/delivery-status" and status_part is None:
            status_part = part
        elif kind in ("message/rfc822", "text/rfc822-headers") and original is None:
            original = part
    if status_part is None:
        raise BounceError("the report has no message/delivery-status part")
    blocks = _blocks(status_part)
    if len(blocks) < 2:
        raise BounceError(
            "message/delivery-status: expected a per-message block and at least one "
            f"per-recipient block, found {len(blocks)} block(s)"
        )
    report = Report(recipients=[], reporting_mta=_value(blocks[0].get("Reporting-MTA")))
    for n, block in enumerate(blocks[1:], start=1):
        where = f"message/delivery-status, recipient block {n}"
        action = str(block.get("Action") or "").strip().lower()
        status = str(block.get("Status") or "").strip().split(" ", 1)[0]
        if action not in ACTIONS:
            raise BounceError(
                f"{where}: Action {action or '(missing)'!r} is not one of "
                f"{', '.join(sorted(ACTIONS))}"
            )
        if not STATUS.match(status):
            raise BounceError(
                f"{where}: Status {status or '(missing)'!r} is not a status code "
                "class.subject.detail with class 2, 4 or 5"
            )
        address = _value(block.get("Final-Recipient")) or _value(block.get("Original-Recipient"))
        diagnostic = _value(block.get("Diagnostic-Code"))
        report.recipients.append(
            RecipientStatus(address.lower() if address else None, action, status, diagnostic)
        )
    report.verp_id = _verp_id(mail)
    if original is not None:
        report.original_message_id = _original_message_id(original)
    return report


def _verp_id(mail: MimeMessage) -> int | None:
    for header in ADDRESSED_TO:
        for value in mail.get_all(header) or []:
            match = VERP.search(str(value))
            if match is None:
                continue
            outbox_id, signature = int(match[1]), match[2].lower()
            if not hmac.compare_digest(signature, verp_signature(outbox_id)):
                raise BounceError(
                    f"{header}: the bounce address names message {outbox_id} with a signature "
                    "that is not ours"
                )
            return outbox_id
    return None


def _original_message_id(part: MimeMessage) -> str | None:
    if part.get_content_type() == "message/rfc822":
        payload = part.get_payload()
        inner = payload[0] if isinstance(payload, list) and payload else None
    else:
        content = part.get_payload(decode=True) or b""
        inner = email.message_from_bytes(content, policy=email.policy.default)
    if inner is None:
        return None
    value = inner.get("Message-ID")
    return str(value).strip() if value else None


def match(report: Report) -> Message:
    """The e-mail in the outbox the report is about; :class:`BounceError` when none is."""
    message = None
    if report.verp_id is not None:
        message = db.session.get(Message, report.verp_id)
    elif report.original_message_id:
        message = db.session.execute(
            db.select(Message).where(
                Message.channel == "email", Message.provider_id == report.original_message_id
            )
        ).scalar_one_or_none()
        if message is None and (ours := OUR_MESSAGE_ID.search(report.original_message_id)):
            # the send was not recorded yet (a crash between send and record): the id names it
            message = db.session.get(Message, int(ours[1]))
            if message is not None and message.provider_id is not None:
                message = None  # it was sent with another Message-ID: not this one
    else:
        raise BounceError(
            "the report names no message of ours: it is not addressed to a VERP bounce address "
            "and returns no original Message-ID"
        )
    if message is None or message.channel != "email":
        what = (
            f"message {report.verp_id}"
            if report.verp_id is not None
            else f"Message-ID {report.original_message_id}"
        )
        raise BounceError(f"no e-mail in the outbox matches {what}")
    return message


def _recipient(report: Report, message: Message) -> RecipientStatus:
    for recipient in report.recipients:
        if recipient.address == message.to_address:
            return recipient
    for recipient in report.recipients:
        if recipient.action in ("failed", "delayed"):
            return recipient
    return report.recipients[0]


def ingest(raw: bytes, source: str = "dsn") -> BounceResult:
    """Parse, match and apply one DSN. Flushes; the caller commits."""
    report = parse_dsn(raw)
    message = match(report)
    recipient = _recipient(report, message)
    now = utcnow()
    applied = False
    if recipient.permanent:
        outcome = "failed"
        if not (message.state == "failed" and message.error_permanent):
            message.state, message.failed_at = "failed", now
            message.error_permanent = True
            message.last_error = f"bounce {recipient.status}: {recipient.diagnostic or ''}"[:2000]
            applied = True
    elif recipient.temporary:
        outcome = "temporary"
    else:
        outcome = "success"
    services.event(
        message.id,
        "bounce",
        message.state,
        raw_status=recipient.status,
        action=recipient.action,
        recipient=recipient.address,
        diagnostic=(recipient.diagnostic or "")[:500] or None,
        reporting_mta=report.reporting_mta,
        permanent=recipient.permanent,
        applied=applied,
        source=source,
    )
    if applied:
        services.suppress("email", message.to_address, "bounce", source)
        if message.case_id is not None:  # notices to a person need no case moved on
            services.advance_case(message.case_id, "email", now)
        audit.record(
            "email.bounced", "message", message.id, actor_label=source, status=recipient.status
        )
    db.session.flush()
    return BounceResult(
        message.id, message.case_id, recipient.status, recipient.action, outcome, applied
    )
