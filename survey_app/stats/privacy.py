"""What statistics holds: exports, deliveries to STAR, releases, and the statistics API's users,
keys and call log; with the rules for API users and for delivered payloads."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, update

from survey_app.core.db import db
from survey_app.core.personal_data import (
    RetentionReport,
    RetentionRule,
    due_rows,
    months_before,
    names_in,
    register_exemption,
    register_rule,
    register_table,
    scrub_value,
    setting,
)
from survey_app.questionnaire.models import Response
from survey_app.sampling.privacy import names_for

from .api_models import ApiCall, ApiClient, ApiKey
from .models import Delivery, Export

MODULE = "stats"

register_table(
    "exports",
    (),
    _l(
        "Requested export files of a round, with state, size and checksum (the file, on disk, "
        "holds answers and referral contacts)."
    ),
    _l(
        "The row stays as the record of who exported what; the file is deleted after "
        "SURVEY_RETENTION_EXPORT_DAYS (30 days)."
    ),
    MODULE,
)
register_table(
    "deliveries",
    ("payload",),
    _l("Each completed response pushed to STAR's webhook, with its fixed body."),
    _l(
        "The body's answers are pseudonymised like the answers once the round is closed and the "
        "delivery is finished."
    ),
    MODULE,
)
register_table(
    "stats_releases",
    (),
    _l("Published releases: settings, method, sample sizes."),
    _l("Kept (published statistics)."),
    MODULE,
)
register_table(
    "stats_release_cells",
    (),
    _l("Aggregated, suppressed table cells of a release; no unit-level data."),
    _l("Kept (published statistics)."),
    MODULE,
)
register_table(
    "api_clients",
    ("organisation", "contact_name", "contact_email"),
    _l("Organisations reading the statistics API, each with one contact person."),
    _l(
        "The contact person is deleted when the access has been unused for 18 months (keys "
        "revoked); the organisation's name stays for the usage statistics, except a sole "
        "proprietorship's, which is anonymised."
    ),
    MODULE,
)
register_exemption(
    "api_clients.organisation",
    _l(
        "An organisation's name is kept with its API usage; a sole proprietorship's name is "
        "anonymised by the rule api-users."
    ),
)
register_table(
    "api_keys",
    (),
    _l("Hashed API keys with a short prefix."),
    _l("Revoked with the API user; kept as usage record."),
    MODULE,
)
register_table(
    "api_calls",
    ("ip",),
    _l("Every API call (endpoint, parameters, status) and its client address, to stop misuse."),
    _l(
        "The call stays for usage statistics; the client address is cleared after "
        "SURVEY_RETENTION_IP_DAYS (180 days)."
    ),
    MODULE,
)

ANONYMISED = "anonymised sole proprietorship #{id}"


def last_activity() -> dict[int, datetime]:
    """{client id: the latest of creation, last use and last logged call}."""
    calls = dict(
        db.session.execute(
            db.select(ApiCall.client_id, func.max(ApiCall.at))
            .where(ApiCall.client_id.is_not(None))
            .group_by(ApiCall.client_id)
        ).all()
    )
    out = {}
    for cid, created, used in db.session.execute(
        db.select(ApiClient.id, ApiClient.created_at, ApiClient.last_used_at).where(
            ApiClient.removed_at.is_(None)
        )
    ):
        out[cid] = max(v for v in (created, used, calls.get(cid)) if v is not None)
    return out


def remove_api_users(now: datetime, dry_run: bool) -> RetentionReport:
    report = RetentionReport("api-users", dry_run)
    cutoff = months_before(now, float(setting("RETENTION_API_MONTHS")))
    ids = sorted(cid for cid, last in last_activity().items() if last < cutoff)
    report.affected = len(ids)
    report.sample = [str(i) for i in ids[:10]]
    if not ids:
        return report
    sole = db.session.scalars(
        db.select(ApiClient.id).where(ApiClient.id.in_(ids), ApiClient.sole_proprietorship)
    ).all()
    keys = db.session.scalar(
        db.select(func.count(ApiKey.id)).where(
            ApiKey.client_id.in_(ids), ApiKey.revoked_at.is_(None)
        )
    )
    report.details = {"sole_proprietorships": len(sole), "keys_revoked": keys or 0}
    if dry_run:
        return report
    db.session.execute(
        update(ApiKey)
        .where(ApiKey.client_id.in_(ids), ApiKey.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    db.session.execute(
        update(ApiClient)
        .where(ApiClient.id.in_(ids))
        .values(contact_name=None, contact_email=None, removed_at=now)
    )
    for cid in sole:
        db.session.execute(
            update(ApiClient)
            .where(ApiClient.id == cid)
            .values(organisation=ANONYMISED.format(id=cid))
        )
    return report


def clear_api_ips(now: datetime, dry_run: bool) -> RetentionReport:
    cutoff = now - timedelta(days=int(setting("RETENTION_IP_DAYS")))
    where = (ApiCall.ip.is_not(None), ApiCall.at < cutoff)
    report, ids = due_rows("api-call-addresses", ApiCall, dry_run, *where)
    if not dry_run and ids:
        db.session.execute(update(ApiCall).where(*where).values(ip=None))
    return report


def pseudonymise_deliveries(now: datetime, dry_run: bool) -> RetentionReport:
    """Finished deliveries of pseudonymised responses get the same treatment in their body."""
    report = RetentionReport("pseudonymise-deliveries", dry_run)
    rows = db.session.execute(
        db.select(Delivery.id, Delivery.response_id, Delivery.payload)
        .join(Response, Response.id == Delivery.response_id)
        .where(Response.pseudonymised_at.is_not(None), Delivery.state.in_(("delivered", "failed")))
        .order_by(Delivery.id)
    ).all()
    names: dict[int, list[str]] = {}
    ids = [r[1] for r in rows]
    for i in range(0, len(ids), 500):
        names.update(names_for(ids[i : i + 500]))
    changed = []
    for did, rid, payload in rows:
        body = json.loads(payload)
        given = body.get("answers") or {}
        # the referral's name is read from the body too: the answers may be clean already
        known = [*names.get(rid, ()), *names_in(given)]
        clean = {**body, "answers": scrub_value(given, known)}
        if clean != body:
            changed.append(did)
            if not dry_run:
                text = json.dumps(clean, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
                db.session.execute(
                    update(Delivery)
                    .where(Delivery.id == did)
                    .values(payload=text, payload_hash=hashlib.sha256(text.encode()).hexdigest())
                )
    report.affected = len(changed)
    report.sample = [str(i) for i in changed[:10]]
    return report


def delete_export_files(now: datetime, dry_run: bool) -> RetentionReport:
    """Export files past the limit are deleted; the row keeps its checksum, without a path."""
    from .jobs import export_dir

    report = RetentionReport("export-files", dry_run)
    cutoff = now - timedelta(days=int(setting("RETENTION_EXPORT_DAYS")))
    rows = db.session.execute(
        db.select(Export.id, Export.path)
        .where(Export.path.is_not(None), Export.finished_at < cutoff)
        .order_by(Export.id)
    ).all()
    report.affected = len(rows)
    report.sample = [str(r.id) for r in rows[:10]]
    if dry_run or not rows:
        return report
    db.session.execute(update(Export).where(Export.id.in_([r.id for r in rows])).values(path=None))
    db.session.commit()  # the rows first: a file is only removed once no row points at it
    base = export_dir().resolve()
    removed = 0
    for row in rows:
        path = (base / row.path).resolve()
        if path.is_relative_to(base) and path.is_file():
            path.unlink()
            removed += 1
    report.details = {"files_removed": removed}
    return report


register_rule(
    RetentionRule(
        "export-files",
        _l(
            "Export files (answers, referral contacts) are deleted after the export limit; the "
            "export's row stays as the record."
        ),
        ("exports",),
        (),
        delete_export_files,
    )
)
register_rule(
    RetentionRule(
        "api-users",
        _l(
            "API users inactive for 18 months are deleted (contact name and e-mail, keys revoked); "
            "the organisation's name and its API usage stay, a sole proprietorship's name is "
            "anonymised. Inactive: no call, no use of a key since (or since creation)."
        ),
        ("api_clients", "api_keys"),
        ("api_clients.contact_name", "api_clients.contact_email"),
        remove_api_users,
    )
)
register_rule(
    RetentionRule(
        "api-call-addresses",
        _l("Client addresses in the API call log are cleared after the IP limit."),
        ("api_calls",),
        ("api_calls.ip",),
        clear_api_ips,
    )
)
register_rule(
    RetentionRule(
        "pseudonymise-deliveries",
        _l(
            "Finished webhook deliveries of pseudonymised responses lose names, e-mails and phones "
            "from their answers."
        ),
        ("deliveries",),
        ("deliveries.payload",),
        pseudonymise_deliveries,
    )
)
