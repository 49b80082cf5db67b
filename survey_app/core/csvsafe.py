"""CSV cells that a spreadsheet will not run as a formula.

A cell starting with = + - @ or a tab or carriage return is prefixed with an apostrophe, so
Excel and LibreOffice show the text instead of evaluating it. Lists are joined with ";", mappings
written as JSON.
"""

from __future__ import annotations

import json

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        value = ";".join(str(v) for v in value)
    elif isinstance(value, dict):
        value = json.dumps(value, ensure_ascii=False, sort_keys=True)
    text = str(value)
    if text.startswith(FORMULA_START):
        return "'" + text
    return text
