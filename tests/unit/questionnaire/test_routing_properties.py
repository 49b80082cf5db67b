"""Property tests: routing and validation never raise, pruning is stable, printing round-trips."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from survey_app.questionnaire.bank import default_bank_path, load_bank
from survey_app.questionnaire.expressions import (
    KEYWORDS,
    Answered,
    BoolOp,
    Compare,
    Expr,
    InSet,
    Lit,
    Not,
    Ref,
    parse,
)
from survey_app.questionnaire.routing import (
    OUTCOMES,
    classify,
    is_completed_attempt,
    is_failed,
    prune_hidden,
    validate_page,
    visible_pages,
    visible_questions,
)

BANK = load_bank(default_bank_path())
QUESTIONS = BANK.ordered_questions()
FORGETFUL = load_bank(default_bank_path())

junk = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 100_005),
    st.text(max_size=12),
    st.sampled_from(["yes", "no", "dont_know", "2026-09", ""]),
    st.lists(st.integers(-1, 10), max_size=4),
    st.dictionaries(
        st.sampled_from(["name", "email", "phone", "x"]),
        st.one_of(st.none(), st.text(max_size=20), st.integers()),
        max_size=4,
    ),
    st.floats(allow_nan=True),
)


def plausible(qtype: str, codes: list[int]) -> st.SearchStrategy[Any]:
    if qtype == "yes_no":
        return st.sampled_from(["yes", "no"])
    if qtype == "single":
        return st.sampled_from(codes)
    if qtype == "multi":
        return st.lists(st.sampled_from(codes), unique=True, max_size=len(codes))
    if qtype == "integer":
        return st.one_of(st.integers(-1, 1001), st.just("dont_know"))
    if qtype == "month":
        return st.sampled_from(["2026-01", "2026-12", "2026-13", "soon"])
    if qtype == "text":
        return st.text(max_size=30)
    return st.fixed_dictionaries(
        {
            "name": st.text(max_size=8),
            "email": st.sampled_from(["", "a@b.dk", "bad"]),
            "phone": st.sampled_from(["", "12345678", "+45 1234 5678", "12"]),
        }
    )


def answer_dicts() -> st.SearchStrategy[dict[str, Any]]:
    entries = {}
    for q in QUESTIONS:
        value = st.one_of(plausible(q.type, [o.code for o in q.options]), junk)
        entries[q.id] = value
        if q.other_codes:
            entries[q.id + "_other"] = st.one_of(st.text(max_size=10), junk)
    entries["not_a_question"] = junk
    return st.fixed_dictionaries({}, optional=entries)


@settings(max_examples=300, deadline=None)
@given(answer_dicts(), answer_dicts())
def test_remembered_walks_equal_fresh_ones(first: dict[str, Any], second: dict[str, Any]) -> None:
    # The shared bank remembers walks across examples; its copy is made to forget each time.
    for answers in (first, second, first):
        fresh = FORGETFUL
        fresh.routing_memo.clear()
        assert [q.id for q in visible_questions(BANK, answers)] == [
            q.id for q in visible_questions(fresh, answers)
        ]
        assert prune_hidden(BANK, answers) == prune_hidden(fresh, answers)


@settings(max_examples=300, deadline=None)
@given(answer_dicts())
def test_random_answers_never_raise(answers: dict[str, Any]) -> None:
    visible = visible_questions(BANK, answers)
    assert [q.id for q in visible] == [q.id for q in QUESTIONS if q in visible]
    assert {p.id for p in visible_pages(BANK, answers)} == {BANK.page_of(q.id).id for q in visible}
    assert classify(answers) in OUTCOMES
    assert not is_failed(answers) or is_completed_attempt(answers)
    for page in BANK.pages:
        for lang in ("da", "en"):
            errors = validate_page(BANK, page.id, answers, answers, lang)
            assert set(errors) <= set(page.questions)
            assert all(isinstance(m, str) and m for m in errors.values())


@settings(max_examples=300, deadline=None)
@given(answer_dicts())
def test_prune_hidden_is_idempotent_and_keeps_only_visible(answers: dict[str, Any]) -> None:
    pruned = prune_hidden(BANK, answers)
    assert prune_hidden(BANK, pruned) == pruned
    visible = {q.id for q in visible_questions(BANK, answers)}
    assert visible == {q.id for q in visible_questions(BANK, pruned)}
    for key in pruned:
        assert key in visible or key.removesuffix("_other") in visible
        assert pruned[key] is answers[key]
    assert classify(prune_hidden(BANK, pruned)) == classify(pruned)


@settings(max_examples=200, deadline=None)
@given(answer_dicts())
def test_a_valid_page_stays_valid_after_pruning(answers: dict[str, Any]) -> None:
    pruned = prune_hidden(BANK, answers)
    for page in visible_pages(BANK, pruned):
        submitted = {k: v for k, v in pruned.items() if k.removesuffix("_other") in page.questions}
        before = {k: v for k, v in pruned.items() if k not in submitted}
        if not validate_page(BANK, page.id, submitted, before, "da"):
            assert validate_page(BANK, page.id, submitted, pruned, "en") == {}


# --------------------------------------------------------------------------- expressions

idents = st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True).filter(lambda s: s not in KEYWORDS)
literals = st.one_of(
    st.integers(-1000, 1000),
    st.sampled_from(["yes", "no"]),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=6),
)
operands = st.one_of(idents.map(Ref), literals.map(Lit))
atoms = st.one_of(
    st.builds(Compare, operands, st.sampled_from(["=", "!=", "<", "<=", ">", ">="]), operands),
    st.builds(
        InSet, operands, st.lists(literals, min_size=1, max_size=3).map(tuple), st.booleans()
    ),
    idents.map(Answered),
)


def _extend(children: st.SearchStrategy[Expr]) -> st.SearchStrategy[Expr]:
    return st.one_of(
        children.map(Not),
        st.builds(
            BoolOp,
            st.sampled_from(["and", "or"]),
            st.lists(children, min_size=2, max_size=3).map(tuple),
        ),
    )


exprs = st.recursive(atoms, _extend, max_leaves=8)


@settings(max_examples=300, deadline=None)
@given(exprs)
def test_str_round_trips(expr: Expr) -> None:
    assert parse(str(expr)) == expr


@settings(max_examples=300, deadline=None)
@given(exprs, answer_dicts())
def test_evaluate_never_raises(expr: Expr, answers: dict[str, Any]) -> None:
    assert isinstance(expr.evaluate(answers), bool)
    assert isinstance(expr.references(), set)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=30))
def test_parse_raises_only_expression_error(text: str) -> None:
    from survey_app.questionnaire.expressions import ExpressionError

    try:
        expr = parse(text)
    except ExpressionError as exc:
        assert 0 <= exc.position <= len(text)
    else:
        assert parse(str(expr)) == expr
