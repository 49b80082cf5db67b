"""What the core holds: the audit log."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import update

from .audit import AuditEvent
from .db import db
from .personal_data import (
    RetentionReport,
    RetentionRule,
    due_rows,
    register_exemption,
    register_rule,
    register_table,
    setting,
)

MODULE = "core"

register_table(
    "audit_events",
    ("actor_label", "ip", "details"),
    _l("Who saw or changed personal data or a case, and every export: proof of lawful access."),
    _l(
        "Kept as the access record; the client address is cleared after the IP limit "
        "(SURVEY_RETENTION_IP_DAYS, 180 days)."
    ),
    MODULE,
)
register_exemption(
    "audit_events.actor_label",
    _l("The staff user who acted (their e-mail): the audit log exists to show who accessed data."),
)
register_exemption(
    "audit_events.details",
    _l(
        "Ids, counts and filters of the action; staff e-mails in user administration events. "
        "Never respondents' contact data."
    ),
)


def clear_audit_ips(now: datetime, dry_run: bool) -> RetentionReport:
    cutoff = now - timedelta(days=int(setting("RETENTION_IP_DAYS")))
    where = (AuditEvent.ip.is_not(None), AuditEvent.at < cutoff)
    report, ids = due_rows("audit-addresses", AuditEvent, dry_run, *where)
    if not dry_run and ids:
        db.session.execute(update(AuditEvent).where(*where).values(ip=None))
    return report


register_rule(
    RetentionRule(
        "audit-addresses",
        _l("Client addresses in the audit log are cleared after the IP limit."),
        ("audit_events",),
        ("audit_events.ip",),
        clear_audit_ips,
    )
)
