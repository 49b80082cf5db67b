"""The privacy register for administrators: every table with its personal columns, purpose and
retention, the rules, and the latest retention runs with their reports; a dry run on demand."""

from __future__ import annotations

from functools import wraps

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm

from survey_app.core import audit
from survey_app.core.db import db
from survey_app.core.personal_data import exemptions, rules, tables

from . import retention
from .models import RetentionRun

bp = Blueprint("privacy_register", __name__, template_folder="templates")

#: the administrator role (auth.models.ADMIN; privacy may not import auth)
ADMIN = "admin"
RUNS_SHOWN = 10


def admin_only(view):
    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if current_user.role != ADMIN:
            abort(403)
        return view(*args, **kwargs)

    return wrapped


def register_rows() -> list[dict]:
    """Every registered table with its columns and which rule (or exemption) covers each."""
    covered: dict[str, list[str]] = {}
    for rule in rules().values():
        for column in rule.columns:
            covered.setdefault(column, []).append(rule.name)
    exempt = exemptions()
    rows = []
    for name, entry in sorted(tables().items()):
        columns = []
        for column in entry.personal_columns:
            key = f"{name}.{column}"
            columns.append(
                {"name": column, "rules": covered.get(key, []), "exemption": exempt.get(key)}
            )
        rows.append({"entry": entry, "columns": columns})
    return rows


@bp.route("/staff/privacy")
@admin_only
def register():
    runs = db.session.scalars(
        db.select(RetentionRun).order_by(RetentionRun.id.desc()).limit(RUNS_SHOWN)
    ).all()
    return render_template(
        "privacy/register.html",
        rows=register_rows(),
        rules=sorted(rules().values(), key=lambda r: r.name),
        runs=runs,
        form=FlaskForm(),
    )


@bp.route("/staff/privacy/dry-run", methods=["POST"])
@admin_only
def dry_run():
    if not FlaskForm().validate_on_submit():
        abort(400)
    row = retention.run(dry_run=True, trigger="staff", actor_id=current_user.id)
    audit.record("privacy.retention_dry_run", "retention_run", row.id, affected=row.affected)
    db.session.commit()
    flash(_("Dry run done: nothing was changed."))
    return redirect(url_for("privacy_register.register", _anchor=f"run-{row.id}"))


def init_app(app) -> None:
    app.register_blueprint(bp)
