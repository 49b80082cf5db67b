"""The transports: SMTP for e-mail, Twilio for SMS, WeasyPrint for letters."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SendFault(Exception):
    """A send that did not go through. ``permanent`` faults are not retried.

    ``suppress`` names the suppression reason to record for the address ("invalid", "bounce",
    "stop"), or is None when the address itself is not to blame.
    """

    message: str
    permanent: bool = False
    suppress: str | None = None

    def __str__(self) -> str:
        return self.message
