"""Administrators manage staff accounts: add, disable, enable, reset the second factor."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm

from survey_app.core.db import db
from survey_app.partners.models import Organisation
from survey_app.partners.services import PartnerError

from . import totp
from .access import require_role
from .forms import UserForm
from .models import ADMIN, PARTNER_OPERATOR, ROLES, RecoveryCode, User
from .services import UserError, add_user, reset_second_factor, set_active

bp = Blueprint("staff_users", __name__, template_folder="templates")


def _user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    return user


def _org_choices() -> list[tuple[str, str]]:
    orgs = db.session.scalars(db.select(Organisation).order_by(Organisation.name)).all()
    return [("", "—")] + [(o.code, o.name) for o in orgs if not o.is_star]


@bp.route("/staff/users")
@require_role(ADMIN)
def users():
    items = db.session.scalars(db.select(User).order_by(User.email)).all()
    left = dict(
        db.session.execute(
            db.select(RecoveryCode.user_id, db.func.count())
            .where(RecoveryCode.used_at.is_(None))
            .group_by(RecoveryCode.user_id)
        ).all()
    )
    return render_template(
        "auth/users.html",
        users=items,
        roles=ROLES,
        recovery_left=left,
        requires_totp=totp.requires_totp,
        action_form=FlaskForm(),
    )


@bp.route("/staff/users/new", methods=["GET", "POST"])
@require_role(ADMIN)
def new_user():
    form = UserForm()
    form.organisation.choices = _org_choices()
    password = None
    if form.validate_on_submit():
        org = form.organisation.data or None
        try:
            user, password = add_user(form.email.data, form.role.data, org)
        except (UserError, PartnerError) as exc:
            db.session.rollback()
            field = form.organisation if "organisation" in str(exc) else form.email
            field.errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("User %(email)s added.", email=user.email), "info")
            return render_template("auth/user_added.html", user=user, password=password)
    return render_template("auth/user_form.html", form=form, partner_role=PARTNER_OPERATOR)


def _post_action(user_id: int, action) -> object:
    if not FlaskForm().validate_on_submit():
        abort(400)
    user = _user(user_id)
    if user.id == current_user.id:
        flash(_("You cannot change your own account here."), "error")
        return redirect(url_for("staff_users.users"))
    action(user)
    db.session.commit()
    return redirect(url_for("staff_users.users"))


@bp.route("/staff/users/<int:user_id>/disable", methods=["POST"])
@require_role(ADMIN)
def disable(user_id: int):
    def act(user):
        set_active(user, False)
        flash(_("%(email)s is disabled and logged out.", email=user.email), "info")

    return _post_action(user_id, act)


@bp.route("/staff/users/<int:user_id>/enable", methods=["POST"])
@require_role(ADMIN)
def enable(user_id: int):
    def act(user):
        set_active(user, True)
        flash(_("%(email)s is enabled.", email=user.email), "info")

    return _post_action(user_id, act)


@bp.route("/staff/users/<int:user_id>/reset-totp", methods=["POST"])
@require_role(ADMIN)
def reset_totp(user_id: int):
    def act(user):
        reset_second_factor(user)
        flash(
            _("The second factor of %(email)s is reset; they enrol again at the next login.",
              email=user.email),
            "info",
        )  # fmt: skip

    return _post_action(user_id, act)
