"""What the partner register holds: organisations, brands, their keys and logos."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from survey_app.core.personal_data import register_exemption, register_table

MODULE = "partners"

register_table(
    "organisations",
    ("contact_email",),
    _l("STAR and the job databases that deliver postings and field cases under their brand."),
    _l("While the data-exchange agreement runs; the contact is replaced when the person changes."),
    MODULE,
)
register_exemption(
    "organisations.contact_email",
    _l("The agreement's one contact person for data exchange, kept while the agreement runs."),
)
register_table(
    "brands",
    ("privacy_contact",),
    _l("How the questionnaire looks under an organisation's name, and its privacy contact."),
    _l("While the organisation takes part."),
    MODULE,
)
register_exemption(
    "brands.privacy_contact",
    _l("A published privacy contact (normally a function address), shown on the privacy notice."),
)
for _table, _purpose in (
    ("launch_keys", _l("Shared secrets partners sign embedded-survey launches with.")),
    ("used_launch_jtis", _l("Launch ids already used, so a replayed launch is refused.")),
    ("brand_logos", _l("Uploaded brand logos, re-encoded.")),
    ("feed_keys", _l("Hashed keys partners deliver postings with.")),
):
    register_table(_table, (), _purpose, _l("While the organisation takes part."), MODULE)
