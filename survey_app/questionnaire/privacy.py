"""What the questionnaire holds: bank versions, responses, answers and page paradata.

Answers and the response context are pseudonymised when the round closes; that rule lives in
``sampling.privacy`` because rounds (and the names a case knows) belong to sampling.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from survey_app.core.personal_data import register_table

MODULE = "questionnaire"

register_table(
    "bank_versions",
    (),
    _l("Immutable versions of the question bank, so a round renders what it pinned."),
    _l("Kept for as long as answers to the version are kept (up to 30 years)."),
    MODULE,
)
register_table(
    "responses",
    ("context",),
    _l("A case's answers to one bank version: status, mode, language and the notice shown."),
    _l(
        "Pseudonymised when the round closes (no names, e-mails or phones in the context); kept "
        "for statistics up to 30 years."
    ),
    MODULE,
)
register_table(
    "answers",
    ("value",),
    _l("Every answer, one row per question, for STAR's statistics."),
    _l(
        "Pseudonymised when the round closes: free text loses names, e-mails and phones, a "
        "referral loses its contact fields; coded answers stay. Kept up to 30 years."
    ),
    MODULE,
)
register_table(
    "page_visits",
    (),
    _l("Paradata: which page was shown and saved when, on which kind of device."),
    _l("Kept with the response."),
    MODULE,
)
