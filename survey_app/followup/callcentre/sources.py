"""What the call centre reads from the outbox (followup.messaging), when that module is present."""

from __future__ import annotations


def message_model():
    try:
        from survey_app.followup.messaging.models import Message
    except ImportError:  # pragma: no cover - the outbox is part of the standard build
        return None
    return Message


def messaging_services():
    try:
        from survey_app.followup.messaging import services
    except ImportError:  # pragma: no cover
        return None
    return services
