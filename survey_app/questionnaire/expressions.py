"""A small, safe routing-expression language for the question bank.

Grammar (keywords are lower case)::

    expr       := or_expr
    or_expr    := and_expr ("or" and_expr)*
    and_expr   := not_expr ("and" not_expr)*
    not_expr   := "not" not_expr | primary
    primary    := "(" expr ")" | "answered" "(" IDENT ")" | comparison
    comparison := operand (CMP operand | ["not"] "in" "{" literal ("," literal)* "}")
    operand    := IDENT | literal
    literal    := INT | "-" INT | STRING | "yes" | "no"
    CMP        := "=" | "!=" | "<" | "<=" | ">" | ">="

Strings are single- or double-quoted with backslash escapes. The text is tokenised and parsed by
hand into a tree of frozen dataclasses; nothing is ever passed to ``eval``.

Evaluation never raises on odd answers: an identifier that is unanswered, ``None`` or
``"dont_know"`` is *unknown*, and every comparison involving an unknown value is false (so is an
ordering comparison between values of different kinds). A multi-choice answer (a list) compares
as "contains": ``channels = 1`` is true when 1 was chosen, ``channels in {1, 2}`` when either was.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

KEYWORDS = frozenset({"and", "or", "not", "in", "yes", "no", "answered"})
COMPARATORS = ("=", "!=", "<", "<=", ">", ">=")
UNKNOWN_VALUES = (None, "dont_know")

Literal = int | str


class ExpressionError(ValueError):
    """A routing expression could not be parsed; ``position`` is a 0-based character offset."""

    def __init__(self, message: str, position: int, text: str = "") -> None:
        super().__init__(f"{message} at position {position}")
        self.reason = message
        self.position = position
        self.text = text


# --------------------------------------------------------------------------- tokens

_TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<int>\d+)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>!=|<=|>=|=|<|>)
  | (?P<punct>[(){},-])
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
    """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class Token:
    kind: str  # int | ident | keyword | op | punct | string | end
    value: str
    pos: int


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN_RE.match(text, pos)
        if m is None:
            if text[pos] in "\"'":
                raise ExpressionError("unterminated string", pos, text)
            raise ExpressionError(f"unexpected character {text[pos]!r}", pos, text)
        kind = m.lastgroup or ""
        value = m.group()
        if kind == "ident" and value in KEYWORDS:
            kind = "keyword"
        if kind != "ws":
            tokens.append(Token(kind, value, pos))
        pos = m.end()
    tokens.append(Token("end", "", len(text)))
    return tokens


def _unquote(raw: str) -> str:
    return re.sub(r"\\(.)", r"\1", raw[1:-1])


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


# --------------------------------------------------------------------------- AST


class Expr:
    """Base class of the expression tree."""

    def references(self) -> set[str]:
        raise NotImplementedError

    def evaluate(self, answers: Mapping[str, Any]) -> bool:
        raise NotImplementedError


@dataclass(frozen=True)
class Ref:
    name: str

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class Lit:
    value: Literal

    def __str__(self) -> str:
        if isinstance(self.value, int):
            return str(self.value)
        if self.value in ("yes", "no"):
            return self.value
        return _quote(self.value)


Operand = Ref | Lit


@dataclass(frozen=True)
class Compare(Expr):
    left: Operand
    op: str
    right: Operand

    def references(self) -> set[str]:
        return {o.name for o in (self.left, self.right) if isinstance(o, Ref)}

    def evaluate(self, answers: Mapping[str, Any]) -> bool:
        return _compare(_value(self.left, answers), self.op, _value(self.right, answers))

    def __str__(self) -> str:
        return f"{self.left} {self.op} {self.right}"


@dataclass(frozen=True)
class InSet(Expr):
    operand: Operand
    values: tuple[Literal, ...]
    negated: bool = False

    def references(self) -> set[str]:
        return {self.operand.name} if isinstance(self.operand, Ref) else set()

    def evaluate(self, answers: Mapping[str, Any]) -> bool:
        value = _value(self.operand, answers)
        if _is_unknown(value):
            return False
        if isinstance(value, list):
            hit = any(_equal(v, c) for v in value for c in self.values)
        else:
            hit = any(_equal(value, c) for c in self.values)
        return hit != self.negated

    def __str__(self) -> str:
        items = ", ".join(str(Lit(v)) for v in self.values)
        return f"{self.operand} {'not in' if self.negated else 'in'} {{{items}}}"


@dataclass(frozen=True)
class Answered(Expr):
    name: str

    def references(self) -> set[str]:
        return {self.name}

    def evaluate(self, answers: Mapping[str, Any]) -> bool:
        value = answers.get(self.name)
        return value is not None and value not in ("", [], {})

    def __str__(self) -> str:
        return f"answered({self.name})"


@dataclass(frozen=True)
class Not(Expr):
    operand: Expr

    def references(self) -> set[str]:
        return self.operand.references()

    def evaluate(self, answers: Mapping[str, Any]) -> bool:
        return not self.operand.evaluate(answers)

    def __str__(self) -> str:
        return f"not {_wrap(self.operand)}"


@dataclass(frozen=True)
class BoolOp(Expr):
    op: str  # "and" | "or"
    operands: tuple[Expr, ...]

    def references(self) -> set[str]:
        return set().union(*(o.references() for o in self.operands))

    def evaluate(self, answers: Mapping[str, Any]) -> bool:
        if self.op == "and":
            return all(o.evaluate(answers) for o in self.operands)
        return any(o.evaluate(answers) for o in self.operands)

    def __str__(self) -> str:
        return f" {self.op} ".join(_wrap(o) for o in self.operands)


def _wrap(expr: Expr) -> str:
    return f"({expr})" if isinstance(expr, BoolOp) else str(expr)


# --------------------------------------------------------------------------- evaluation


def _is_unknown(value: Any) -> bool:
    return value in UNKNOWN_VALUES or value in ("", [], {})


def _value(operand: Operand, answers: Mapping[str, Any]) -> Any:
    return answers.get(operand.name) if isinstance(operand, Ref) else operand.value


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, str):
        return "str"
    return "other"


def _equal(a: Any, b: Any) -> bool:
    return _kind(a) == _kind(b) and _kind(a) in ("int", "str") and a == b


def _compare(left: Any, op: str, right: Any) -> bool:
    if _is_unknown(left) or _is_unknown(right):
        return False
    if isinstance(left, list) or isinstance(right, list):
        if op not in ("=", "!="):
            return False
        items, other = (left, right) if isinstance(left, list) else (right, left)
        if isinstance(other, list):
            return False
        contains = any(_equal(i, other) for i in items)
        return contains if op == "=" else not contains
    if _kind(left) != _kind(right) or _kind(left) not in ("int", "str"):
        return False
    if op == "=":
        return left == right
    if op == "!=":
        return left != right
    if op == "<":
        return left < right
    if op == "<=":
        return left <= right
    if op == ">":
        return left > right
    return left >= right


# --------------------------------------------------------------------------- parser


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def error(self, message: str, tok: Token | None = None) -> ExpressionError:
        tok = tok or self.tok
        found = "end of expression" if tok.kind == "end" else repr(tok.value)
        return ExpressionError(f"{message}, found {found}", tok.pos, self.text)

    def accept(self, kind: str, value: str | None = None) -> Token | None:
        tok = self.tok
        if tok.kind == kind and (value is None or tok.value == value):
            self.i += 1
            return tok
        return None

    def expect(self, kind: str, value: str, what: str) -> Token:
        tok = self.accept(kind, value)
        if tok is None:
            raise self.error(f"expected {what}")
        return tok

    def parse(self) -> Expr:
        if self.tok.kind == "end":
            raise self.error("expected an expression")
        expr = self.or_expr()
        if self.tok.kind != "end":
            raise self.error("expected 'and', 'or' or end of expression")
        return expr

    def or_expr(self) -> Expr:
        items = [self.and_expr()]
        while self.accept("keyword", "or"):
            items.append(self.and_expr())
        return items[0] if len(items) == 1 else BoolOp("or", tuple(items))

    def and_expr(self) -> Expr:
        items = [self.not_expr()]
        while self.accept("keyword", "and"):
            items.append(self.not_expr())
        return items[0] if len(items) == 1 else BoolOp("and", tuple(items))

    def not_expr(self) -> Expr:
        if self.accept("keyword", "not"):
            return Not(self.not_expr())
        return self.primary()

    def primary(self) -> Expr:
        if self.accept("punct", "("):
            expr = self.or_expr()
            self.expect("punct", ")", "')'")
            return expr
        if self.accept("keyword", "answered"):
            self.expect("punct", "(", "'(' after 'answered'")
            tok = self.accept("ident")
            if tok is None:
                raise self.error("expected a question id")
            self.expect("punct", ")", "')'")
            return Answered(tok.value)
        left = self.operand()
        if self.accept("keyword", "in"):
            return InSet(left, self.literal_set())
        if self.tok.kind == "keyword" and self.tok.value == "not":
            self.i += 1
            self.expect("keyword", "in", "'in' after 'not'")
            return InSet(left, self.literal_set(), negated=True)
        op = self.accept("op")
        if op is None:
            raise self.error("expected a comparison operator or 'in'")
        return Compare(left, op.value, self.operand())

    def operand(self) -> Operand:
        tok = self.accept("ident")
        if tok is not None:
            return Ref(tok.value)
        return Lit(self.literal())

    def literal(self) -> Literal:
        if self.accept("punct", "-"):
            tok = self.accept("int")
            if tok is None:
                raise self.error("expected a number after '-'")
            return -int(tok.value)
        tok = self.tok
        if tok.kind == "int":
            self.i += 1
            return int(tok.value)
        if tok.kind == "string":
            self.i += 1
            return _unquote(tok.value)
        if tok.kind == "keyword" and tok.value in ("yes", "no"):
            self.i += 1
            return tok.value
        raise self.error("expected a question id, number, string, 'yes' or 'no'")

    def literal_set(self) -> tuple[Literal, ...]:
        self.expect("punct", "{", "'{'")
        values = [self.literal()]
        while self.accept("punct", ","):
            values.append(self.literal())
        self.expect("punct", "}", "',' or '}'")
        return tuple(values)


def parse(text: str) -> Expr:
    """Parse ``text`` into an expression tree; raise :class:`ExpressionError` on bad input."""
    if not isinstance(text, str):
        raise ExpressionError("expression must be a string", 0, "")
    return _Parser(text).parse()
