"""What the call centre holds: call attempts, appointments, locks, the call list, dispositions."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from survey_app.core.personal_data import register_table

MODULE = "followup.callcentre"

register_table(
    "call_attempts",
    ("phone", "referred_name", "referred_phone", "note"),
    _l(
        "Each call to a case with its outcome, the number dialled and a referral to another person."
    ),
    _l(
        "The number, referral and note are cleared with the contact person (18½ months inactive); "
        "the attempt and its outcome stay for the response rates."
    ),
    MODULE,
)
for _table, _purpose in (
    ("call_appointments", _l("Call-backs agreed with a company.")),
    ("call_locks", _l("One agent at a time on a case.")),
    ("call_list", _l("The cases due for a call and their priority.")),
    ("case_dispositions", _l("The AAPOR disposition of each case.")),
):
    register_table(_table, (), _purpose, _l("Kept with the case."), MODULE)
