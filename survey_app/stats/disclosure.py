"""Statistical disclosure control for the published tables.

Pure code over :class:`~survey_app.stats.estimates.Cell` objects (which hold aggregates only: no
company or unit identifiers ever reach them).

Rules, applied to one table = the cells of one or more dimensions (e.g. ``rar_area``) plus the
total cells:

1. **Primary suppression**: a cell backed by fewer than ``min_n`` (5) responses or fewer than
   ``min_companies`` (3) distinct companies is suppressed with reason ``"primary"``.
2. **Linked measures**: the measures of one domain cell (one ``(domain, value)``) are
   suppressed together. Reason: they are arithmetically tied. ``frr = share_not_filled +
   share_other_profile`` and, because the weights are the same, ``failed = frr * completed``
   exactly; so any two of a share, its numerator count and its denominator count give the third
   (a published FRR and number of completed attempts recover a suppressed number of failed
   recruitments, and vice versa). Suppressing a share therefore means suppressing its numerator
   and denominator counts with it, and the other way round.
3. **Secondary suppression**: for each dimension and each additive count measure (``failed``,
   ``completed``: the weighted counts of the values of a dimension add up to the total, units
   with a missing value forming their own ``"unknown"`` value) the equation
   ``sum(cells) = total`` must never have exactly one unknown. If exactly one cell is
   suppressed, the non-suppressed cell with the smallest ``n`` (ties: by value) is suppressed as
   well (reason ``"secondary"``); if no such cell is left, or if the total itself is the only
   unknown, the total (or the smallest cell) is suppressed instead.
4. Rules 2 and 3 are repeated until nothing changes (each round only adds suppressions, so this
   terminates).

Suppressed cells are returned with ``estimate``, ``ci_low``, ``ci_high``, ``n`` and
``companies`` set to ``None`` so the unweighted counts (which are additive as well) cannot be
used to undo the suppression. The function keeps the input order: the domain cells, then the
totals.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace

from survey_app.stats.estimates import COUNTS, Cell

PRIMARY = "primary"
SECONDARY = "secondary"

Key = tuple[str, str, str]


def _key(cell: Cell) -> Key:
    return (cell.domain, cell.value, cell.measure)


def _primary(cell: Cell, min_n: int, min_companies: int) -> bool:
    return cell.n is None or cell.n < min_n or (cell.companies or 0) < min_companies


def _link(cells: Sequence[Cell], reason: dict[Key, str]) -> bool:
    """Rule 2: suppress every measure of a domain cell that has any suppressed measure."""
    hit = {(c.domain, c.value) for c in cells if _key(c) in reason}
    changed = False
    for c in cells:
        if (c.domain, c.value) in hit and _key(c) not in reason:
            reason[_key(c)] = SECONDARY
            changed = True
    return changed


def _additive(
    groups: dict[tuple[str, str], list[Cell]], totals: dict[str, Cell], reason: dict[Key, str]
) -> bool:
    """Rule 3: no dimension equation ``sum(cells) = total`` with exactly one unknown.

    Adds at most one suppression per call, so that rule 2 links it before the next group is
    looked at (otherwise two groups of the same dimension could each pick a different cell).
    The ``completed`` group of a dimension is looked at first: its ``n`` is the number of
    responses behind the whole domain cell.
    """
    order = sorted(groups, key=lambda g: (g[0], g[1] != "completed", g[1]))
    for dimension, measure in order:
        members = groups[(dimension, measure)]
        total = totals.get(measure)
        suppressed = [c for c in members if _key(c) in reason]
        total_unknown = total is None or _key(total) in reason
        if len(suppressed) + int(total_unknown) != 1:
            continue
        published = sorted(
            (c for c in members if _key(c) not in reason), key=lambda c: (c.n or 0, c.value)
        )
        if published:
            reason[_key(published[0])] = SECONDARY
            return True
        if total is not None:
            reason[_key(total)] = SECONDARY
            return True
    return False


def apply_disclosure_control(
    cells: Sequence[Cell],
    totals: Sequence[Cell],
    *,
    min_n: int = 5,
    min_companies: int = 3,
) -> list[Cell]:
    """Primary and secondary suppression of one table (see the module docstring)."""
    everything = [*cells, *totals]
    keys = [_key(c) for c in everything]
    if len(set(keys)) != len(keys):
        raise ValueError("duplicate (domain, value, measure) cells")
    total_by_measure = {c.measure: c for c in totals}
    if len(total_by_measure) != len(totals):
        raise ValueError("totals must hold one cell per measure")

    reason: dict[Key, str] = {}
    for c in everything:
        if c.suppressed:
            reason[_key(c)] = c.reason or PRIMARY
        elif _primary(c, min_n, min_companies):
            reason[_key(c)] = PRIMARY

    groups: dict[tuple[str, str], list[Cell]] = defaultdict(list)
    for c in cells:
        if c.measure in COUNTS:
            groups[(c.domain, c.measure)].append(c)

    # Each pass adds at least one suppression or stops, so at most len(everything) passes.
    for _ in range(len(everything) + 2):
        linked = _link(everything, reason)
        added = _additive(groups, total_by_measure, reason)
        if not (linked or added):
            break

    return [
        replace(
            c,
            estimate=None,
            ci_low=None,
            ci_high=None,
            n=None,
            companies=None,
            suppressed=True,
            reason=reason[_key(c)],
        )
        if _key(c) in reason
        else c
        for c in everything
    ]
