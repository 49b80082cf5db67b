"""Staff pages for queued exports of a round and the webhook delivery log.

STAR's staff (admin, analyst) export every case and see every export; a partner's operator
exports only the cases fielded under its own organisation's brands and sees only those exports.
Another organisation's export is answered with 404, as if it did not exist.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from redis.exceptions import RedisError
from wtforms import SelectField
from wtforms.fields.choices import SelectChoice

from survey_app.auth.access import require_role, sees_all_organisations
from survey_app.auth.models import ADMIN, ANALYST, PARTNER_OPERATOR
from survey_app.core import audit
from survey_app.core.db import db
from survey_app.sampling.models import FieldingRound

from . import delivery as deliveries
from .formats import EXTENSIONS, MIMETYPES
from .jobs import create_export, enqueue_export, file_of, mark_unqueued
from .models import DELIVERY_STATES, Delivery, Export

bp = Blueprint("stats_exports", __name__, template_folder="templates")

FORMAT_CHOICES = [
    ("csv", _l("CSV")),
    ("parquet", _l("Parquet")),
    ("sav", _l("SPSS (.sav)")),
    ("dta", _l("Stata (.dta)")),
    ("bundle", _l("ZIP with every format and the codebook")),
]
PAGE_SIZE = 200


class ExportForm(FlaskForm):
    format = SelectField(
        _l("Format"), choices=[SelectChoice(v, label) for v, label in FORMAT_CHOICES], default="csv"
    )


class ActionForm(FlaskForm):
    pass


def _round(code: str) -> FieldingRound:
    rnd = db.session.execute(db.select(FieldingRound).filter_by(code=code)).scalar_one_or_none()
    if rnd is None:
        abort(404)
    return rnd


def _user_scope() -> int | None:
    """None for STAR's staff (every case), else the operator's organisation."""
    if sees_all_organisations(current_user):
        return None
    if current_user.organisation_id is None:
        abort(403)
    return current_user.organisation_id


def _visible(query):
    if sees_all_organisations(current_user):
        return query
    return query.where(Export.organisation_id == current_user.organisation_id)


@bp.route("/staff/rounds/<code>/exports", methods=["GET", "POST"])
@require_role(ADMIN, ANALYST, PARTNER_OPERATOR)
def exports(code: str):
    rnd = _round(code)
    form = ExportForm()
    if form.validate_on_submit():
        export = create_export(
            rnd, form.format.data, user=current_user, organisation_id=_user_scope()
        )
        db.session.commit()
        export_id = export.id
        try:
            enqueue_export(export_id)
        except RedisError:
            mark_unqueued(export_id)
            flash(_("The export queue cannot be reached; try again in a moment."), "error")
            return redirect(url_for(".exports", code=code), code=303)
        flash(_("Export %(id)s is queued. This page shows when it is ready.", id=export_id))
        return redirect(url_for(".exports", code=code), code=303)
    if request.method == "POST":
        abort(400)
    items = db.session.scalars(
        _visible(db.select(Export).where(Export.round_id == rnd.id))
        .order_by(Export.id.desc())
        .limit(PAGE_SIZE)
    ).all()
    pending = any(e.state in ("queued", "running") for e in items)
    return render_template(
        "stats/exports.html",
        rnd=rnd,
        form=form,
        exports=items,
        pending=pending,
        all_cases=sees_all_organisations(current_user),
        labels=dict(FORMAT_CHOICES),
    )


@bp.route("/staff/exports/<int:export_id>/download")
@require_role(ADMIN, ANALYST, PARTNER_OPERATOR)
def download(export_id: int):
    export = db.session.execute(
        _visible(db.select(Export).where(Export.id == export_id))
    ).scalar_one_or_none()
    if export is None:
        abort(404)
    path = file_of(export)
    if path is None:
        abort(404)
    audit.record(
        "export.downloaded",
        "export",
        export.id,
        format=export.format,
        round=export.round.code,
        sha256=export.sha256,
    )
    db.session.commit()
    return send_file(
        path,
        mimetype=MIMETYPES[export.format],
        as_attachment=True,
        download_name=f"{export.round.code}-{export.id}.{EXTENSIONS[export.format]}",
        max_age=0,
    )


@bp.route("/staff/deliveries")
@require_role(ADMIN)
def delivery_log():
    state = request.args.get("state")
    query = db.select(Delivery).order_by(Delivery.id.desc()).limit(PAGE_SIZE)
    if state in DELIVERY_STATES:
        query = query.where(Delivery.state == state)
    counts = dict(
        db.session.execute(
            db.select(Delivery.state, db.func.count(Delivery.id)).group_by(Delivery.state)
        ).all()
    )
    return render_template(
        "stats/deliveries.html",
        items=db.session.scalars(query).all(),
        counts=counts,
        states=DELIVERY_STATES,
        state=state,
        form=ActionForm(),
    )


@bp.route("/staff/deliveries/<int:delivery_id>/retry", methods=["POST"])
@require_role(ADMIN)
def delivery_retry(delivery_id: int):
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    item = db.session.get(Delivery, delivery_id)
    if item is None:
        abort(404)
    if item.state == "failed":
        deliveries.retry(item)
        db.session.commit()
        flash(_("Delivery %(id)s will be sent again.", id=delivery_id))
    return redirect(url_for(".delivery_log"), code=303)


def init_app(app) -> None:
    app.register_blueprint(bp)
