"""Staff downloads of a round's dataset: STAR sees every case, a partner only its own brand's."""

from __future__ import annotations

import csv
import io

from flask import Blueprint, Response, abort, render_template, stream_with_context
from flask_login import current_user

from survey_app.auth.access import require_role, sees_all_organisations
from survey_app.auth.models import ADMIN, ANALYST, PARTNER_OPERATOR
from survey_app.core import audit
from survey_app.core.db import db
from survey_app.partners.models import Brand
from survey_app.sampling.models import FieldingRound

from .export import iter_rows

bp = Blueprint("stats", __name__, template_folder="templates")


def _brand_scope() -> set[int] | None:
    if sees_all_organisations(current_user):
        return None
    return set(
        db.session.scalars(
            db.select(Brand.id).filter_by(organisation_id=current_user.organisation_id)
        )
    )


@bp.route("/staff/rounds")
@require_role(ADMIN, ANALYST, PARTNER_OPERATOR)
def rounds():
    items = db.session.scalars(db.select(FieldingRound).order_by(FieldingRound.id.desc())).all()
    return render_template("stats/rounds.html", rounds=items)


@bp.route("/staff/rounds/<code>/export.csv")
@require_role(ADMIN, ANALYST, PARTNER_OPERATOR)
def export_csv(code: str):
    rnd = db.session.execute(db.select(FieldingRound).filter_by(code=code)).scalar_one_or_none()
    if rnd is None:
        abort(404)
    scope = _brand_scope()
    audit.record(
        "export.created",
        "round",
        rnd.id,
        format="csv",
        scope="all" if scope is None else "own brand",
    )
    db.session.commit()
    round_id = rnd.id

    def generate():
        # Streamed after the view returned: load the round in the generator's own session.
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        for row in iter_rows(db.session.get(FieldingRound, round_id), scope):
            writer.writerow(row)
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()

    return Response(
        stream_with_context(generate()),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{code}.csv"'},
    )


def init_app(app) -> None:
    from . import export_views, push

    app.register_blueprint(bp)
    export_views.init_app(app)
    push.init_app(app)
