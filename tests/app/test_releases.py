"""Publishing releases: estimates checked against hand arithmetic, immutability, no identifiers."""

from __future__ import annotations

import math

import pytest
from sqlalchemy.exc import DBAPIError

from survey_app.core.db import db
from survey_app.stats.api_models import ImmutableReleaseError, Release, ReleaseCell
from survey_app.stats.releases import PublishError, publish

from .release_fixtures import make_round, two_strata

T_975_DF13 = 2.1603686564627  # Student t, 97.5 % quantile, 13 degrees of freedom (tables)


def cell(release, table, value, measure) -> ReleaseCell:
    return db.session.execute(
        db.select(ReleaseCell).filter_by(
            release_id=release.id, table_id=table, value=value, measure=measure
        )
    ).scalar_one()


def strat_variance(groups):
    """sum_h fpc_h * n_h / (n_h - 1) * sum_i (z_hi - mean_h(z))^2, with plain arithmetic."""
    total = 0.0
    for fpc, scores in groups:
        n = len(scores)
        mean = sum(scores) / n
        total += fpc * n / (n - 1) * sum((z - mean) ** 2 for z in scores)
    return total


def test_estimates_match_hand_arithmetic(ctx):
    make_round("HAND", two_strata())
    release = publish(["HAND"], "2026Q2")
    db.session.commit()
    assert (release.period, str(release.window_start), str(release.window_end)) == (
        "2026Q2",
        "2026-01-01",
        "2026-06-30",
    )
    assert release.n_sampled == 20 and release.n_respondents == 15

    # Weights by hand. A: d = 4; 7 eligible respondents, 1 frame error, 2 unknown.
    # Unknowns spread over the known: 4 * 40/32 = 5; grossed up to N=40 over the 8 known
    # units: 40 / (8 * 5) = 1, so w = 5. B: d = 6; 7 eligible respondents (one ongoing),
    # 3 unknown: 6 * 60/42 = 60/7; 60 / (7 * 60/7) = 1, so w = 60/7.
    w_a, w_b = 5.0, 60 / 7
    # Analysis units (eligible respondents and frame errors) as (w, failed, not_filled,
    # other_profile, completed).
    a = [(w_a, 0, 0, 0, 1)] * 2 + [(w_a, 1, 0, 1, 1)] * 3 + [(w_a, 1, 1, 0, 1)] * 2
    a += [(w_a, 0, 0, 0, 0)]  # the frame error
    b = [(w_b, 0, 0, 0, 1)] + [(w_b, 1, 0, 1, 1)] * 3 + [(w_b, 1, 1, 0, 1)] * 2
    b += [(w_b, 0, 0, 0, 0)]  # the ongoing recruitment
    completed = 7 * w_a + 6 * w_b
    failed = 5 * w_a + 5 * w_b
    frr = failed / completed
    assert frr == pytest.approx((25 + 300 / 7) / (35 + 360 / 7))

    total = {
        m: cell(release, "recruitment_total", "Total", m)
        for m in ("frr", "share_not_filled", "share_other_profile", "failed", "completed")
    }
    assert total["frr"].estimate == pytest.approx(frr)
    assert total["share_not_filled"].estimate == pytest.approx((2 * w_a + 2 * w_b) / completed)
    assert total["share_other_profile"].estimate == pytest.approx((3 * w_a + 3 * w_b) / completed)
    assert total["failed"].estimate == pytest.approx(failed)
    assert total["completed"].estimate == pytest.approx(completed)
    assert total["frr"].n == 13 and total["failed"].n == 10

    # 15 analysis units in 2 strata: 13 degrees of freedom.
    # Ratio variance: linearised scores z = w (y - R x) / X per stratum, fpc = 1 - n_h / N_h
    # with n_h eligible respondents and N_h their weight sum (A: 1 - 7/35, B: 1 - 7/60).
    fpc_a, fpc_b = 1 - 7 / 35, 1 - 7 / 60

    def ratio_ci(col):
        r = sum(u[0] * u[col] for u in a + b) / completed
        groups = [
            (f, [u[0] * (u[col] - r * u[4]) / completed for u in s])
            for f, s in ((fpc_a, a), (fpc_b, b))
        ]
        half = T_975_DF13 * math.sqrt(strat_variance(groups))
        return max(0.0, r - half), min(1.0, r + half)

    for measure, col in (("frr", 1), ("share_not_filled", 2), ("share_other_profile", 3)):
        low, high = ratio_ci(col)
        assert total[measure].ci_low == pytest.approx(low, rel=1e-6), measure
        assert total[measure].ci_high == pytest.approx(high, rel=1e-6), measure

    # Count variance: residuals from each stratum's weighted mean, scores w * e.
    def count_ci(col):
        groups = []
        for f, s in ((fpc_a, a), (fpc_b, b)):
            mean = sum(u[0] * u[col] for u in s) / sum(u[0] for u in s)
            groups.append((f, [u[0] * (u[col] - mean) for u in s]))
        est = sum(u[0] * u[col] for u in a + b)
        half = T_975_DF13 * math.sqrt(strat_variance(groups))
        return max(0.0, est - half), est + half

    for measure, col in (("failed", 1), ("completed", 4)):
        low, high = count_ci(col)
        assert total[measure].ci_low == pytest.approx(low, rel=1e-6), measure
        assert total[measure].ci_high == pytest.approx(high, rel=1e-6), measure

    # By area: each area is one stratum with equal weights, so FRR is the unweighted share.
    assert cell(release, "recruitment_by_area", "RAR Hovedstaden", "frr").estimate == (
        pytest.approx(5 / 7)
    )
    assert cell(release, "recruitment_by_area", "RAR Fyn", "frr").estimate == pytest.approx(5 / 6)
    assert cell(release, "recruitment_by_region", "Syddanmark", "failed").estimate == (
        pytest.approx(5 * w_b)
    )


def test_small_cells_are_suppressed_without_values(ctx):
    strata = two_strata()
    # Two of stratum A's completed respondents work in another occupation: a cell of n = 2.
    for unit in strata["2|RAR Hovedstaden"][1][2:4]:
        unit.occupation = "9999"
    make_round("SMALL", strata)
    release = publish(["SMALL"], "2026H1")
    db.session.commit()
    small = cell(release, "recruitment_by_occupation", "9999", "frr")
    assert small.suppressed and small.suppression == "primary"
    assert (small.estimate, small.ci_low, small.ci_high, small.n) == (None, None, None, None)
    suppressed = db.session.scalars(
        db.select(ReleaseCell).filter_by(
            release_id=release.id,
            table_id="recruitment_by_occupation",
            measure="failed",
            suppressed=True,
        )
    ).all()
    # Secondary suppression: one more occupation (or the total) is hidden with it.
    assert len(suppressed) >= 2
    assert {c.suppression for c in suppressed} <= {"primary", "secondary"}


def test_differencing_attack_cannot_recover_a_suppressed_cell(ctx):
    strata = two_strata()
    for unit in strata["2|RAR Hovedstaden"][1][2:4]:
        unit.occupation = "9999"
    make_round("DIFF", strata)
    release = publish(["DIFF"], "2026Q2")
    db.session.commit()
    for table in (
        "recruitment_by_occupation",
        "recruitment_by_area",
        "recruitment_by_region",
        "recruitment_by_industry",
        "recruitment_by_sector",
    ):
        for measure in ("failed", "completed"):
            rows = db.session.scalars(
                db.select(ReleaseCell).filter_by(
                    release_id=release.id, table_id=table, measure=measure
                )
            ).all()
            # The published total of the measure (it is the same in every table).
            total = [c for c in rows if c.dimension == "total"]
            parts = [c for c in rows if c.dimension != "total"]
            unknowns = sum(c.suppressed for c in parts) + sum(c.suppressed for c in total)
            # The attacker knows sum(parts) = total: solvable only with exactly one unknown.
            assert unknowns != 1, (table, measure)
            # The unweighted n of the suppressed cells is gone too (n is additive as well).
            assert all(c.n is None for c in parts if c.suppressed)
    # The hidden cell (two respondents of stratum A with another profile, weight 5 each): its
    # true value is 10 failed of 10 completed; the published figures must not give it away.
    for measure in ("failed", "completed"):
        hidden = cell(release, "recruitment_by_occupation", "9999", measure)
        assert hidden.suppressed
        published = [
            c.estimate
            for c in db.session.scalars(
                db.select(ReleaseCell).filter_by(
                    release_id=release.id,
                    table_id="recruitment_by_occupation",
                    measure=measure,
                    suppressed=False,
                )
            )
            if c.dimension != "total"
        ]
        total = cell(release, "recruitment_total", "Total", measure).estimate
        if total is not None:
            assert total - sum(published) != pytest.approx(10.0)


def test_releases_are_immutable_and_older_ones_stay_readable(ctx):
    make_round("R1", two_strata())
    first = publish(["R1"], "2026Q2")
    db.session.commit()
    first_frr = cell(first, "recruitment_total", "Total", "frr").estimate
    extra = two_strata()
    for unit in extra["5|RAR Fyn"][1][:3]:
        unit.outcome = "not_filled"
    make_round("R2", extra, window=(date_(2026, 4, 1), date_(2026, 9, 30)))
    second = publish(["R2"], "2026Q3")
    db.session.commit()
    assert second.id != first.id
    assert cell(first, "recruitment_total", "Total", "frr").estimate == first_frr
    assert cell(second, "recruitment_total", "Total", "frr").estimate != first_frr

    c = cell(first, "recruitment_total", "Total", "frr")
    c.estimate = 0.01
    with pytest.raises(ImmutableReleaseError):
        db.session.flush()
    db.session.rollback()
    db.session.delete(db.session.get(Release, first.id))
    with pytest.raises(ImmutableReleaseError):
        db.session.flush()
    db.session.rollback()
    if db.engine.dialect.name == "postgresql":
        with pytest.raises(DBAPIError):
            db.session.execute(db.update(ReleaseCell).values(estimate=0.5))
        db.session.rollback()
    assert cell(first, "recruitment_total", "Total", "frr").estimate == first_frr


def date_(y, m, d):
    from datetime import date

    return date(y, m, d)


def test_release_rows_hold_no_company_names_or_ids(ctx):
    rnd = make_round("PRIV", two_strata())
    release = publish(["PRIV"], "2026Q2")
    db.session.commit()
    from survey_app.sampling.models import Case, Company

    secrets = set()
    for case in db.session.scalars(db.select(Case).filter_by(round_id=rnd.id)):
        company = db.session.get(Company, case.company_id)
        secrets |= {company.name, company.cvr, "Hemmelig Virksomhed"}
    texts = []
    for row in db.session.scalars(db.select(ReleaseCell).filter_by(release_id=release.id)):
        texts += [
            str(getattr(row, col.name))
            for col in ReleaseCell.__table__.columns
            if col.name not in ("id", "release_id")
        ]
    r = db.session.get(Release, release.id)
    texts += [str(getattr(r, col.name)) for col in Release.__table__.columns]
    blob = "\n".join(texts)
    for secret in secrets:
        assert secret not in blob
    columns = {c.name for t in (Release, ReleaseCell) for c in t.__table__.columns}
    assert not columns & {
        "company_id",
        "cvr",
        "company_name",
        "case_id",
        "posting_id",
        "response_id",
    }


def test_publish_errors_are_clear(ctx):
    make_round("OUT", two_strata(), window=(date_(2026, 5, 1), date_(2026, 8, 31)))
    with pytest.raises(PublishError, match="outside the window of period 2026Q2"):
        publish(["OUT"], "2026Q2")
    with pytest.raises(PublishError, match="is not of the form"):
        publish(["OUT"], "2026-2")
    with pytest.raises(PublishError, match="'NOPE' does not exist"):
        publish(["NOPE"], None)


def test_cli_publish_and_list(app, runner):
    with app.app_context():
        make_round("CLI", two_strata())
        db.session.commit()
    result = runner.invoke(args=["stats", "publish", "--round", "CLI", "--period", "2026H1"])
    assert result.exit_code == 0, result.output
    assert "period 2026Q2 (2026-01-01..2026-06-30), rounds CLI, 15 of 20" in result.output
    again = runner.invoke(args=["stats", "publish", "--round", "CLI"])
    assert again.exit_code == 0, again.output
    listing = runner.invoke(args=["stats", "releases"])
    assert listing.output.count("2026Q2") == 2
    bad = runner.invoke(args=["stats", "publish", "--round", "CLI", "--period", "2026Q9"])
    assert bad.exit_code != 0 and "is not of the form" in bad.output
