"""E-mail through SMTP (``smtplib``), one connection per batch of messages.

``SURVEY_SMTP_HOST``, ``_PORT`` (25), ``_USER``, ``_PASSWORD``, ``_STARTTLS`` (false), ``_FROM``
and ``_TIMEOUT`` (10 s) configure it. A 4xx reply or a broken connection is temporary (retried);
a 5xx reply to the recipient is a bounce (the address is suppressed).

Bounces that arrive later as delivery status notifications are matched back to the outbox row
(see ``messaging/bounces.py``): the Message-ID names the row (``<…m<id>@domain>``), and with
``SURVEY_SMTP_BOUNCE_ADDRESS`` (e.g. ``bounces@example.dk``) the envelope sender is a signed
VERP address ``bounces+m<id>-<signature>@example.dk`` that the bounce is addressed to.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import secrets
import smtplib
import ssl
from dataclasses import dataclass
from datetime import datetime
from email.header import Header
from email.utils import formataddr, formatdate, make_msgid

from flask import current_app

from . import SendFault


def configured() -> bool:
    return bool(current_app.config.get("SMTP_HOST"))


def sender_address() -> str:
    return str(current_app.config.get("SMTP_FROM") or "noreply@localhost")


def verp_signature(outbox_id: int) -> str:
    key = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(key, f"bounce:m{outbox_id}".encode(), hashlib.sha256).hexdigest()[:12]


def row_message_id(outbox_id: int, created_at: datetime, domain: str) -> str:
    """The Message-ID of an outbox row, the same on every attempt: a copy sent again after a
    crash (at least once) carries the id of the first, so receivers can recognise it. The row's
    creation time is in the keyed hash because a restore from backup reuses row ids."""
    key = str(current_app.config["SECRET_KEY"]).encode()
    stamp = f"msgid:m{outbox_id}:{created_at.isoformat()}".encode()
    return f"<{hmac.new(key, stamp, hashlib.sha256).hexdigest()[:20]}.m{outbox_id}@{domain}>"


def envelope_sender(outbox_id: int | None) -> str:
    """The SMTP envelope sender (where bounces go): a signed VERP address naming the outbox row
    when ``SURVEY_SMTP_BOUNCE_ADDRESS`` is set, else the From address."""
    bounce = current_app.config.get("SMTP_BOUNCE_ADDRESS")
    if not bounce or outbox_id is None:
        return sender_address()
    local, _at, domain = str(bounce).rpartition("@")
    return f"{local}+m{outbox_id}-{verp_signature(outbox_id)}@{domain}"


@dataclass(frozen=True)
class Outgoing:
    """A rendered e-mail: its Message-ID, recipient and wire bytes."""

    message_id: str
    to: str
    data: bytes
    envelope_from: str = ""


def _header(value: str) -> str:
    """An RFC 2047 encoded-word for non-ASCII header text; ASCII as it is."""
    return value if value.isascii() else Header(value, "utf-8").encode(linesep="\r\n ")


def _part(content_type: str, body: str) -> bytes:
    return (
        f"Content-Type: {content_type}; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    ).encode() + base64.encodebytes(body.encode("utf-8")).replace(b"\n", b"\r\n")


def build(
    *,
    to: str,
    subject: str,
    text: str,
    html: str,
    from_name: str,
    unsubscribe_url: str,
    outbox_id: int | None = None,
    created_at: datetime | None = None,
) -> Outgoing:
    """A multipart/alternative (text + HTML) message with the one-click unsubscribe headers.

    Serialised directly (headers through ``email.header``, bodies in base64 with CRLF lines):
    the generic ``email`` generator costs more than the rest of a send together.
    """
    sender = sender_address()
    domain = sender.rsplit("@", 1)[-1]
    if outbox_id is not None and created_at is not None:
        message_id = row_message_id(outbox_id, created_at, domain)
    else:
        tag = f"m{outbox_id}" if outbox_id is not None else None
        message_id = make_msgid(idstring=tag, domain=domain)
    boundary = "=_" + secrets.token_hex(16)
    headers = [
        f"From: {formataddr((from_name, sender), charset='utf-8')}",
        f"To: {to}",
        f"Subject: {_header(subject)}",
        f"Date: {formatdate(localtime=False)}",
        f"Message-ID: {message_id}",
        f"List-Unsubscribe: <{unsubscribe_url}>",
        "List-Unsubscribe-Post: List-Unsubscribe=One-Click",
        "Auto-Submitted: auto-generated",
        "MIME-Version: 1.0",
        f'Content-Type: multipart/alternative; boundary="{boundary}"',
    ]
    sep = f"--{boundary}\r\n".encode()
    data = b"".join(
        [
            "\r\n".join(headers).encode("ascii"),
            b"\r\n\r\n",
            sep,
            _part("text/plain", text),
            b"\r\n",
            sep,
            _part("text/html", html),
            f"\r\n--{boundary}--\r\n".encode(),
        ]
    )
    return Outgoing(message_id, to, data, envelope_sender(outbox_id))


def _fault(code: int, reply, what: str) -> SendFault:
    detail = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    text = f"SMTP {code} {what}: {detail}"
    if 500 <= code < 600:
        return SendFault(text, permanent=True, suppress="bounce")
    return SendFault(text)


class SmtpSender:
    """An SMTP session for a batch; reconnects once if the server drops it between messages."""

    def __init__(self):
        if not configured():
            raise SendFault("e-mail is not configured: set SURVEY_SMTP_HOST (and SURVEY_SMTP_FROM)")
        self.conn: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        cfg = current_app.config
        try:
            conn = smtplib.SMTP(
                str(cfg["SMTP_HOST"]),
                int(cfg.get("SMTP_PORT") or 25),
                timeout=float(cfg.get("SMTP_TIMEOUT") or 10),
            )
            if cfg.get("SMTP_STARTTLS"):
                conn.starttls(context=ssl.create_default_context())
            if cfg.get("SMTP_USER"):
                conn.login(str(cfg["SMTP_USER"]), str(cfg.get("SMTP_PASSWORD") or ""))
        except smtplib.SMTPResponseException as exc:
            raise _fault(exc.smtp_code, exc.smtp_error, "on connect") from None
        except (OSError, smtplib.SMTPException) as exc:
            raise SendFault(f"SMTP server unreachable: {type(exc).__name__}: {exc}") from None
        return conn

    def send(self, msg: Outgoing) -> str:
        """Send one message; returns its Message-ID or raises :class:`SendFault`."""
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = self._connect()
            try:
                refused = self.conn.sendmail(
                    msg.envelope_from or sender_address(), [msg.to], msg.data
                )
            except smtplib.SMTPServerDisconnected:
                self.conn = None
                if attempt == 2:
                    raise SendFault("SMTP server closed the connection") from None
                continue
            except smtplib.SMTPRecipientsRefused as exc:
                code, reply = next(iter(exc.recipients.values()))
                raise _fault(code, reply, "recipient refused") from None
            except smtplib.SMTPSenderRefused as exc:
                # our sender address: never the recipient's fault
                raise SendFault(
                    f"SMTP {exc.smtp_code} sender refused: {exc.smtp_error!r}"
                ) from None
            except smtplib.SMTPResponseException as exc:
                self.close()
                raise _fault(exc.smtp_code, exc.smtp_error, "rejected the message") from None
            except (OSError, smtplib.SMTPException) as exc:
                self.close()
                raise SendFault(f"SMTP error: {type(exc).__name__}: {exc}") from None
            if refused:
                code, reply = next(iter(refused.values()))
                raise _fault(code, reply, "recipient refused")
            return msg.message_id
        raise SendFault("SMTP send failed")  # pragma: no cover - the loop returns or raises

    def close(self) -> None:
        if self.conn is not None:
            with contextlib.suppress(OSError, smtplib.SMTPException):
                self.conn.quit()
            self.conn = None
