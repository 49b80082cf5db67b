"""Final AAPOR disposition codes for one case of the recruitment survey.

The codes follow the AAPOR *Standard Definitions* (10th ed., 2023): the telephone table for
phone outcomes, the tables for specifically named persons (mail/internet) for the web invitations,
and the guidance for mixed-mode and establishment surveys ("household" reads "company"). The unit
of the sample is a job posting of a company, reached through a named contact person by e-mail,
SMS, letter and telephone.

Rules, in order of precedence (the first rule that matches decides):

1. **Screened out** - the questionnaire classified the case ``ineligible`` (status "posting
   withdrawn" or "posting not recognised") -> ``4.70`` *no eligible respondent*. The company was
   reached and a screening question showed that the sampled element (a recruitment attempt for
   this posting) does not exist, which is exactly AAPOR's "screened out" situation; 4.10 *out of
   sample* is kept for units known to be outside the frame without screening (rule 4).
2. **Complete** - questionnaire ``completed`` with a substantive classification (``success``,
   ``other_profile``, ``not_filled``, ``ongoing``) or none -> ``1.1``. "Ongoing" is a valid
   answer to the status question, not a frame error, so it is a complete interview.
3. **Partial** - questionnaire ``started`` (or ``completed`` but classified ``incomplete``) with
   ``answered_share >= 0.5`` *and* the key outcome answered (classification ``success``,
   ``other_profile``, ``not_filled`` or ``ongoing``) -> ``1.2``.
4. **Ineligible learned by phone** - an agent logged ``not_eligible`` -> ``4.70``; else
   ``company_closed`` -> ``4.10`` *out of sample* (the company no longer exists).
5. **Break-off** - a questionnaire was started (and is not a referral) but misses rule 3, or an
   agent logged ``interview_started`` without questionnaire data -> ``2.12``.
6. **Refusal** - a phone ``refusal`` or the ``refused`` flag -> ``2.111`` *company-level refusal*
   (the analogue of the household-level refusal: whoever answers for the company declines and
   we do not know that it was the named person); else an opt-out (flag or message outcome
   ``opted_out``) -> ``2.112`` *known-respondent refusal* (the opt-out link is personal to the
   addressed contact person).
7. **Contact, no interview** - the questionnaire ended in a referral, or a phone ``callback`` or
   ``referred`` outcome, or the ``contacted`` flag -> ``2.21`` *respondent never available*
   (callback pending at close; the referred person was never reached).
8. **Phone line works, nobody reached** - any ``answering_machine`` -> ``3.14``; else every
   working-line phone attempt ``busy`` -> ``3.12`` *always busy*; else ``no_answer`` -> ``3.13``.
   The most informative outcome wins over the latest one.
9. **Invitation delivered, no reaction** - at least one e-mail/SMS/letter channel was not
   undeliverable -> ``3.19`` *nothing ever returned*.
10. **No working contact route** - every attempt failed: messages ``bounced``/``failed`` and phone
    ``wrong_number``/``disconnected_number`` -> ``3.30`` *invitation/contact undeliverable*.
    A dead number is **not** coded 4.3x: in AAPOR the non-working number is ineligible because
    in RDD the number *is* the sampled unit; here the unit is the company's posting, which may
    still be eligible, so for list samples AAPOR treats undeliverable contacts as unknown
    eligibility.
11. **Not attempted** - no attempts at all -> ``3.11``.

A message channel counts as undeliverable when it has a ``bounced``/``failed`` outcome and no
``delivered`` outcome. Groups for the outcome rates: 1.1 I, 1.2 P, 2.1x R, 2.2x NC, 2.3x O,
3.1x UH, other 3.x UO, 4.x NE.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

QuestionnaireState = Literal["none", "started", "completed"]
Group = Literal["I", "P", "R", "NC", "O", "UH", "UO", "NE"]

QUESTIONNAIRE_STATES = frozenset({"none", "started", "completed"})
CLASSIFICATIONS = frozenset(
    {"success", "other_profile", "not_filled", "ongoing", "ineligible", "referred", "incomplete"}
)
KEY_OUTCOME_ANSWERED = frozenset({"success", "other_profile", "not_filled", "ongoing"})
PHONE_OUTCOMES = frozenset(
    {
        "no_answer",
        "busy",
        "wrong_number",
        "answering_machine",
        "refusal",
        "callback",
        "referred",
        "interview_started",
        "disconnected_number",
        "company_closed",
        "not_eligible",
    }
)
MESSAGE_OUTCOMES = frozenset({"sent", "delivered", "bounced", "failed", "opted_out"})
MESSAGE_CHANNELS = frozenset({"email", "sms", "letter"})
PARTIAL_THRESHOLD = 0.5


@dataclass(frozen=True)
class Attempt:
    """One contact attempt: a message sent or a phone call made."""

    channel: str
    outcome: str
    at: datetime

    def __post_init__(self) -> None:
        if self.channel == "phone":
            allowed = PHONE_OUTCOMES
        elif self.channel in MESSAGE_CHANNELS:
            allowed = MESSAGE_OUTCOMES
        else:
            raise ValueError(f"unknown channel {self.channel!r}")
        if self.outcome not in allowed:
            raise ValueError(f"outcome {self.outcome!r} is not valid for channel {self.channel}")


@dataclass(frozen=True)
class CaseHistory:
    """Everything known about a case when the field period closes."""

    questionnaire_state: str = "none"
    classification: str | None = None
    answered_share: float = 0.0
    attempts: tuple[Attempt, ...] = field(default_factory=tuple)
    opted_out: bool = False
    refused: bool = False
    contacted: bool = False

    def __post_init__(self) -> None:
        if self.questionnaire_state not in QUESTIONNAIRE_STATES:
            raise ValueError(f"unknown questionnaire_state {self.questionnaire_state!r}")
        if self.classification is not None and self.classification not in CLASSIFICATIONS:
            raise ValueError(f"unknown classification {self.classification!r}")
        if not 0.0 <= self.answered_share <= 1.0:
            raise ValueError("answered_share must be between 0 and 1")
        object.__setattr__(self, "attempts", tuple(self.attempts))


@dataclass(frozen=True)
class Disposition:
    code: str
    label_en: str
    label_da: str
    group: Group


_CATALOGUE: dict[str, tuple[str, str, Group]] = {
    "1.1": ("Complete", "Fuldført besvarelse", "I"),
    "1.2": ("Partial", "Delvis besvarelse", "P"),
    "2.111": ("Company-level refusal", "Afvisning fra virksomheden", "R"),
    "2.112": ("Known-respondent refusal (opt-out)", "Kontaktpersonen har frameldt sig", "R"),
    "2.12": ("Break-off", "Afbrudt besvarelse", "R"),
    "2.21": ("Respondent never available", "Kontaktpersonen kunne ikke træffes", "NC"),
    "3.11": ("Not attempted", "Ikke forsøgt kontaktet", "UH"),
    "3.12": ("Always busy", "Altid optaget", "UH"),
    "3.13": ("No answer", "Intet svar", "UH"),
    "3.14": ("Answering machine, eligibility unknown", "Telefonsvarer, ukendt egnethed", "UH"),
    "3.19": ("Nothing ever returned", "Ingen reaktion på henvendelser", "UH"),
    "3.30": ("Contact details undeliverable", "Kontaktoplysningerne virker ikke", "UO"),
    "4.10": ("Out of sample (company closed)", "Uden for målgruppen (virksomheden ophørt)", "NE"),
    "4.70": (
        "No eligible recruitment attempt (screened out)",
        "Intet relevant rekrutteringsforløb (frasorteret)",
        "NE",
    ),
}

CODES: frozenset[str] = frozenset(_CATALOGUE)


def disposition_for(code: str) -> Disposition:
    """The :class:`Disposition` of one of the codes in :data:`CODES`."""
    try:
        label_en, label_da, group = _CATALOGUE[code]
    except KeyError:
        raise ValueError(f"unknown disposition code {code!r}") from None
    return Disposition(code, label_en, label_da, group)


def _phone(history: CaseHistory) -> list[str]:
    return [a.outcome for a in history.attempts if a.channel == "phone"]


def _message_channel_alive(history: CaseHistory) -> bool:
    for channel in MESSAGE_CHANNELS:
        outcomes = {a.outcome for a in history.attempts if a.channel == channel}
        if not outcomes:
            continue
        dead = bool(outcomes & {"bounced", "failed"}) and "delivered" not in outcomes
        if not dead:
            return True
    return False


def derive_disposition(history: CaseHistory) -> Disposition:
    """The final AAPOR disposition of a case (see the module docstring for the rules)."""
    state = history.questionnaire_state
    cls = history.classification
    phone = _phone(history)
    messages = [a.outcome for a in history.attempts if a.channel in MESSAGE_CHANNELS]
    started = state != "none"

    # 1. screened out by the questionnaire
    if cls == "ineligible":
        return disposition_for("4.70")
    # 2. complete
    if state == "completed" and (cls is None or cls in KEY_OUTCOME_ANSWERED):
        return disposition_for("1.1")
    # 3. partial
    if started and history.answered_share >= PARTIAL_THRESHOLD and cls in KEY_OUTCOME_ANSWERED:
        return disposition_for("1.2")
    # 4. ineligibility learned by phone
    if "not_eligible" in phone:
        return disposition_for("4.70")
    if "company_closed" in phone:
        return disposition_for("4.10")
    # 5. break-off
    if (started and cls != "referred") or (not started and "interview_started" in phone):
        return disposition_for("2.12")
    # 6. refusal
    if history.refused or "refusal" in phone:
        return disposition_for("2.111")
    if history.opted_out or "opted_out" in messages:
        return disposition_for("2.112")
    # 7. contact without interview
    if cls == "referred" or history.contacted or {"callback", "referred"} & set(phone):
        return disposition_for("2.21")
    # 8. working line, nobody reached
    live = [o for o in phone if o in {"no_answer", "busy", "answering_machine"}]
    if "answering_machine" in live:
        return disposition_for("3.14")
    if live and all(o == "busy" for o in live):
        return disposition_for("3.12")
    if live:
        return disposition_for("3.13")
    # 9. invitation delivered, no reaction
    if _message_channel_alive(history):
        return disposition_for("3.19")
    # 10. every route failed
    if history.attempts:
        return disposition_for("3.30")
    # 11. never attempted
    return disposition_for("3.11")
