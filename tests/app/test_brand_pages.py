"""The brand pages: a partner operator manages its own brand, embed origins and launch keys within
STAR's rules; STAR's administrator sees and changes every brand; the preview saves nothing."""

from __future__ import annotations

import io
import re
from html import unescape

import pytest
from PIL import Image

from survey_app.core.audit import AuditEvent
from survey_app.core.db import db
from survey_app.partners import services as partners
from survey_app.partners.models import Brand, BrandLogo, LaunchKey
from survey_app.questionnaire.models import Answer, PageVisit, Response
from survey_app.questionnaire.services import link_token
from survey_app.sampling.models import Case

from .helpers import csrf_token, staff_login
from .test_embed import launch_jwt, partner_case

OPERATOR = "operator@jobportalen.example"
OTHER_OPERATOR = "operator@karrierenet.example"
ADMIN = "admin@star.example"


def login(client, email: str) -> None:
    staff_login(client, email)
    client.get("/lang/en")  # the assertions below read the English messages


@pytest.fixture
def operator(app, demo):
    client = app.test_client()
    login(client, OPERATOR)
    return client


@pytest.fixture
def admin(app, demo):
    client = app.test_client()
    login(client, ADMIN)
    return client


def form_of(html: str) -> dict:
    """The brand form's current values, as the browser would send them back."""
    form = re.search(r'<form[^>]*id="brand-form".*?</form>', html, re.S).group(0)
    data = {}
    for m in re.finditer(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', form):
        data[m.group(1)] = m.group(2)
    for m in re.finditer(r'<textarea[^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', form, re.S):
        data[m.group(1)] = m.group(2).strip("\n")
    return {k: v.replace("&#34;", '"').replace("&amp;", "&") for k, v in data.items()}


def post_brand(client, code: str, **changes):
    html = client.get(f"/staff/brands/{code}").get_data(as_text=True)
    data = {**form_of(html), **changes}
    return client.post(f"/staff/brands/{code}", data=data)


def png_bytes(size=(120, 40), fmt="PNG", colour=(200, 30, 60)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, format=fmt)
    return out.getvalue()


def upload(client, code: str, data: bytes, filename: str, content_type="image/png"):
    html = client.get(f"/staff/brands/{code}").get_data(as_text=True)
    return client.post(
        f"/staff/brands/{code}/logo",
        data={"csrf_token": csrf_token(html), "logo": (io.BytesIO(data), filename, content_type)},
        content_type="multipart/form-data",
    )


def text_of(r) -> str:
    return re.sub(r"\s+", " ", r.get_data(as_text=True))


def test_operator_edits_its_brand_and_respondents_see_it(operator, app):
    home = operator.get("/staff").get_data(as_text=True)
    assert 'href="/staff/brand"' in home and 'href="/staff/brands"' not in home
    r = operator.get("/staff/brand")
    assert r.status_code == 302 and r.location.endswith("/staff/brands/jobportalen")
    r = post_brand(
        operator,
        "jobportalen",
        name="Jobportalen <b>Pro</b>",
        colour_primary="#004488",
        colour_accent="#aa3377",
        notice_da='Vi hjælper STAR <script>alert("x")</script>',
        notice_en="We help STAR.",
        privacy_contact="dpo@jobportalen.example",
        embed_origins="https://www.jobportalen.example\nhttps://Partner.Example:8443/\n",
    )
    assert r.status_code == 302, text_of(r)[:3000]
    brand = partners.brand_by_code("jobportalen")
    db.session.refresh(brand)
    assert brand.colours["primary"] == "#004488"
    assert brand.embed_origins == [
        "https://www.jobportalen.example",
        "https://partner.example:8443",
    ]
    event = db.session.scalars(
        db.select(AuditEvent).filter_by(action="brand.updated", object_id=str(brand.id))
    ).one()
    assert event.actor_label == OPERATOR
    assert event.details["changes"]["colours"]["new"]["primary"] == "#004488"

    case = db.session.scalars(
        db.select(Case).where(Case.brand_id == brand.id).order_by(Case.id)
    ).first()
    respondent = app.test_client()
    respondent.get(f"/s/{link_token(case.response)}")
    html = respondent.get("/survey").get_data(as_text=True)
    assert "--brand-primary: #004488" in html and "--brand-accent: #aa3377" in html
    assert "Jobportalen &lt;b&gt;Pro&lt;/b&gt;" in html and "<b>Pro</b>" not in html
    assert "&lt;script&gt;alert" in html and '<script>alert("x")' not in html


def test_contrast_below_aa_is_refused_naming_colours_and_ratio(operator):
    before = partners.brand_by_code("jobportalen").colours
    r = post_brand(operator, "jobportalen", colour_text="#999999", colour_background="#ffffff")
    assert r.status_code == 400
    text = text_of(r)
    assert "Text colour #999999 on Background colour #ffffff has a contrast ratio of 2.84:1" in text
    assert "at least 4.5:1" in text
    r = post_brand(operator, "jobportalen", colour_primary="#ffcc00", colour_primary_text="#ffffff")
    assert r.status_code == 400
    text = text_of(r)
    assert "Text on primary colour #ffffff on Primary colour" in text and "#ffcc00" in text
    r = post_brand(operator, "jobportalen", colour_primary="red")
    assert r.status_code == 400 and "red is not a colour" in text_of(r)
    brand = partners.brand_by_code("jobportalen")
    db.session.refresh(brand)
    assert brand.colours == before


BAD_ORIGINS = [
    ("https://ok.example\nhttps://*.example.dk", "Line 2, https://*.example.dk: wildcards"),
    ("https://shop.example/embed", "Line 1, https://shop.example/embed: must be an origin only"),
    ("http://shop.example", "must use https://"),
    ("ftp://shop.example", "must start with https://"),
    ("shop.example", "Line 1, shop.example: must start with https://"),
    ("https://bad_host.example", "bad_host.example is not a valid host name"),
    ("https://user:pw@shop.example", "user name or password"),
    ("https://shop.example:99999", "not a valid address"),
]


def test_embed_origins_are_checked_line_by_line(operator, app):
    for origins, message in BAD_ORIGINS:
        r = post_brand(operator, "jobportalen", embed_origins=origins)
        assert r.status_code == 400, origins
        assert message in text_of(r), (origins, text_of(r)[:3000])
    assert partners.brand_by_code("jobportalen").embed_origins == [
        "https://www.jobportalen.example"
    ]
    # Local origins only in development (debug or testing).
    r = post_brand(operator, "jobportalen", embed_origins="http://localhost:3000")
    assert r.status_code == 302
    app.config["TESTING"] = False
    try:
        r = post_brand(operator, "jobportalen", embed_origins="http://127.0.0.1:3000")
    finally:
        app.config["TESTING"] = True
    assert r.status_code == 400 and "only allowed in development" in text_of(r)


def test_logo_upload_checks_the_real_type_and_size(operator, app):
    assert upload(operator, "jobportalen", png_bytes(), "logo.png").status_code == 302
    brand = partners.brand_by_code("jobportalen")
    db.session.refresh(brand)
    stored = db.session.get(BrandLogo, brand.id)
    assert brand.logo_url == f"/brand/jobportalen/logo.png?v={stored.sha256[:16]}"
    served = app.test_client().get(brand.logo_url)
    assert served.status_code == 200 and served.mimetype == "image/png"
    assert "immutable" in served.headers["Cache-Control"]
    assert Image.open(io.BytesIO(served.data)).size == (120, 40)
    again = app.test_client().get(brand.logo_url, headers={"If-None-Match": served.headers["ETag"]})
    assert again.status_code == 304

    # A PNG named .jpg with a wrong client type is fine: the bytes decide.
    r = upload(operator, "jobportalen", png_bytes((80, 80)), "logo.jpg", "image/jpeg")
    assert r.status_code == 302
    # A JPEG with EXIF is re-encoded as PNG and the metadata dropped.
    exif = Image.Exif()
    exif[0x010E] = "secret camera note"
    out = io.BytesIO()
    Image.new("RGB", (50, 20), (0, 90, 0)).save(out, format="JPEG", exif=exif.tobytes())
    assert upload(operator, "jobportalen", out.getvalue(), "photo.jpeg").status_code == 302
    png = db.session.get(BrandLogo, brand.id, populate_existing=True).png
    assert png.startswith(b"\x89PNG") and b"secret camera note" not in png

    refused = {
        "svg": (
            b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg">'
            b"<script>alert(1)</script></svg>",
            "logo.svg",
            "SVG is not accepted",
        ),
        "svg renamed": (b"<svg onload='alert(1)'></svg>", "logo.png", "SVG is not accepted"),
        "text as png": (b"just some text\n", "logo.png", "is not a PNG, JPEG or WebP image"),
        "gif": (png_bytes(fmt="GIF"), "logo.gif", "is a GIF image"),
        "too large": (
            png_bytes((900, 400)) + b"\0" * 210_000,
            "big.png",
            "a logo may be at most 200 kB",
        ),
        "too wide": (png_bytes((1200, 100)), "wide.png", "1200×100 pixels"),
        "too tall": (png_bytes((300, 500)), "tall.png", "300×500 pixels"),
        "damaged": (png_bytes()[:60], "cut.png", "logo"),
    }
    before = db.session.get(BrandLogo, brand.id, populate_existing=True).sha256
    for reason, (data, name, message) in refused.items():
        r = upload(operator, "jobportalen", data, name)
        assert r.status_code == 400, reason
        assert message in text_of(r), (reason, text_of(r)[:3000])
    assert db.session.get(BrandLogo, brand.id, populate_existing=True).sha256 == before


def test_logo_shows_on_normal_and_embedded_pages(operator, app):
    upload(operator, "jobportalen", png_bytes(), "logo.png")
    brand = partners.brand_by_code("jobportalen")
    db.session.refresh(brand)
    case = partner_case()
    nocookie = app.test_client(use_cookies=False)
    r = nocookie.get(f"/embed/s/{link_token(case.response)}")
    page = nocookie.get(r.location)
    assert f'<img src="{brand.logo_url}"' in page.get_data(as_text=True)
    assert "img-src 'self'" in page.headers["Content-Security-Policy"]
    assert nocookie.get(brand.logo_url).status_code == 200


def test_operator_cannot_reach_another_organisations_brand_or_keys(operator, admin, app):
    other = partners.get_organisation("karrierenet")
    key = partners.create_launch_key(other)
    db.session.commit()
    html = operator.get("/staff/brands/jobportalen").get_data(as_text=True)
    token = csrf_token(html)
    assert operator.get("/staff/brands/karrierenet").status_code == 403
    assert operator.get("/staff/brands/star").status_code == 403
    assert operator.get("/staff/brands/karrierenet/preview").status_code == 403
    assert operator.get("/staff/brands/nope").status_code == 404
    for url in (
        "/staff/brands/karrierenet",
        "/staff/brands/karrierenet/logo",
        "/staff/brands/karrierenet/keys",
        "/staff/brands/karrierenet/keys/rotate",
        f"/staff/brands/karrierenet/keys/{key.kid}/revoke",
        # Another organisation's key through one's own brand: not found there.
    ):
        assert operator.post(url, data={"csrf_token": token}).status_code == 403, url
    r = operator.post(
        f"/staff/brands/jobportalen/keys/{key.kid}/revoke", data={"csrf_token": token}
    )
    assert r.status_code == 302
    assert db.session.get(LaunchKey, key.id, populate_existing=True).revoked_at is None
    listing = operator.get("/staff/brands").get_data(as_text=True)
    assert "/staff/brands/jobportalen" in listing and "/staff/brands/karrierenet" not in listing
    # The analyst and the agent have no brand pages.
    for email in ("analyst@star.example", "agent@callcentre.example"):
        c = app.test_client()
        login(c, email)
        assert c.get("/staff/brands/jobportalen").status_code == 403

    # STAR's administrator sees every brand and changes another organisation's.
    listing = admin.get("/staff/brands").get_data(as_text=True)
    for code in ("star", "jobportalen", "karrierenet"):
        assert f"/staff/brands/{code}" in listing
    assert key.kid in admin.get("/staff/brands/karrierenet").get_data(as_text=True)
    assert post_brand(admin, "karrierenet", colour_primary="#223344").status_code == 302
    assert partners.brand_by_code("karrierenet").colours["primary"] == "#223344"
    html = admin.get("/staff/brands/karrierenet").get_data(as_text=True)
    r = admin.post(
        f"/staff/brands/karrierenet/keys/{key.kid}/revoke", data={"csrf_token": csrf_token(html)}
    )
    assert r.status_code == 302
    assert db.session.get(LaunchKey, key.id, populate_existing=True).revoked_at is not None


def test_staff_pages_need_login_and_csrf(app, demo):
    anonymous = app.test_client()
    for url in ("/staff/brand", "/staff/brands", "/staff/brands/jobportalen"):
        r = anonymous.get(url)
        assert r.status_code == 302 and "/login" in r.location
    client = app.test_client()
    login(client, OPERATOR)
    assert client.post("/staff/brands/jobportalen/keys").status_code == 400
    assert client.post("/staff/brands/jobportalen", data={"name": "X"}).status_code == 400
    assert db.session.scalar(db.select(db.func.count()).select_from(LaunchKey)) == 0


def test_key_secret_shown_once_and_revoked_key_refused(operator, app):
    case = partner_case()
    html = operator.get("/staff/brands/jobportalen").get_data(as_text=True)
    r = operator.post("/staff/brands/jobportalen/keys", data={"csrf_token": csrf_token(html)})
    assert r.status_code == 302
    first = db.session.scalars(db.select(LaunchKey)).one()
    page = operator.get("/staff/brands/jobportalen").get_data(as_text=True)
    assert first.secret in page and first.kid in page
    shown = unescape(page)
    assert 'data-survey-launch="LAUNCH-JWT"></script>' in shown
    assert 'src="http://survey.test/embed/static/embed.js"' in shown
    assert '"posting": posting_id' in shown and "jti" in shown
    assert f'"kid": "{first.kid}"' in shown and f'keyid: "{first.kid}"' in shown
    again = operator.get("/staff/brands/jobportalen").get_data(as_text=True)
    assert first.kid in again and first.secret not in again
    events = db.session.scalars(db.select(AuditEvent).filter_by(action="launch_key.created")).all()
    assert len(events) == 1 and first.secret not in str(events[0].details)

    nocookie = app.test_client(use_cookies=False)
    posting = case.posting.source_posting_id
    assert nocookie.get(f"/embed/launch?jwt={launch_jwt(first, posting)}").status_code == 302

    r = operator.post(
        "/staff/brands/jobportalen/keys/rotate", data={"csrf_token": csrf_token(again)}
    )
    assert r.status_code == 302
    second = db.session.scalars(db.select(LaunchKey).where(LaunchKey.id != first.id)).one()
    page = operator.get("/staff/brands/jobportalen").get_data(as_text=True)
    assert second.secret in page and first.secret not in page
    assert db.session.get(LaunchKey, first.id, populate_existing=True).revoked_at is not None
    assert nocookie.get(f"/embed/launch?jwt={launch_jwt(first, posting)}").status_code == 404
    assert nocookie.get(f"/embed/launch?jwt={launch_jwt(second, posting)}").status_code == 302

    r = operator.post(
        f"/staff/brands/jobportalen/keys/{second.kid}/revoke", data={"csrf_token": csrf_token(page)}
    )
    assert r.status_code == 302
    assert nocookie.get(f"/embed/launch?jwt={launch_jwt(second, posting)}").status_code == 404
    actions = db.session.scalars(
        db.select(AuditEvent.action).where(AuditEvent.object_type == "launch_key")
    ).all()
    assert sorted(actions) == sorted(["launch_key.created"] * 2 + ["launch_key.revoked"] * 2)


def test_star_brand_has_no_launch_keys(admin):
    page = admin.get("/staff/brands/star").get_data(as_text=True)
    assert 'id="keys"' not in page
    r = admin.post("/staff/brands/star/keys", data={"csrf_token": csrf_token(page)})
    assert r.status_code == 302
    assert "STAR does not launch" in admin.get("/staff/brands/star").get_data(as_text=True)


def test_preview_walks_the_questionnaire_and_saves_nothing(operator):
    counts = [
        db.session.scalar(db.select(db.func.count()).select_from(m))
        for m in (Response, Answer, PageVisit)
    ]
    operator.get("/lang/da")  # the brand's Danish notice wording
    html = operator.get("/staff/brands/jobportalen/preview").get_data(as_text=True)
    assert "Jobportalen deltager i STARs" in html and "--brand-primary: #6a1b4d" in html
    r = operator.post(
        "/staff/brands/jobportalen/preview/start", data={"csrf_token": csrf_token(html)}
    )
    assert r.status_code == 302 and r.location.endswith("/preview/p/role")
    html = operator.get(r.location).get_data(as_text=True)
    assert 'name="respondent_role"' in html
    # Validation works as for a respondent, and routing follows the preview's answers.
    r = operator.post(
        "/staff/brands/jobportalen/preview/p/role", data={"csrf_token": csrf_token(html)}
    )
    assert r.status_code == 400 and "error-summary" in r.get_data(as_text=True)
    r = operator.post(
        "/staff/brands/jobportalen/preview/p/role",
        data={"csrf_token": csrf_token(html), "respondent_role": "yes"},
    )
    assert r.status_code == 302 and r.location.endswith("/preview/p/status")
    # Unsaved colours from the brand form.
    brand_page = operator.get("/staff/brands/jobportalen").get_data(as_text=True)
    data = {**form_of(brand_page), "colour_primary": "#123456", "name": "Ny Portal"}
    r = operator.post("/staff/brands/jobportalen/preview", data=data)
    assert r.status_code == 303
    html = operator.get(r.location).get_data(as_text=True)
    assert "--brand-primary: #123456" in html and "Ny Portal" in html
    assert partners.brand_by_code("jobportalen").colours["primary"] == "#6a1b4d"
    # Unsaved colours below AA are not previewed.
    operator.get("/lang/en")
    r = operator.post("/staff/brands/jobportalen/preview", data={**data, "colour_text": "#eeeeee"})
    html = operator.get(r.location).get_data(as_text=True)
    assert "--brand-text: #eeeeee" not in html and "contrast ratio" in html
    assert [
        db.session.scalar(db.select(db.func.count()).select_from(m))
        for m in (Response, Answer, PageVisit)
    ] == counts
    assert db.session.get(Brand, partners.brand_by_code("jobportalen").id).name == "Jobportalen"
