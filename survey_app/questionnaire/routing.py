"""Routing through the question bank: visibility, pruning, page validation, classification.

Answers are plain values keyed by question id: yes_no "yes"/"no"; single an int code; multi a
list of int codes (free text of an "other" option under "<qid>_other"); integer an int or
"dont_know"; month "YYYY-MM"; text a str; contact a dict {name, email, phone}.

Routing walks the questions in page order. A question is visible when its ``shown_when`` holds,
evaluated only against the answers to *visible* earlier questions (so a stale answer to a hidden
question never steers routing). After a visible question whose ``ends_survey_when`` holds,
nothing further is visible.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .bank import Bank, Page, Question
from .expressions import Expr, ExpressionError, parse
from .validation import OTHER_SUFFIX, check_answer, is_int

__all__ = [
    "OUTCOMES",
    "Expr",
    "ExpressionError",
    "classify",
    "is_completed_attempt",
    "is_failed",
    "parse",
    "prune_hidden",
    "validate_page",
    "visible_pages",
    "visible_questions",
]

SUCCESS = "success"
OTHER_PROFILE = "other_profile"
NOT_FILLED = "not_filled"
ONGOING = "ongoing"
INELIGIBLE = "ineligible"
REFERRED = "referred"
INCOMPLETE = "incomplete"
OUTCOMES = (SUCCESS, OTHER_PROFILE, NOT_FILLED, ONGOING, INELIGIBLE, REFERRED, INCOMPLETE)
COMPLETED = frozenset({SUCCESS, OTHER_PROFILE, NOT_FILLED})
FAILED = frozenset({OTHER_PROFILE, NOT_FILLED})
_OUTCOME_CODES = {1: SUCCESS, 2: OTHER_PROFILE, 3: NOT_FILLED}


def _shown(q: Question) -> Expr | None:
    if q.shown_expr is None and q.shown_when:
        return parse(q.shown_when)
    return q.shown_expr


def _ends(q: Question) -> Expr | None:
    if q.ends_expr is None and q.ends_survey_when:
        return parse(q.ends_survey_when)
    return q.ends_expr


def _walk(bank: Bank, answers: Mapping[str, Any]) -> tuple[list[Question], dict[str, Any]]:
    """Visible questions in order, and the answers to them (the only ones routing may use)."""
    visible = _visible(bank, answers)
    return list(visible), {q.id: answers[q.id] for q in visible if q.id in answers}


#: distinct routing states remembered per bank (a real bank has a few dozen)
_MEMO_SIZE = 1024


def _visible(bank: Bank, answers: Mapping[str, Any]) -> tuple[Question, ...]:
    """The visible questions. They depend only on the answers the routing expressions read, so
    the result is remembered per bank under those answers: a page save asks several times."""
    memo = bank.routing_memo
    ids = memo.get(_IDS)
    if ids is None:
        ids = memo[_IDS] = _routing_ids(bank)
    try:
        key = tuple(_hashable(answers.get(qid, _IDS)) for qid in ids)
        found = memo.get(key)
    except TypeError:  # an answer of a shape routing never reads as a whole: no memo
        return _walk_questions(bank, answers)
    if found is None:
        if len(memo) > _MEMO_SIZE:
            memo.clear()
            memo[_IDS] = ids
        found = memo[key] = _walk_questions(bank, answers)
    return found


_IDS = object()  # the memo's own key for the referenced ids, and "no answer" in a key


def _routing_ids(bank: Bank) -> tuple[str, ...]:
    ids: set[str] = set()
    for q in bank.ordered_questions():
        for expr in (_shown(q), _ends(q)):
            if expr is not None:
                ids |= expr.references()
    return tuple(sorted(ids))


def _hashable(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return ("list", *(_hashable(v) for v in value))
    if isinstance(value, dict):
        return ("dict", *sorted((k, _hashable(v)) for k, v in value.items()))
    return (type(value), value)  # 1, 1.0 and True are equal as keys, not to routing


def _walk_questions(bank: Bank, answers: Mapping[str, Any]) -> tuple[Question, ...]:
    visible: list[Question] = []
    effective: dict[str, Any] = {}
    for q in bank.ordered_questions():
        shown = _shown(q)
        if shown is not None and not shown.evaluate(effective):
            continue
        visible.append(q)
        if q.id in answers:
            effective[q.id] = answers[q.id]
        ends = _ends(q)
        if ends is not None and ends.evaluate(effective):
            break
    return tuple(visible)


def visible_questions(bank: Bank, answers: Mapping[str, Any]) -> list[Question]:
    """The questions routing shows for ``answers``, in order."""
    return _walk(bank, answers)[0]


def visible_pages(bank: Bank, answers: Mapping[str, Any]) -> list[Page]:
    """Pages with at least one visible question, in order."""
    shown = {q.id for q in visible_questions(bank, answers)}
    return [p for p in bank.pages if any(qid in shown for qid in p.questions)]


def _chose_other(q: Question, value: Any) -> bool:
    codes = value if isinstance(value, list | tuple) else [value]
    return any(is_int(c) and c in q.other_codes for c in codes)


def prune_hidden(bank: Bank, answers: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``answers`` holding only answers to visible questions.

    The "<qid>_other" text is kept only while the question is visible and an "other" option is
    chosen; keys that are not question ids are dropped.
    """
    visible, effective = _walk(bank, answers)
    pruned = dict(effective)
    for q in visible:
        key = q.id + OTHER_SUFFIX
        if q.other_codes and key in answers and _chose_other(q, answers.get(q.id)):
            pruned[key] = answers[key]
    return pruned


def validate_page(
    bank: Bank,
    page_id: str,
    submitted: Mapping[str, Any],
    all_answers: Mapping[str, Any],
    lang: str = "da",
) -> dict[str, str]:
    """Check the answers ``submitted`` on one page; return {question id: message}.

    Answers for the page's questions come from ``submitted`` only (a field left out counts as
    unanswered); earlier answers come from ``all_answers``. Only questions visible given both
    are checked, so a follow-up on the same page (e.g. positions_filled) is checked exactly
    when it applies. An empty dict means the page is valid.
    """
    page = bank.page(page_id)
    merged = {k: v for k, v in all_answers.items() if k not in page.questions}
    for qid in page.questions:
        merged.pop(qid + OTHER_SUFFIX, None)
    merged.update({k: v for k, v in submitted.items()})
    errors: dict[str, str] = {}
    # An invalid answer must not steer routing: drop it and walk again, so that e.g. an
    # out-of-range applicants count does not also demand qualified_applicants.
    for _ in range(len(page.questions) + 1):
        visible, effective = _walk(bank, merged)
        restart = False
        for q in visible:
            if q.id not in page.questions or q.id in errors:
                continue
            problem = check_answer(
                q,
                submitted.get(q.id),
                submitted.get(q.id + OTHER_SUFFIX),
                effective,
                lang,
                _ref_text(bank, q, lang),
            )
            if problem:
                errors[q.id] = problem
                if q.id in merged:
                    del merged[q.id]
                    restart = True
                    break
        if not restart:
            break
    shown = {q.id for q in visible_questions(bank, merged)}
    return {qid: msg for qid, msg in errors.items() if qid in shown}


def _ref_text(bank: Bank, q: Question, lang: str) -> str | None:
    if not isinstance(q.max, str):
        return None
    try:
        return bank.question(q.max).text.get(lang)
    except KeyError:
        return q.max


def classify(answers: Mapping[str, Any]) -> str:
    """Classify a case by STAR's definitions from its (pruned) answers.

    referred (the respondent did not handle the recruitment), ineligible (posting withdrawn or
    not recognised: a frame error), ongoing, success / other_profile / not_filled (completed
    attempts), or incomplete (not far enough to say).
    """
    if answers.get("respondent_role") == "no":
        return REFERRED
    status = answers.get("recruitment_status")
    if not is_int(status):
        return INCOMPLETE
    if status in (3, 4):
        return INELIGIBLE
    if status == 2:
        return ONGOING
    if status == 1:
        outcome = answers.get("outcome")
        if is_int(outcome) and outcome in _OUTCOME_CODES:
            return _OUTCOME_CODES[outcome]
    return INCOMPLETE


def is_completed_attempt(answers: Mapping[str, Any]) -> bool:
    """The recruitment ended: someone was hired, or the company gave up (status 1 + outcome)."""
    return classify(answers) in COMPLETED


def is_failed(answers: Mapping[str, Any]) -> bool:
    """Failed recruitment ("forgæves rekruttering"): another profile, or not filled."""
    return classify(answers) in FAILED
