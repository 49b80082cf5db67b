"""The brand pages: a partner operator sets its own brand within STAR's rules, manages its embed
origins and launch-signing keys and copies the embed snippet; STAR's administrator sees and can
change every brand. The logo is served from here to every page, embedded ones included."""

from __future__ import annotations

from datetime import timedelta

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from survey_app.auth.access import check_organisation, require_role
from survey_app.auth.models import ADMIN, PARTNER_OPERATOR
from survey_app.core.audit import AuditEvent
from survey_app.core.db import db, utcnow

from . import services
from .forms import ActionForm, BrandForm, LogoForm
from .logos import MAX_BYTES, LogoError, check_logo
from .models import Brand, LaunchKey, Organisation

bp = Blueprint(
    "partners",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/partners/static",
)

#: the session key naming a key created a moment ago, whose secret the next page shows once
NEW_KEY = "new_launch_key"
#: the session key of the brand preview's unsaved settings and answers
PREVIEW = "brand_preview"
SECRET_SHOWN_FOR = timedelta(minutes=10)


def own_brand(code: str) -> Brand:
    """The brand, if the user may manage it: 404 unknown, 403 another organisation's."""
    brand = services.brand_by_code(code)
    if brand is None:
        abort(404)
    check_organisation(current_user, brand.organisation_id)
    return brand


def _back(brand: Brand, anchor: str = ""):
    return redirect(
        url_for("partners.brand", brand_code=brand.code) + (f"#{anchor}" if anchor else "")
    )


@bp.route("/staff/brand")
@require_role(ADMIN, PARTNER_OPERATOR)
def my_brand():
    if current_user.role == ADMIN:
        return redirect(url_for("partners.brands"))
    org = db.session.get(Organisation, current_user.organisation_id)
    if org is None or org.default_brand is None:
        abort(404)
    return redirect(url_for("partners.brand", brand_code=org.default_brand.code))


@bp.route("/staff/brands")
@require_role(ADMIN, PARTNER_OPERATOR)
def brands():
    query = db.select(Brand).join(Organisation).order_by(Organisation.kind.desc(), Brand.code)
    if current_user.role != ADMIN:
        query = query.where(Brand.organisation_id == current_user.organisation_id)
    items = db.session.scalars(query).all()
    return render_template("partners/brands.html", brands=items)


def _snippet() -> str:
    base = current_app.config["BASE_URL"].rstrip("/")
    src = base + url_for("embed.static", filename="embed.js")
    return f'<script src="{src}" data-survey-launch="LAUNCH-JWT"></script>'


def _new_secret(org: Organisation) -> LaunchKey | None:
    """The key created just before this page, once: the session names it only until now."""
    kid = session.pop(NEW_KEY, None)
    if not kid:
        return None
    key = db.session.execute(
        db.select(LaunchKey).filter_by(kid=kid, organisation_id=org.id)
    ).scalar_one_or_none()
    if key is None or not key.is_active or utcnow() - key.created_at > SECRET_SHOWN_FOR:
        return None
    return key


def _history(brand: Brand, keys: list[LaunchKey]) -> list[AuditEvent]:
    brand_events = db.and_(AuditEvent.object_type == "brand", AuditEvent.object_id == str(brand.id))
    key_events = db.and_(
        AuditEvent.object_type == "launch_key",
        AuditEvent.object_id.in_([str(k.id) for k in keys] or ["-"]),
    )
    return list(
        db.session.scalars(
            db.select(AuditEvent)
            .where(db.or_(brand_events, key_events))
            .order_by(AuditEvent.id.desc())
            .limit(15)
        )
    )


def _render(brand: Brand, form: BrandForm, logo_form: LogoForm, status: int = 200):
    org = brand.organisation
    keys = [] if org.is_star else services.launch_keys(org)
    new_key = None if org.is_star else _new_secret(org)
    active = next((k for k in keys if k.is_active), None)
    return (
        render_template(
            "partners/brand.html",
            brand_row=brand,
            theme=brand.theme(),
            org=org,
            form=form,
            logo_form=logo_form,
            action_form=ActionForm(),
            logo=services.brand_logo(brand),
            max_logo_kb=MAX_BYTES // 1024,
            keys=keys,
            new_key=new_key,
            example_kid=(new_key or active).kid if (new_key or active) else f"{org.code}-…",
            snippet=_snippet(),
            history=_history(brand, keys),
        ),
        status,
    )


@bp.route("/staff/brands/<brand_code>", methods=["GET", "POST"])
@require_role(ADMIN, PARTNER_OPERATOR)
def brand(brand_code: str):
    brand = own_brand(brand_code)
    form = BrandForm(brand=brand) if request.method == "GET" else BrandForm()
    if request.method == "POST":
        if form.validate():
            changed = services.update_brand(brand, **form.values())
            db.session.commit()
            session.pop(PREVIEW, None)
            flash(_("Saved.") if changed else _("Nothing was changed."), "success")
            return _back(brand)
        return _render(brand, form, LogoForm(), 400)
    return _render(brand, form, LogoForm())


@bp.route("/staff/brands/<brand_code>/logo", methods=["POST"])
@require_role(ADMIN, PARTNER_OPERATOR)
def upload_logo(brand_code: str):
    brand = own_brand(brand_code)
    logo_form = LogoForm()
    if logo_form.validate():
        upload = logo_form.logo.data
        data = upload.stream.read(MAX_BYTES + 1)
        try:
            checked = check_logo(data, upload.filename or "")
        except LogoError as exc:
            logo_form.logo.errors = [str(exc)]
        else:
            services.set_brand_logo(brand, checked, upload.filename or "")
            db.session.commit()
            flash(_("The logo was saved."), "success")
            return _back(brand, "logo-section")
    return _render(brand, BrandForm(brand=brand, formdata=None), logo_form, 400)


@bp.route("/staff/brands/<brand_code>/logo/remove", methods=["POST"])
@require_role(ADMIN, PARTNER_OPERATOR)
def remove_logo(brand_code: str):
    brand = own_brand(brand_code)
    if ActionForm().validate_on_submit() and services.remove_brand_logo(brand):
        db.session.commit()
        flash(_("The logo was removed."), "success")
    return _back(brand, "logo-section")


def _key_action(brand_code: str, action):
    brand = own_brand(brand_code)
    org = brand.organisation
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        key = action(org)
    except services.PartnerError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return _back(brand, "keys")
    db.session.commit()
    return brand, key


@bp.route("/staff/brands/<brand_code>/keys", methods=["POST"])
@require_role(ADMIN, PARTNER_OPERATOR)
def create_key(brand_code: str):
    result = _key_action(brand_code, services.create_launch_key)
    if not isinstance(result, tuple):
        return result
    brand, key = result
    session[NEW_KEY] = key.kid
    flash(_("A new launch key %(kid)s was created.", kid=key.kid), "success")
    return _back(brand, "keys")


@bp.route("/staff/brands/<brand_code>/keys/rotate", methods=["POST"])
@require_role(ADMIN, PARTNER_OPERATOR)
def rotate_keys(brand_code: str):
    result = _key_action(brand_code, services.rotate_launch_key)
    if not isinstance(result, tuple):
        return result
    brand, key = result
    session[NEW_KEY] = key.kid
    flash(
        _("A new launch key %(kid)s was created and every older key revoked.", kid=key.kid),
        "success",
    )
    return _back(brand, "keys")


@bp.route("/staff/brands/<brand_code>/keys/<kid>/revoke", methods=["POST"])
@require_role(ADMIN, PARTNER_OPERATOR)
def revoke_key(brand_code: str, kid: str):
    result = _key_action(brand_code, lambda org: services.revoke_launch_key(org, kid))
    if not isinstance(result, tuple):
        return result
    brand, key = result
    flash(_("The launch key %(kid)s is revoked.", kid=key.kid), "success")
    return _back(brand, "keys")


@bp.route("/brand/<brand_code>/logo.png")
def logo(brand_code: str):
    brand = services.brand_by_code(brand_code)
    stored = services.brand_logo(brand) if brand is not None else None
    if stored is None:
        abort(404)
    response = Response(stored.png, mimetype="image/png")
    response.set_etag(stored.sha256)
    if request.args.get("v") == stored.sha256[:16]:
        # The version names the content, so the URL can be cached for good.
        response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    else:
        response.headers["Cache-Control"] = "no-cache"
    return response.make_conditional(request)


def init_app(app) -> None:
    app.register_blueprint(bp)
