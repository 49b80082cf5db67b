"""Staff pages for postings imports: the batches with their counts, and each batch's row errors
as a downloadable CSV. STAR's admins and analysts see every batch; a partner operator sees only
its own organisation's."""

from __future__ import annotations

from flask import Blueprint, Response, abort, render_template, request, stream_with_context
from flask_login import current_user

from survey_app.auth.access import check_organisation, require_role, sees_all_organisations
from survey_app.auth.models import ADMIN, ANALYST, PARTNER_OPERATOR
from survey_app.core import audit
from survey_app.core.db import db

from . import error_report
from .models import ImportBatch

bp = Blueprint("imports", __name__, template_folder="templates")

PER_PAGE = 50
SHOWN_ERRORS = 200


def _batches_query():
    query = db.select(ImportBatch).order_by(ImportBatch.id.desc())
    if not sees_all_organisations(current_user):
        query = query.where(ImportBatch.source_id == current_user.organisation_id)
    return query


@bp.route("/staff/imports")
@require_role(ADMIN, ANALYST, PARTNER_OPERATOR)
def batches():
    page = max(1, request.args.get("page", 1, type=int))
    rows = list(
        db.session.scalars(_batches_query().limit(PER_PAGE + 1).offset((page - 1) * PER_PAGE))
    )
    return render_template(
        "sampling/imports.html",
        batches=rows[:PER_PAGE],
        page=page,
        has_next=len(rows) > PER_PAGE,
    )


def _batch(batch_id: int) -> ImportBatch:
    batch = db.session.get(ImportBatch, batch_id)
    if batch is None:
        abort(404)
    check_organisation(current_user, batch.source_id)
    return batch


@bp.route("/staff/imports/<int:batch_id>")
@require_role(ADMIN, ANALYST, PARTNER_OPERATOR)
def batch(batch_id: int):
    b = _batch(batch_id)
    errors = list(error_report.iter_errors(b.id, limit=SHOWN_ERRORS))
    return render_template("sampling/import_batch.html", batch=b, errors=errors, limit=SHOWN_ERRORS)


@bp.route("/staff/imports/<int:batch_id>/errors.csv")
@require_role(ADMIN, ANALYST, PARTNER_OPERATOR)
def errors_csv(batch_id: int):
    b = _batch(batch_id)
    # rejected rows can hold a contact person's name, e-mail or phone
    audit.record("imports.errors_downloaded", "import_batch", b.id)
    db.session.commit()
    return Response(
        stream_with_context(error_report.stream_csv(b.id)),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="import-{b.id}-errors.csv"'},
    )


def init_app(app) -> None:
    app.register_blueprint(bp)
