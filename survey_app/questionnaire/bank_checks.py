"""Semantic checks of a bank that the JSON Schema cannot express."""

from __future__ import annotations

import dataclasses
import re
from collections import Counter
from collections.abc import Iterator
from typing import TYPE_CHECKING

from .expressions import (
    KEYWORDS,
    BoolOp,
    Compare,
    Expr,
    ExpressionError,
    InSet,
    Lit,
    Not,
    Ref,
    parse,
)

if TYPE_CHECKING:
    from .bank import Bank, Question, Text

PLACEHOLDERS = frozenset({"job_title", "posted_on", "source_name", "privacy_url"})
MONTH_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
_PLACEHOLDER_RE = re.compile(r"\{([^{}]*)\}")


def _q(bank: Bank, qid: str, fieldname: str) -> str:
    return f"{bank.source}: question {qid!r} field {fieldname!r}"


def _nodes(expr: Expr) -> Iterator[Expr]:
    yield expr
    if isinstance(expr, Not):
        yield from _nodes(expr.operand)
    elif isinstance(expr, BoolOp):
        for o in expr.operands:
            yield from _nodes(o)


def _placeholder_problems(where: str, text: Text | None) -> list[str]:
    if text is None:
        return []
    problems = []
    for lang in ("da", "en"):
        for name in _PLACEHOLDER_RE.findall(text.get(lang)):
            if name not in PLACEHOLDERS:
                allowed = ", ".join("{" + p + "}" for p in sorted(PLACEHOLDERS))
                problems.append(
                    f"{where}: unknown placeholder {{{name}}} in {lang!r}; allowed: {allowed}"
                )
    return problems


def semantic_problems(bank: Bank) -> list[str]:
    problems: list[str] = []
    src = bank.source

    m = re.fullmatch(r"bank-(.+)\.(?:ya?ml|json)", src)
    if m and m.group(1) != bank.version:
        problems.append(
            f"{src}: field 'version': {bank.version!r} does not match the file name "
            f"(expected {m.group(1)!r})"
        )
    for name in ("title", "intro", "notice"):
        problems += _placeholder_problems(f"{src}: field {name!r}", getattr(bank, name))

    ids = Counter(q.id for q in bank.questions)
    for qid, n in ids.items():
        if n > 1:
            problems.append(f"{_q(bank, qid, 'id')}: defined {n} times; ids must be unique")
        if qid in KEYWORDS:
            problems.append(f"{_q(bank, qid, 'id')}: {qid!r} is a reserved word")
        if qid.endswith("_other"):
            problems.append(
                f"{_q(bank, qid, 'id')}: ids may not end in '_other' (reserved for "
                "the free text of an 'other' option)"
            )
    for pid, n in Counter(p.id for p in bank.pages).items():
        if n > 1:
            problems.append(f"{src}: page {pid!r} field 'id': defined {n} times")

    placed: Counter[str] = Counter()
    for page in bank.pages:
        for qid in page.questions:
            placed[qid] += 1
            if qid not in ids:
                problems.append(
                    f"{src}: page {page.id!r} field 'questions': question {qid!r} does not exist"
                )
    for q in bank.questions:
        if placed[q.id] == 0:
            problems.append(f"{_q(bank, q.id, 'id')}: the question is on no page")
        elif placed[q.id] > 1:
            problems.append(
                f"{_q(bank, q.id, 'id')}: the question is on {placed[q.id]} pages; "
                "it must be on exactly one"
            )
    if problems:
        return problems  # ordering below relies on a consistent page layout

    order = {q.id: i for i, q in enumerate(bank.ordered_questions())}
    by_id = {q.id: q for q in bank.questions}
    for q in bank.ordered_questions():
        problems += _question_problems(bank, q, order, by_id)
    return problems


def _question_problems(
    bank: Bank, q: Question, order: dict[str, int], by_id: dict[str, Question]
) -> list[str]:
    problems: list[str] = []
    for name in ("text", "help", "dont_know_label"):
        problems += _placeholder_problems(_q(bank, q.id, name), getattr(q, name))
    for o in q.options:
        problems += _placeholder_problems(_q(bank, q.id, "options"), o.label)

    for code, n in Counter(o.code for o in q.options).items():
        if n > 1:
            problems.append(f"{_q(bank, q.id, 'options')}: option code {code} is used {n} times")
    for name, n in Counter(f.name for f in q.fields).items():
        if n > 1:
            problems.append(f"{_q(bank, q.id, 'fields')}: sub-field {name!r} is listed {n} times")

    if q.dont_know != (q.dont_know_label is not None):
        problems.append(
            f"{_q(bank, q.id, 'dont_know_label')}: needed exactly when dont_know is true"
        )

    if isinstance(q.max, str):
        target = by_id.get(q.max)
        if target is None:
            problems.append(f"{_q(bank, q.id, 'max')}: refers to unknown question {q.max!r}")
        elif order[q.max] >= order[q.id]:
            problems.append(
                f"{_q(bank, q.id, 'max')}: refers to {q.max!r}, which is not asked "
                "before this question"
            )
        elif target.type != "integer":
            problems.append(
                f"{_q(bank, q.id, 'max')}: refers to {q.max!r}, which is not an integer question"
            )
        elif (
            q.min is not None
            and target.min is not None
            and target.max is not None
            and (isinstance(target.max, int) and q.min > target.max)
        ):
            problems.append(
                f"{_q(bank, q.id, 'min')}: {q.min} exceeds the largest possible "
                f"value of {q.max!r} ({target.max})"
            )
    elif q.min is not None and q.max is not None and q.min > q.max:
        problems.append(f"{_q(bank, q.id, 'max')}: max ({q.max}) is less than min ({q.min})")

    for name in ("shown_when", "ends_survey_when"):
        text = getattr(q, name)
        if text is None:
            continue
        try:
            expr = parse(text)
        except ExpressionError as exc:
            problems.append(f"{_q(bank, q.id, name)}: cannot parse {text!r}: {exc}")
            continue
        problems += _expr_problems(bank, q, name, expr, order, by_id)
    return problems


def _expr_problems(
    bank: Bank,
    q: Question,
    fieldname: str,
    expr: Expr,
    order: dict[str, int],
    by_id: dict[str, Question],
) -> list[str]:
    where = _q(bank, q.id, fieldname)
    problems: list[str] = []
    for ref in sorted(expr.references()):
        if ref not in by_id:
            problems.append(f"{where}: refers to unknown question {ref!r}")
        elif ref == q.id and fieldname == "shown_when":
            problems.append(f"{where}: a question cannot depend on its own answer")
        elif order[ref] > order[q.id]:
            problems.append(f"{where}: refers to {ref!r}, which is asked later")
    if problems:
        return problems
    for node in _nodes(expr):
        if isinstance(node, Compare):
            problems += _compare_problems(where, node.left, node.op, node.right, by_id)
            problems += _compare_problems(where, node.right, node.op, node.left, by_id)
        elif isinstance(node, InSet) and isinstance(node.operand, Ref):
            for value in node.values:
                problems += _compare_problems(where, node.operand, "=", Lit(value), by_id)
    return problems


def _compare_problems(
    where: str, left: Ref | Lit, op: str, right: Ref | Lit, by_id: dict[str, Question]
) -> list[str]:
    if not isinstance(left, Ref):
        return []
    q = by_id[left.name]
    if isinstance(right, Ref):
        other = by_id[right.name]
        if q.type != other.type or q.type not in ("integer", "month", "single", "yes_no"):
            return [f"{where}: cannot compare {q.id!r} ({q.type}) with {other.id!r} ({other.type})"]
        return []
    value = right.value
    equality = op in ("=", "!=")
    if q.type == "yes_no":
        if value not in ("yes", "no") or not equality:
            return [f"{where}: {q.id!r} is yes/no; compare it with = or != to yes or no"]
    elif q.type in ("single", "multi"):
        if not isinstance(value, int) or q.option(value) is None:
            codes = ", ".join(str(o.code) for o in q.options)
            return [f"{where}: {value!r} is not an option code of {q.id!r} (codes: {codes})"]
        if not equality:
            return [f"{where}: options of {q.id!r} can only be compared with =, != or in"]
    elif q.type == "integer":
        if not isinstance(value, int):
            return [f"{where}: {q.id!r} is an integer; compare it with a number"]
    elif q.type == "month":
        if not isinstance(value, str) or not MONTH_RE.match(value):
            return [f'{where}: {q.id!r} is a month; compare it with a "YYYY-MM" string']
    else:
        return [f"{where}: {q.id!r} ({q.type}) can only be tested with answered({q.id})"]
    return []


def attach_expressions(bank: Bank) -> Bank:
    """Return ``bank`` with each question's parsed shown_when / ends_survey_when attached."""
    questions = tuple(
        dataclasses.replace(
            q,
            shown_expr=parse(q.shown_when) if q.shown_when else None,
            ends_expr=parse(q.ends_survey_when) if q.ends_survey_when else None,
        )
        for q in bank.questions
    )
    return dataclasses.replace(bank, questions=questions)
