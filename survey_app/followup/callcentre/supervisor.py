"""The supervisor's dashboard at /staff/callcentre, with a CSV download of every table."""

from __future__ import annotations

import csv
import io

from flask import Blueprint, Response, abort, render_template, request

from survey_app.auth.access import require_role
from survey_app.auth.models import ADMIN, SUPERVISOR
from survey_app.core.csvsafe import safe_cell
from survey_app.core.db import db
from survey_app.sampling.models import FieldingRound

from . import dashboard
from .settings import parse

bp = Blueprint("callcentre_supervisor", __name__, template_folder="templates")
ROLES = (SUPERVISOR, ADMIN)


def _scope():
    rounds = db.session.scalars(db.select(FieldingRound).order_by(FieldingRound.id)).all()
    fielded = [r for r in rounds if parse(r.settings, r.code).enabled]
    code = request.args.get("round", "")
    if code:
        chosen = [r for r in fielded if r.code == code]
        if not chosen:
            abort(404)
    else:
        chosen = [r for r in fielded if r.status != "closed"] or fielded
    tz = parse(chosen[0].settings, chosen[0].code).rules.timezone if chosen else "Europe/Copenhagen"
    return fielded, chosen, tz


@bp.route("/staff/callcentre")
@require_role(*ROLES)
def index():
    fielded, chosen, tz = _scope()
    tables = dashboard.build([r.id for r in chosen], tz) if chosen else {}
    return render_template(
        "callcentre/dashboard.html",
        rounds=fielded,
        chosen=chosen,
        code=request.args.get("round", ""),
        tables=tables,
    )


@bp.route("/staff/callcentre/<name>.csv")
@require_role(*ROLES)
def table_csv(name: str):
    if name not in dashboard.TABLES:
        abort(404)
    _fielded, chosen, tz = _scope()
    table = dashboard.build([r.id for r in chosen], tz)[name]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(table["header"])
    for row in table["rows"]:
        writer.writerow([safe_cell(v) for v in row])
    suffix = request.args.get("round", "") or "current"
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="callcentre-{name}-{suffix}.csv"'},
    )
