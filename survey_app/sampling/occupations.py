"""Classify a Danish or English job title to a DISCO-08 4-digit code by keyword rules.

The rules live in ``data/occupation_keywords.csv`` (columns keyword, code, label, match).
How a title is matched:

* The title is normalised: case-folded, punctuation turned into spaces, whitespace collapsed.
  Hyphens are tried both ways, as a space ("SOSU-assistent" -> "sosu assistent") and removed
  ("IT-supporter" -> "itsupporter"), so a keyword written either way matches.
* ``match = stem`` (the default): the keyword must start a word, or end it (optionally followed
  by a plural ending). Danish compounds put the head at the end and modifiers in front, so
  "chauffør" matches "Buschauffør", "sygeplejerske" matches "Operationssygeplejersker" and
  "lagermedarbejder" matches "Lagermedarbejdere", while a keyword buried in the middle of a word
  ("kok" in "bankokunde") does not.
* ``match = word``: the keyword must be a whole word (or phrase), optionally with a plural ending
  (s, es, e, r, er, ere). Used for short or English keywords ("nurse" must not hit "nursery").
* The longest matching keyword wins ("buschauffør" beats "chauffør"); ties go to the row listed
  first in the file.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib.resources import files

_PUNCT = re.compile(r"[^\w\s-]+")
_SPACE = re.compile(r"\s+")
_PLURAL = r"(?:s|es|e|er|ere|r)?"


@dataclass(frozen=True, slots=True)
class Classification:
    code: str
    label: str
    rule: str


@dataclass(frozen=True, slots=True)
class _Rule:
    keyword: str
    code: str
    label: str
    match: str
    pattern: re.Pattern[str]


def _clean(text: str) -> str:
    text = _PUNCT.sub(" ", text.casefold()).replace("_", " ")
    return _SPACE.sub(" ", text).strip()


def normalise_title(title: str) -> tuple[str, ...]:
    """The forms of ``title`` keywords are matched against: hyphen as space, hyphen removed."""
    base = _clean(title)
    spaced = _SPACE.sub(" ", base.replace("-", " ")).strip()
    # "Social- og sundhedsassistent": a dangling hyphen before a space marks an elided compound
    # part; dropping it must not glue words together.
    joined = _SPACE.sub(" ", re.sub(r"-(?=\s|$)", " ", base).replace("-", "")).strip()
    return (spaced,) if spaced == joined else (spaced, joined)


def _compile(keyword: str, match: str) -> re.Pattern[str]:
    kw = re.escape(keyword)
    if match == "word":
        return re.compile(rf"(?<!\w){kw}{_PLURAL}(?!\w)")
    if match == "stem":
        return re.compile(rf"(?<!\w){kw}|{kw}{_PLURAL}(?!\w)")
    raise ValueError(f"occupation_keywords.csv: unknown match mode {match!r}")


@cache
def _rules() -> tuple[_Rule, ...]:
    raw = files("survey_app.sampling").joinpath("data/occupation_keywords.csv").read_text("utf-8")
    rules = []
    for row in csv.DictReader(io.StringIO(raw)):
        keyword = normalise_title(row["keyword"])[0]
        code = row["code"].strip()
        if not keyword or len(code) != 4 or not code.isdigit():
            raise ValueError(f"occupation_keywords.csv: bad row {row!r}")
        match = (row.get("match") or "stem").strip()
        rules.append(_Rule(keyword, code, row["label"].strip(), match, _compile(keyword, match)))
    # Longest keyword first; sorted() is stable, so ties keep file order.
    return tuple(sorted(rules, key=lambda r: -len(r.keyword)))


def rules_count() -> int:
    return len(_rules())


@lru_cache(maxsize=4096)
def _classify_normalised(forms: tuple[str, ...]) -> Classification | None:
    for rule in _rules():
        if any(rule.pattern.search(form) for form in forms):
            return Classification(rule.code, rule.label, f"keyword '{rule.keyword}' ({rule.match})")
    return None


@lru_cache(maxsize=8192)
def classify_title(title: str | None) -> Classification | None:
    """DISCO-08 classification of a job title, or None if no keyword rule matches."""
    if not title or not title.strip():
        return None
    return _classify_normalised(normalise_title(title))
