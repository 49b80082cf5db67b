"""The public results page (``/results``): no login, Danish and English.

From the latest release: the failed-recruitment rate by RAR area, the rate over time (the latest
release of each period) and the occupations with the most failed recruitments. Every chart is
inline SVG drawn on the server (no script, nothing the content security policy has to allow)
with an accessible table of the same numbers beside it. Suppressed cells show "–" with a
footnote; suppressed occupations are never ranked.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, render_template
from flask_babel import format_decimal, format_percent

from survey_app.core.db import db
from survey_app.sampling.geography import RAR_AREAS

from .api_models import Release, ReleaseCell
from .releases import latest_release

bp = Blueprint("stats_public", __name__, template_folder="templates")

TOP_OCCUPATIONS = 10
DASH = "–"


@dataclass
class Row:
    label: str
    value: float | None
    ci_low: float | None = None
    ci_high: float | None = None
    n: int | None = None

    @property
    def suppressed(self) -> bool:
        return self.value is None


def pct(value: float | None) -> str:
    return DASH if value is None else format_percent(value, "#,##0.0 %")


def count(value: float | None) -> str:
    return DASH if value is None else format_decimal(round(value), "#,##0")


def _cells(release_id: int, table_id: str, measure: str) -> dict[str, ReleaseCell]:
    return {
        c.value: c
        for c in db.session.scalars(
            db.select(ReleaseCell).filter_by(
                release_id=release_id, table_id=table_id, measure=measure
            )
        )
    }


def _row(label: str, cell: ReleaseCell | None) -> Row:
    if cell is None or cell.suppressed:
        return Row(label, None)
    return Row(label, cell.estimate, cell.ci_low, cell.ci_high, cell.n)


def _areas(release: Release) -> list[Row]:
    cells = _cells(release.id, "recruitment_by_area", "frr")
    order = [a for a in RAR_AREAS if a in cells] + sorted(
        v for v in cells if v not in RAR_AREAS and v != "Total"
    )
    return [_row(a, cells[a]) for a in order]


def _over_time() -> list[tuple[Release, Row]]:
    releases = db.session.scalars(db.select(Release).order_by(Release.id)).all()
    latest = {}
    for r in releases:
        latest[r.period] = r
    out = []
    for period in sorted(latest):
        r = latest[period]
        cell = _cells(r.id, "recruitment_total", "frr").get("Total")
        out.append((r, _row(period, cell)))
    return out


def _occupations(release: Release) -> tuple[list[Row], dict[str, float | None], int]:
    """The top occupations by failed recruitments, their FRR, and how many were suppressed."""
    failed = _cells(release.id, "recruitment_by_occupation", "failed")
    rates = _cells(release.id, "recruitment_by_occupation", "frr")
    shown = sorted(
        (c for v, c in failed.items() if v != "Total" and not c.suppressed),
        key=lambda c: (-(c.estimate or 0), c.value),
    )[:TOP_OCCUPATIONS]
    hidden = sum(1 for v, c in failed.items() if v != "Total" and c.suppressed)
    frr = {c.value: _row(c.value, rates.get(c.value)).value for c in shown}
    return [_row(c.value, c) for c in shown], frr, hidden


def _bars(rows: list[Row], floor: float = 0.4) -> tuple[float, list[tuple[Row, float]]]:
    """Rows with the bar length as a fraction of the axis maximum (at least ``floor``)."""
    top = max([floor, *(r.value for r in rows if r.value is not None)])
    return top, [(r, (r.value or 0) / top) for r in rows]


@bp.route("/results")
def results():
    release = latest_release()
    if release is None:
        return render_template("stats/public.html", release=None)
    total = {
        m: _row("Total", _cells(release.id, "recruitment_total", m).get("Total"))
        for m in ("frr", "share_not_filled", "share_other_profile", "failed", "completed")
    }
    areas = _areas(release)
    history = _over_time()
    occupations, occ_frr, hidden = _occupations(release)
    area_top, area_bars = _bars(areas)
    time_top, time_bars = _bars([row for _r, row in history])
    occ_top, occ_bars = _bars(occupations, floor=1.0)
    return render_template(
        "stats/public.html",
        release=release,
        total=total,
        area_bars=area_bars,
        area_top=area_top,
        time_bars=time_bars,
        time_top=time_top,
        history=history,
        occ_bars=occ_bars,
        occ_top=occ_top,
        occ_frr=occ_frr,
        hidden_occupations=hidden,
        any_suppressed=any(r.suppressed for r in [*areas, *(row for _r, row in history)])
        or any(r.suppressed for r in total.values()),
        pct=pct,
        count=count,
        dash=DASH,
    )


def init_app(app) -> None:
    app.register_blueprint(bp)
