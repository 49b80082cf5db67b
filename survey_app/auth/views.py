"""Staff login: password, then the second factor (enrolment on first login), then a fresh
session. Failures of either step count on the login throttle; unknown e-mail addresses get the
same answer, in about the same time, as wrong passwords."""

from __future__ import annotations

import time

from flask import (
    Blueprint,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager, current_user, login_required, login_user, logout_user

from survey_app.core import audit
from survey_app.core.db import db, utcnow

from . import sessions, throttle, totp
from .forms import CodeForm, EnrolForm, LoginForm
from .models import ROLES, User, verify_dummy_password
from .services import find_by_email

bp = Blueprint("auth", __name__, template_folder="templates")
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = _l("Please log in to see this page.")
login_manager.localize_callback = str
login_manager.login_message_category = "info"

PENDING_KEY = "pending_login"
#: how long the second step may take after the password
PENDING_SECONDS = 300


@login_manager.user_loader
def load_user(user_id: str):
    try:
        uid, version = (int(part) for part in user_id.split(":", 1))
    except ValueError:
        return None
    user = db.session.get(User, uid)
    if user is None or user.session_version != version or not user.active:
        return None
    if not sessions.is_current(user):
        return None
    return user


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("auth.home")


def _keys(email: str) -> list[str]:
    return [throttle.account_key(email), throttle.ip_key(request.remote_addr)]


def _locked_page(form, lock: throttle.Lock, template: str = "auth/login.html", **context):
    flash(
        _(
            "Too many failed attempts. Try again in %(minutes)s minutes.",
            minutes=lock.minutes,
        ),
        "error",
    )
    return render_template(template, form=form, **context), 429


def _failure(email: str, user: User | None, reason: str):
    """Count a failed step on the account and the address; the lock if one started."""
    account = throttle.register_failure(throttle.account_key(email), "STAFF_LOGIN_MAX_FAILURES")
    by_ip = throttle.register_failure(
        throttle.ip_key(request.remote_addr), "STAFF_LOGIN_MAX_FAILURES_PER_IP"
    )
    # What was typed is recorded only when it names an account: people type passwords into
    # the e-mail field, and the log must never hold one.
    typed = {"email": user.email} if user else {"typed_hash": throttle.account_key(email)[2:14]}
    audit.record(
        "login.failed",
        "user" if user else None,
        user.id if user else None,
        actor_label="anonymous",
        reason=reason,
        **typed,
    )
    lock = account or by_ip
    if lock is not None:
        audit.record(
            "login.locked_out",
            "user" if user else None,
            user.id if user else None,
            actor_label="system",
            scope="account" if account else "address",
            until=lock.until.isoformat(timespec="seconds"),
            **typed,
        )
    db.session.commit()
    return lock


def _complete_login(user: User, method: str, next_url: str | None):
    """The session is cleared and re-issued with a new server-side id."""
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    sid = sessions.start(user)
    login_user(user)
    session[sessions.SESSION_KEY] = sid
    user.last_login_at = utcnow()
    throttle.register_success(throttle.account_key(user.email))
    audit.record("user.login", "user", user.id, method=method)
    db.session.commit()
    return _safe_next(next_url)


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    if form.validate_on_submit():
        email = form.email.data.strip().lower()
        lock = throttle.locked(_keys(email))
        if lock is not None:
            verify_dummy_password(form.password.data)
            return _locked_page(form, lock)
        user = find_by_email(email)
        if user is None:
            verify_dummy_password(form.password.data)
            ok, reason = False, "unknown user"
        elif not user.check_password(form.password.data):
            ok, reason = False, "wrong password"
        elif not user.active:
            ok, reason = False, "disabled"
        else:
            ok, reason = True, ""
        if not ok:
            lock = _failure(email, user, reason)
            if lock is not None:
                return _locked_page(form, lock)
            flash(_("E-mail or password is wrong."), "error")
            return render_template("auth/login.html", form=form), 401
        next_url = request.args.get("next")
        if not totp.requires_totp(user):
            return redirect(_complete_login(user, "password", next_url))
        lang = session.get("lang")
        session.clear()  # nothing of the anonymous session survives the password step
        if lang:
            session["lang"] = lang
        session[PENDING_KEY] = {
            "uid": user.id,
            "v": user.session_version,
            "at": int(time.time()),
            "next": _safe_next(next_url),
        }
        if user.has_totp:
            return redirect(url_for("auth.login_code"))
        return redirect(url_for("auth.enrol"))
    return render_template("auth/login.html", form=form)


def _pending_user() -> User | None:
    pending = session.get(PENDING_KEY)
    if not isinstance(pending, dict):
        return None
    if time.time() - pending.get("at", 0) > PENDING_SECONDS:
        session.pop(PENDING_KEY, None)
        return None
    user = db.session.get(User, pending.get("uid"))
    if user is None or not user.active or user.session_version != pending.get("v"):
        return None
    return user


def _restart():
    flash(_("Please log in again."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/login/code", methods=["GET", "POST"])
def login_code():
    user = _pending_user()
    if user is None:
        return _restart()
    if not user.has_totp:
        return redirect(url_for("auth.enrol"))
    form = CodeForm()
    if form.validate_on_submit():
        lock = throttle.locked(_keys(user.email))
        if lock is not None:
            return _locked_page(form, lock, "auth/code.html")
        code = form.code.data.strip()
        if totp.verify_code(user, code):
            method = "totp"
        elif totp.use_recovery_code(user, code):
            method = "recovery code"
            audit.record(
                "totp.recovery_code_used", "user", user.id, actor_label=user.email,
                left=totp.recovery_codes_left(user),
            )  # fmt: skip
        else:
            lock = _failure(user.email, user, "second factor")
            if lock is not None:
                return _locked_page(form, lock, "auth/code.html")
            flash(_("The code is wrong or has been used. Try the next one."), "error")
            return render_template("auth/code.html", form=form), 401
        next_url = session[PENDING_KEY]["next"]
        left = totp.recovery_codes_left(user) if method == "recovery code" else None
        target = _complete_login(user, method, next_url)
        if left is not None:
            flash(
                _("You used a recovery code; %(n)s are left.", n=left),
                "warning" if left > 2 else "error",
            )
        return redirect(target)
    return render_template("auth/code.html", form=form)


@bp.route("/login/enrol", methods=["GET", "POST"])
def enrol():
    user = _pending_user()
    if user is None:
        return _restart()
    if user.has_totp:
        return redirect(url_for("auth.login_code"))
    secret = totp.pending_secret(user)
    db.session.commit()
    form = EnrolForm()
    context = {
        "secret": totp.grouped(secret),
        "raw_secret": secret,
        "qr": totp.qr_data_uri(totp.provisioning_uri(user, secret)),
        "issuer": totp.ISSUER,
        "email": user.email,
    }
    if form.validate_on_submit():
        lock = throttle.locked(_keys(user.email))
        if lock is not None:
            return _locked_page(form, lock, "auth/enrol.html", **context)
        codes = totp.confirm_enrolment(user, form.code.data.strip())
        if codes is None:
            lock = _failure(user.email, user, "enrolment code")
            if lock is not None:
                return _locked_page(form, lock, "auth/enrol.html", **context)
            flash(_("The code is wrong. Check the time on your phone and try again."), "error")
            return render_template("auth/enrol.html", form=form, **context), 400
        audit.record("totp.enrolled", "user", user.id, actor_label=user.email)
        target = _complete_login(user, "totp enrolment", session[PENDING_KEY]["next"])
        return render_template("auth/recovery_codes.html", codes=codes, next_url=target)
    return render_template("auth/enrol.html", form=form, **context)


@bp.route("/logout", methods=["POST"])
def logout():
    if current_user.is_authenticated:
        audit.record("user.logout", "user", current_user.id)
    sessions.end_current("logout")
    db.session.commit()
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))


@bp.route("/staff")
@login_required
def home():
    return render_template("auth/home.html", user=current_user, roles=ROLES)


def init_app(app) -> None:
    login_manager.init_app(app)
    app.before_request(sessions.check_request)
    app.config.setdefault("STAFF_IDLE_MINUTES", 30)
    app.config.setdefault("STAFF_ABSOLUTE_HOURS", 12)
    app.register_blueprint(bp)
    from . import admin_views, audit_views

    app.register_blueprint(admin_views.bp)
    app.register_blueprint(audit_views.bp)
