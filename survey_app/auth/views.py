from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import LoginManager, current_user, login_required, login_user, logout_user

from survey_app.core import audit
from survey_app.core.db import db, utcnow

from .forms import LoginForm
from .models import ROLES, User
from .services import find_by_email

bp = Blueprint("auth", __name__, template_folder="templates")
login_manager = LoginManager()
login_manager.login_view = "auth.login"


@login_manager.user_loader
def load_user(user_id: str):
    try:
        uid, version = (int(part) for part in user_id.split(":", 1))
    except ValueError:
        return None
    user = db.session.get(User, uid)
    if user is None or user.session_version != version or not user.active:
        return None
    return user


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("auth.home")


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    if form.validate_on_submit():
        user = find_by_email(form.email.data)
        if user is not None and user.active and user.check_password(form.password.data):
            session.clear()  # a fresh session at login
            login_user(user)
            user.last_login_at = utcnow()
            audit.record("user.login", "user", user.id)
            db.session.commit()
            return redirect(_safe_next(request.args.get("next")))
        flash(_("E-mail or password is wrong."), "error")
        return render_template("auth/login.html", form=form), 401
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
def logout():
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))


@bp.route("/staff")
@login_required
def home():
    return render_template("auth/home.html", user=current_user, roles=ROLES)


def init_app(app) -> None:
    login_manager.init_app(app)
    app.register_blueprint(bp)
