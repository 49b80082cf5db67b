"""The forms of the brand pages. Checks come from ``brand_rules`` and ``logos``."""

from __future__ import annotations

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from survey_app.core.branding import DEFAULT_COLOURS

from . import brand_rules as rules

#: form field name -> colour key (``primary-text`` is not a valid identifier)
COLOUR_FIELDS = {
    "colour_primary": "primary",
    "colour_primary_text": "primary-text",
    "colour_accent": "accent",
    "colour_text": "text",
    "colour_background": "background",
}


class BrandForm(FlaskForm):
    name = StringField(_l("Brand name"), validators=[DataRequired(), Length(max=rules.NAME_MAX)])
    colour_primary = StringField(_l("Primary colour (buttons, links, header)"))
    colour_primary_text = StringField(_l("Text on primary colour"))
    colour_accent = StringField(_l("Accent colour"))
    colour_text = StringField(_l("Text colour"))
    colour_background = StringField(_l("Background colour"))
    notice_da = TextAreaField(
        _l("Notice wording, Danish"), validators=[Length(max=rules.NOTICE_MAX)]
    )
    notice_en = TextAreaField(
        _l("Notice wording, English"), validators=[Length(max=rules.NOTICE_MAX)]
    )
    privacy_contact = TextAreaField(
        _l("Privacy contact"),
        validators=[DataRequired(), Length(max=rules.PRIVACY_CONTACT_MAX)],
    )
    embed_origins = TextAreaField(_l("Allowed embed origins (one per line)"))

    def __init__(self, *args, brand=None, **kwargs):
        if brand is not None and not kwargs.get("formdata") and "obj" not in kwargs:
            colours = {**DEFAULT_COLOURS, **(brand.colours or {})}
            kwargs.setdefault("data", {})
            kwargs["data"].update(
                name=brand.name,
                notice_da=(brand.notice_intro or {}).get("da", ""),
                notice_en=(brand.notice_intro or {}).get("en", ""),
                privacy_contact=brand.privacy_contact or "",
                embed_origins="\n".join(brand.embed_origins or ()),
                **{field: colours.get(key, "") for field, key in COLOUR_FIELDS.items()},
            )
        super().__init__(*args, **kwargs)
        self.origins: list[str] = []

    def colours(self) -> dict[str, str]:
        return {
            key: (getattr(self, field).data or "").strip().lower()
            for field, key in COLOUR_FIELDS.items()
            if (getattr(self, field).data or "").strip()
        }

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        by_key = {key: field for field, key in COLOUR_FIELDS.items()}
        for key, messages in rules.colour_problems(self.colours()).items():
            getattr(self, by_key[key]).errors.extend(messages)
            ok = False
        allow_local = bool(current_app.debug or current_app.testing)
        self.origins, problems = rules.origin_problems(
            self.embed_origins.data or "", allow_local=allow_local
        )
        if problems:
            self.embed_origins.errors = list(self.embed_origins.errors) + problems
            ok = False
        return ok

    def values(self) -> dict:
        """The checked settings, as ``services.update_brand`` takes them."""
        notice = {
            lang: text
            for lang, text in (
                ("da", rules.clean_text(self.notice_da.data)),
                ("en", rules.clean_text(self.notice_en.data)),
            )
            if text
        }
        return dict(
            name=rules.clean_text(self.name.data).replace("\n", " "),
            colours=self.colours(),
            notice_intro=notice,
            privacy_contact=rules.clean_text(self.privacy_contact.data),
            embed_origins=self.origins,
        )


class LogoForm(FlaskForm):
    logo = FileField(_l("Logo file (PNG, JPEG or WebP)"), validators=[FileRequired()])


class ActionForm(FlaskForm):
    """A button that changes something: only the CSRF token."""
