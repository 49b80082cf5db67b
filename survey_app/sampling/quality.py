"""Posting quality: a completeness score, probable-duplicate detection and picking the best copy.

The terms say the postings of highest quality are the ones used, so when the same vacancy
arrives from several sources (or twice from one) the sampling frame keeps the best copy.

Score (0-100), one term per thing that makes a posting usable for the survey:

=====================================  ======
valid CVR                               25
P-number (production unit)              15
contact e-mail                          20
contact phone                           15
contact name                            10
occupation code given by the feed       10
application deadline                     5
=====================================  ======

The record is a normalised feed record (see ``feed.RECORD_KEYS``): a field that survived
validation is valid, so presence is what is scored. The CVR is re-checked with stdnum so
the score also works on hand-built records.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date
from difflib import SequenceMatcher
from typing import Any

from stdnum.dk import cvr as stdnum_cvr

from .feed_fields import cvr_checksum_ok

WEIGHTS: dict[str, int] = {
    "cvr": 25,
    "p_number": 15,
    "contact_email": 20,
    "contact_phone": 15,
    "contact_name": 10,
    "occupation_from_feed": 10,
    "application_deadline": 5,
}
MAX_SCORE = sum(WEIGHTS.values())  # 100

TITLE_SIMILARITY = 0.85
DUPLICATE_WINDOW_DAYS = 14

Record = Mapping[str, Any]


def quality_score(record: Record) -> int:
    """Completeness score 0-100 (see the module docstring for the weights)."""
    score = 0
    cvr = record.get("cvr")
    if cvr and (cvr_checksum_ok(str(cvr)) or stdnum_cvr.is_valid(str(cvr))):
        score += WEIGHTS["cvr"]
    for key in ("p_number", "contact_email", "contact_phone", "contact_name"):
        if record.get(key):
            score += WEIGHTS[key]
    if record.get("occupation_code") and record.get("occupation_source") == "feed":
        score += WEIGHTS["occupation_from_feed"]
    if record.get("application_deadline"):
        score += WEIGHTS["application_deadline"]
    return score


def normalise_title(title: str | None) -> str:
    """Case-folded title with punctuation removed and whitespace collapsed."""
    text = re.sub(r"[^\w\s]+", " ", (title or "").casefold())
    return re.sub(r"\s+", " ", text).strip()


def titles_similar(a: str | None, b: str | None) -> bool:
    """Similar when difflib's ratio is at least 0.85 or one title contains the other."""
    left, right = normalise_title(a), normalise_title(b)
    if not left or not right:
        return False
    if left in right or right in left:
        return True
    return SequenceMatcher(None, left, right).ratio() >= TITLE_SIMILARITY


def _as_date(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def is_probable_duplicate(a: Record, b: Record) -> bool:
    """Two records probably describe the same vacancy when all of these hold:

    * the same CVR (both must have one);
    * the same P-number, when both have one (a missing P-number does not block a match);
    * similar job titles (``titles_similar``);
    * posted within 14 days of each other (both must have posted_on; job orders without a
      date are never matched by this rule).
    """
    if not a.get("cvr") or str(a.get("cvr")) != str(b.get("cvr")):
        return False
    p_a, p_b = a.get("p_number"), b.get("p_number")
    if p_a and p_b and str(p_a) != str(p_b):
        return False
    if not titles_similar(a.get("job_title"), b.get("job_title")):
        return False
    day_a, day_b = _as_date(a.get("posted_on")), _as_date(b.get("posted_on"))
    if day_a is None or day_b is None:
        return False
    return abs((day_a - day_b).days) <= DUPLICATE_WINDOW_DAYS


def pick_best(records: Iterable[Record]) -> Record:
    """The record with the highest quality score; ties go to the earliest posted, then to the
    first one given. Raises ValueError for an empty input."""
    best: Record | None = None
    best_key: tuple[int, int] | None = None
    for record in records:
        posted = _as_date(record.get("posted_on"))
        key = (quality_score(record), -(posted.toordinal() if posted else date.max.toordinal()))
        if best_key is None or key > best_key:
            best, best_key = record, key
    if best is None:
        raise ValueError("pick_best needs at least one record")
    return best
