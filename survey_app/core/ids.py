"""Reading a row id typed or sent as text.

``str.isdigit`` accepts superscripts and other Unicode digits that ``int`` then refuses, and a
number past the column's range makes the database fail the query; an id is ASCII digits within
the range of the INTEGER primary keys the tables use.
"""

from __future__ import annotations

import re

_ID = re.compile(r"[0-9]{1,10}")
MAX_ID = 2**31 - 1


def parse_id(text: str | None) -> int | None:
    """The id that ``text`` spells, or None when it is not one."""
    if text is None or not _ID.fullmatch(text):
        return None
    value = int(text)
    return value if value <= MAX_ID else None
