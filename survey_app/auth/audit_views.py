"""The audit log for administrators: filter, page through, export as CSV (itself audited)."""

from __future__ import annotations

import csv
import io
from datetime import datetime, time, timedelta

from flask import Blueprint, Response, render_template, request, stream_with_context, url_for
from sqlalchemy import or_

from survey_app.core import audit
from survey_app.core.audit import AuditEvent
from survey_app.core.csvsafe import safe_cell
from survey_app.core.db import db
from survey_app.core.ids import parse_id

from .access import require_role
from .forms import AuditFilterForm
from .models import ADMIN

bp = Blueprint("staff_audit", __name__, template_folder="templates")

PER_PAGE = 50
CSV_COLUMNS = ("id", "at_utc", "actor_id", "actor", "action", "object_type", "object_id", "ip",
               "details")  # fmt: skip


def _filters(form: AuditFilterForm) -> tuple[list, dict]:
    conditions, used = [], {}
    data = form.data
    if data.get("actor"):
        actor = data["actor"].strip()
        used["actor"] = actor
        match = [AuditEvent.actor_label.ilike(f"%{actor}%")]
        if (actor_id := parse_id(actor)) is not None:
            match.append(AuditEvent.actor_id == actor_id)
        conditions.append(or_(*match))
    if data.get("action"):
        action = data["action"].strip()
        used["action"] = action
        # "login." matches every login action; a full name matches itself
        conditions.append(
            AuditEvent.action.startswith(action)
            if action.endswith(".")
            else AuditEvent.action == action
        )
    if data.get("object_type"):
        used["object_type"] = data["object_type"].strip()
        conditions.append(AuditEvent.object_type == used["object_type"])
    if data.get("object_id"):
        used["object_id"] = data["object_id"].strip()
        conditions.append(AuditEvent.object_id == used["object_id"])
    if data.get("date_from"):
        used["date_from"] = data["date_from"].isoformat()
        conditions.append(AuditEvent.at >= datetime.combine(data["date_from"], time.min))
    if data.get("date_to"):
        used["date_to"] = data["date_to"].isoformat()
        end = datetime.combine(data["date_to"], time.min) + timedelta(days=1)
        conditions.append(AuditEvent.at < end)
    return conditions, used


def _form() -> AuditFilterForm:
    return AuditFilterForm(request.args)


@bp.route("/staff/audit")
@require_role(ADMIN)
def events():
    form = _form()
    valid = form.validate()
    conditions, used = _filters(form) if valid else ([], {})
    query = db.select(AuditEvent).where(*conditions).order_by(AuditEvent.id.desc())
    page = db.paginate(query, per_page=PER_PAGE, error_out=False, max_per_page=PER_PAGE)
    actions = db.session.scalars(
        db.select(AuditEvent.action).distinct().order_by(AuditEvent.action)
    ).all()
    args = {k: v for k, v in request.args.items() if k != "page" and v}

    def page_url(number: int) -> str:
        return url_for("staff_audit.events", page=number, **args)

    return render_template(
        "auth/audit.html",
        form=form,
        page=page,
        actions=actions,
        page_url=page_url,
        export_url=url_for("staff_audit.export_csv", **args),
        filtered=bool(used),
    ), (200 if valid else 400)


@bp.route("/staff/audit.csv")
@require_role(ADMIN)
def export_csv():
    form = _form()
    if not form.validate():
        return Response(
            "; ".join(f"{name}: {', '.join(errs)}" for name, errs in form.errors.items()) + "\n",
            status=400,
            mimetype="text/plain",
        )
    conditions, used = _filters(form)
    count = db.session.scalar(db.select(db.func.count()).select_from(AuditEvent).where(*conditions))
    event = audit.record("audit.exported", "audit_log", None, filters=used, rows=count)
    db.session.flush()
    last_id = event.id
    db.session.commit()

    def generate():
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(CSV_COLUMNS)
        query = (
            db.select(AuditEvent)
            .where(*conditions, AuditEvent.id < last_id)
            .order_by(AuditEvent.id)
            .execution_options(yield_per=1000)
        )
        for ev in db.session.scalars(query):
            writer.writerow(
                [
                    safe_cell(v)
                    for v in (
                        ev.id,
                        ev.at.isoformat(timespec="seconds"),
                        ev.actor_id,
                        ev.actor_label,
                        ev.action,
                        ev.object_type,
                        ev.object_id,
                        ev.ip,
                        ev.details or {},
                    )
                ]
            )
            if buffer.tell() > 64 * 1024:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    stamp = datetime.now().strftime("%Y%m%d-%H%M")
    return Response(
        stream_with_context(generate()),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="audit-{stamp}.csv"'},
    )
