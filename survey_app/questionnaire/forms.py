"""Reading a page's answers from a submitted form into plain values, question type by type.

Values that cannot be read (letters in a number field) are kept as text, so that validation
reports them with the respondent's own input rather than silently dropping them.
"""

from __future__ import annotations

from .bank import Page, Question


def _int_or_raw(raw: str):
    raw = raw.strip().replace(" ", "").replace(".", "")
    if raw == "":
        return None
    try:
        return int(raw)
    except ValueError:
        return raw


def read_question(q: Question, form) -> object:
    name = q.id
    if q.type == "yes_no":
        value = form.get(name)
        return value if value in ("yes", "no") else (value or None)
    if q.type == "single":
        value = form.get(name)
        return None if not value else _int_or_raw(value)
    if q.type == "multi":
        return [_int_or_raw(v) for v in form.getlist(name) if v]
    if q.type == "integer":
        if q.dont_know and form.get(f"{name}_dont_know"):
            return "dont_know"
        value = form.get(name, "")
        return _int_or_raw(value)
    if q.type == "month":
        return (form.get(name) or "").strip() or None
    if q.type == "text":
        return (form.get(name) or "").strip() or None
    if q.type == "contact":
        parts = {f.name: (form.get(f"{name}_{f.name}") or "").strip() for f in q.fields}
        return parts if any(parts.values()) else None
    raise ValueError(f"unknown question type {q.type!r}")


def read_page(questions: list[Question], page: Page, form) -> dict:
    """The values of the page's visible questions, plus the "other" texts of multi questions."""
    values: dict = {}
    for q in questions:
        if q.id not in page.questions:
            continue
        values[q.id] = read_question(q, form)
        if q.type == "multi" and q.other_codes:
            other = (form.get(f"{q.id}_other") or "").strip()
            if other:
                values[f"{q.id}_other"] = other
    return values


def check_page(bank, page_id: str, answers: dict, form, language: str):
    """Read a posted page and validate it against the answers so far.

    Returns ``(submitted, merged, errors, revealed)``. A follow-up that this page's own answers
    just revealed (positions_filled after positions) is in ``revealed``, to be shown and
    answered, not reported as an error the respondent could not avoid.
    """
    from .routing import validate_page, visible_questions

    page = bank.page(page_id)
    submitted = read_page([bank.question(qid) for qid in page.questions], page, form)
    merged = {**answers, **submitted}
    errors = validate_page(bank, page_id, submitted, merged, language)
    shown_before = {q.id for q in visible_questions(bank, answers)}
    revealed = {qid for qid in errors if qid not in shown_before and submitted.get(qid) is None}
    errors = {qid: msg for qid, msg in errors.items() if qid not in revealed}
    return submitted, merged, errors, revealed
