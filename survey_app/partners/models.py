from __future__ import annotations

from survey_app.core.branding import BrandTheme
from survey_app.core.db import db, utcnow

STAR_CODE = "star"


class Organisation(db.Model):
    """STAR or a partner job database ("jobdatabase") that delivers postings and may field cases."""

    __tablename__ = "organisations"

    id = db.Column(db.Integer, primary_key=True)
    #: short stable code; also the ``source`` of the postings it delivers ("star", "jobindex")
    code = db.Column(db.String(32), nullable=False, unique=True)
    #: display name
    name = db.Column(db.String(200), nullable=False)
    #: "star" or "job_database"
    kind = db.Column(db.String(20), nullable=False, default="job_database")
    #: the one contact person for data exchange and API access
    contact_email = db.Column(db.String(254), nullable=True)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)

    brands = db.relationship("Brand", back_populates="organisation", order_by="Brand.id")

    @property
    def is_star(self) -> bool:
        return self.kind == "star"

    @property
    def default_brand(self) -> Brand | None:
        return next((b for b in self.brands if b.is_default), None)


class Brand(db.Model):
    """How the one questionnaire looks under an organisation's name: never its content."""

    __tablename__ = "brands"

    id = db.Column(db.Integer, primary_key=True)
    organisation_id = db.Column(db.ForeignKey("organisations.id"), nullable=False, index=True)
    #: code used in URLs and exports
    code = db.Column(db.String(32), nullable=False, unique=True)
    name = db.Column(db.String(200), nullable=False)
    is_default = db.Column(db.Boolean, nullable=False, default=True)
    #: URL or data: URI of the logo (uploads are checked for type and size)
    logo_url = db.Column(db.String(2000), nullable=True)
    #: {"primary": "#rrggbb", ...} rendered as CSS custom properties
    colours = db.Column(db.JSON, nullable=False, default=dict)
    #: the brand's words around STAR's fixed notice core, {"da": ..., "en": ...}
    notice_intro = db.Column(db.JSON, nullable=False, default=dict)
    #: who respondents can contact about privacy at this brand
    privacy_contact = db.Column(db.String(500), nullable=False, default="")
    #: origins allowed to embed the survey in an iframe (https://example.dk)
    embed_origins = db.Column(db.JSON, nullable=False, default=list)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)

    organisation = db.relationship("Organisation", back_populates="brands")

    def theme(self) -> BrandTheme:
        return BrandTheme(
            code=self.code,
            name=self.name,
            logo_url=self.logo_url,
            colours=dict(self.colours or {}),
            notice_intro=dict(self.notice_intro or {}),
            privacy_contact=self.privacy_contact or "",
            embed_origins=tuple(self.embed_origins or ()),
        )


class LaunchKey(db.Model):
    """A key a partner signs its embed launch JWTs with (HS256).

    ``secret`` is a *shared* secret: STAR and the partner both hold it, so it is stored as given
    (random 32 bytes, URL-safe base64) and shown to the partner's operator once. A revoked key
    never verifies again; rotation adds a new key and revokes the old ones.
    """

    __tablename__ = "launch_keys"

    id = db.Column(db.Integer, primary_key=True)
    organisation_id = db.Column(db.ForeignKey("organisations.id"), nullable=False, index=True)
    #: the key id the partner names in the JWT header ``kid``
    kid = db.Column(db.String(64), nullable=False, unique=True)
    secret = db.Column(db.String(128), nullable=False)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    revoked_at = db.Column(db.DateTime, nullable=True)

    organisation = db.relationship("Organisation")

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class UsedLaunchJti(db.Model):
    """A launch JWT id already used: a replayed launch is refused."""

    __tablename__ = "used_launch_jtis"

    organisation_id = db.Column(db.ForeignKey("organisations.id"), primary_key=True)
    jti = db.Column(db.String(128), primary_key=True)
    used_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    #: the token's exp: rows past it can be purged (the token would be refused as expired anyway)
    expires_at = db.Column(db.DateTime, nullable=False, index=True)


class BrandLogo(db.Model):
    """A brand's uploaded logo, checked and re-encoded as PNG (no metadata), served from here."""

    __tablename__ = "brand_logos"

    brand_id = db.Column(db.ForeignKey("brands.id", ondelete="CASCADE"), primary_key=True)
    png = db.Column(db.LargeBinary, nullable=False)
    #: sha256 of ``png``; its start is the cache-busting version in the logo URL
    sha256 = db.Column(db.String(64), nullable=False)
    width = db.Column(db.Integer, nullable=False)
    height = db.Column(db.Integer, nullable=False)
    uploaded_at = db.Column(db.DateTime, nullable=False, default=utcnow)


class FeedKey(db.Model):
    """A key a partner's system sends as ``Authorization: Bearer <key>`` to deliver postings.

    Only the SHA-256 of the key is stored (the key is 256 bits from ``secrets``, so a plain hash
    is enough); the key itself is shown once when it is created. ``prefix`` (the first characters
    of the key) names it in listings and logs without revealing it.
    """

    __tablename__ = "feed_keys"

    id = db.Column(db.Integer, primary_key=True)
    organisation_id = db.Column(db.ForeignKey("organisations.id"), nullable=False, index=True)
    key_hash = db.Column(db.String(64), nullable=False, unique=True)
    prefix = db.Column(db.String(16), nullable=False)
    label = db.Column(db.String(200), nullable=True)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    last_used_at = db.Column(db.DateTime, nullable=True)
    revoked_at = db.Column(db.DateTime, nullable=True)

    organisation = db.relationship("Organisation")

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
