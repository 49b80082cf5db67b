"""STAR's operator page for a round's sample: the rules, frame, exclusions, strata, brands, CSV."""

from __future__ import annotations

import csv
import io

from flask import Blueprint, Response, abort, render_template
from flask_babel import gettext as _

from survey_app.auth.access import require_role
from survey_app.auth.models import ADMIN, ANALYST
from survey_app.core.db import db
from survey_app.partners.models import Brand, Organisation

from .draw import RULES
from .models import Case, FieldingRound, Posting

bp = Blueprint("sampling", __name__, template_folder="templates")

CSV_COLUMNS = (
    "case_id", "stratum", "selection_prob", "brand", "posting_source", "occupation_code",
    "rar_area",
)  # fmt: skip


def _round(code: str) -> FieldingRound:
    rnd = db.session.execute(db.select(FieldingRound).filter_by(code=code)).scalar_one_or_none()
    if rnd is None:
        abort(404)
    return rnd


def _rule_labels() -> dict[str, str]:
    return {
        "no usable contact": _("No usable contact (no e-mail or phone)"),
        "P-unit in rest period": _("P-unit in its rest period after a case in another round"),
        "company limit": _("More postings than allowed per company (CVR)"),
        "P-unit limit": _("More postings than allowed per P-unit"),
    }


def _setting_labels() -> dict[str, str]:
    return {
        "allocation": _("Allocation"),
        "min_per_stratum": _("Minimum cases per stratum"),
        "max_cases_per_company": _("Maximum cases per company (CVR)"),
        "max_cases_per_p_unit": _("Maximum cases per P-unit"),
        "rest_days_p_unit": _("Rest period for a P-unit (days)"),
        "partner_quotas": _("Partner quotas (maximum cases)"),
    }


@bp.route("/staff/rounds/<code>/sample")
@require_role(ADMIN, ANALYST)
def report(code: str):
    rnd = _round(code)
    settings = dict(rnd.settings or {})
    draw = settings.pop("last_draw", None)
    labels = _rule_labels()
    return render_template(
        "sampling/report.html",
        rnd=rnd,
        settings=settings,
        setting_labels=_setting_labels(),
        draw=draw,
        rules=[
            (labels.get(rule, rule), (draw or {}).get("excluded", {}).get(rule, 0))
            for rule in RULES
        ],
    )


@bp.route("/staff/rounds/<code>/sample.csv")
@require_role(ADMIN, ANALYST)
def sample_csv(code: str):
    rnd = _round(code)
    rows = db.session.execute(
        db.select(
            Case.id,
            Case.stratum,
            Case.selection_prob,
            Brand.code,
            Organisation.code,
            Posting.occupation_code,
            Posting.rar_area,
        )
        .join(Brand, Brand.id == Case.brand_id)
        .join(Posting, Posting.id == Case.posting_id)
        .join(Organisation, Organisation.id == Posting.source_id)
        .where(Case.round_id == rnd.id)
        .order_by(Case.id)
    )
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{rnd.code}-sample.csv"'},
    )


def init_app(app) -> None:
    app.register_blueprint(bp)
