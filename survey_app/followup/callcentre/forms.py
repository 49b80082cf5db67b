"""The agent's outcome form: the outcome comes from the button pressed."""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, RadioField, StringField, TextAreaField, TimeField
from wtforms.validators import AnyOf, InputRequired, Length, Optional

from .services import AGENT_OUTCOMES


class OutcomeForm(FlaskForm):
    outcome = StringField(validators=[InputRequired(), AnyOf(AGENT_OUTCOMES)])
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=2000)])
    callback_date = DateField(_l("Call back on"), validators=[Optional()])
    callback_time = TimeField(_l("at"), validators=[Optional()])
    callback_kind = RadioField(
        _l("Kind of call-back"),
        choices=[("soft", _l("Soft (any time after)")), ("hard", _l("Hard (at that time)"))],
        default="soft",
    )
    callback_mine = BooleanField(_l("I will make this call"))
    referred_name = StringField(_l("Referred to (name)"), validators=[Optional(), Length(max=200)])
    referred_phone = StringField(_l("Their phone"), validators=[Optional(), Length(max=20)])

    def check_outcome(self, now_local: datetime) -> bool:
        """Errors that depend on the outcome: a call-back needs a future time, a referral a name
        or a number."""
        ok = True
        if self.outcome.data == "callback":
            if not self.callback_date.data:
                self.callback_date.errors.append(_l("Choose the day of the call-back."))
                ok = False
            if not self.callback_time.data:
                self.callback_time.errors.append(_l("Choose the time of the call-back."))
                ok = False
            if ok and datetime.combine(self.callback_date.data, self.callback_time.data) <= (
                now_local
            ):
                self.callback_time.errors.append(_l("The call-back must be in the future."))
                ok = False
        if self.outcome.data == "referred" and not (
            (self.referred_name.data or "").strip() or (self.referred_phone.data or "").strip()
        ):
            self.referred_name.errors.append(_l("Give the name or number of the person."))
            ok = False
        return ok
