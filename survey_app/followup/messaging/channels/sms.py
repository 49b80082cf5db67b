"""SMS through Twilio's REST API with the official client.

``SURVEY_TWILIO_ACCOUNT_SID``, ``_AUTH_TOKEN``, and ``_MESSAGING_SERVICE_SID`` or ``_FROM``
configure it; ``SURVEY_TWILIO_API_BASE`` sends the client's requests to another host (a local fake
in tests and the benchmark). Request and response bodies carry the respondent's link and are never
logged.
"""

from __future__ import annotations

import logging

from flask import current_app
from requests import RequestException
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from . import SendFault

TWILIO_API = "https://api.twilio.com"

#: Twilio error codes that mean the number cannot receive SMS from us: suppress it
INVALID_NUMBER_CODES = frozenset({21211, 21214, 21217, 21219, 21401, 21407, 21408, 21612, 21614})
#: the recipient has replied STOP to this sender
UNSUBSCRIBED_CODES = frozenset({21610})
#: delivery error codes (status callbacks) that mean the number is unusable
UNDELIVERABLE_CODES = frozenset({30005, 30006})

_quiet = logging.getLogger("survey_app.twilio")


class _Http(TwilioHttpClient):
    """The stock client, re-pointed at ``base`` and logging only the method and path."""

    def __init__(self, base: str | None, timeout: float):
        super().__init__(pool_connections=True, timeout=timeout, logger=_quiet)
        self.base = base.rstrip("/") if base else None

    def request(self, method, url, *args, **kwargs):
        if self.base and url.startswith(TWILIO_API):
            url = self.base + url[len(TWILIO_API) :]
        return super().request(method, url, *args, **kwargs)

    def log_request(self, kwargs) -> None:
        _quiet.debug("twilio %s %s", kwargs["method"], kwargs["url"].split("?", 1)[0])

    def log_response(self, status_code, response) -> None:
        _quiet.debug("twilio response %s", status_code)


def configured() -> bool:
    cfg = current_app.config
    return bool(
        cfg.get("TWILIO_ACCOUNT_SID")
        and cfg.get("TWILIO_AUTH_TOKEN")
        and (cfg.get("TWILIO_MESSAGING_SERVICE_SID") or cfg.get("TWILIO_FROM"))
    )


def twilio_client() -> Client:
    """The official client on our quiet HTTP client, pointed at ``SURVEY_TWILIO_API_BASE`` if set
    (SMS and Voice share it)."""
    cfg = current_app.config
    http = _Http(cfg.get("TWILIO_API_BASE"), float(cfg.get("TWILIO_TIMEOUT", 10)))
    return Client(str(cfg["TWILIO_ACCOUNT_SID"]), str(cfg["TWILIO_AUTH_TOKEN"]), http_client=http)


class SmsSender:
    """One Twilio client (one HTTP connection pool) for a batch of messages."""

    def __init__(self):
        cfg = current_app.config
        if not configured():
            raise SendFault(
                "SMS is not configured: set SURVEY_TWILIO_ACCOUNT_SID, SURVEY_TWILIO_AUTH_TOKEN "
                "and SURVEY_TWILIO_MESSAGING_SERVICE_SID or SURVEY_TWILIO_FROM"
            )
        http = _Http(cfg.get("TWILIO_API_BASE"), float(cfg.get("TWILIO_TIMEOUT", 10)))
        self.client = Client(
            str(cfg["TWILIO_ACCOUNT_SID"]), str(cfg["TWILIO_AUTH_TOKEN"]), http_client=http
        )
        self.service = cfg.get("TWILIO_MESSAGING_SERVICE_SID")
        self.sender = cfg.get("TWILIO_FROM")
        self.callback = cfg["BASE_URL"].rstrip("/") + "/hooks/twilio/status"

    def send(self, to: str, body: str, message_id: int) -> str:
        """Send one SMS; returns the MessageSid or raises :class:`SendFault`.

        The status callback names our message id, so a callback that overtakes the recording
        of the send still finds its message.
        """
        callback = f"{self.callback}?m={message_id}"
        kwargs = {"to": to, "body": body, "status_callback": callback}
        if self.service:
            kwargs["messaging_service_sid"] = self.service
        else:
            kwargs["from_"] = self.sender
        try:
            return self.client.messages.create(**kwargs).sid
        except TwilioRestException as exc:
            raise classify(exc) from None
        except (RequestException, TwilioException, OSError) as exc:
            raise SendFault(f"Twilio unreachable: {type(exc).__name__}") from None

    def close(self) -> None:
        session = getattr(self.client.http_client, "session", None)
        if session is not None:
            session.close()


def classify(exc: TwilioRestException) -> SendFault:
    status, code = exc.status, exc.code
    text = f"Twilio {status} error {code}: {exc.msg}"
    if status == 429 or status >= 500:
        return SendFault(text)
    if code in INVALID_NUMBER_CODES:
        return SendFault(text, permanent=True, suppress="invalid")
    if code in UNSUBSCRIBED_CODES:
        return SendFault(text, permanent=True, suppress="stop")
    if status in (401, 403):
        return SendFault(text)  # our credentials: retry once they are fixed
    return SendFault(text, permanent=True)
