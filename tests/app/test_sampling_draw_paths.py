"""On PostgreSQL the draw runs the contact rules and the stratified choice as SQL window
functions; on SQLite it reads the frame into Python. Both draw the same cases for the same seed,
with the same counts per rule, strata and brands."""

from __future__ import annotations

import pytest

from survey_app.core.db import db
from survey_app.sampling.draw import draw_sample
from survey_app.sampling.draw_select import draw_key
from survey_app.sampling.models import Case

from .helpers import cvr
from .test_sampling_draw import cases, load, new_round, posting, setup


def test_draw_key_is_the_signed_first_64_bits_of_md5():
    # md5("7:pick:12") = 0x6f6b0a7e...; the same value PostgreSQL computes (test below)
    assert draw_key(7, "pick", 12) == int.from_bytes(
        bytes.fromhex(__import__("hashlib").md5(b"7:pick:12").hexdigest()[:16]), "big", signed=True
    )
    assert len({draw_key(1, "tie", i) for i in range(1000)}) == 1000
    assert draw_key(1, "tie", 5) != draw_key(2, "tie", 5)


def frame() -> None:
    setup(partner=True)
    rows = [posting(i) for i in range(60)]
    # companies with several postings of equal quality: the tie-break decides
    rows += [posting(i, cvr=cvr(i % 7), p_number=str(4100000000 + i)) for i in range(60, 90)]
    # P-units shared across companies
    rows += [posting(i, p_number=str(4200000000 + i % 5)) for i in range(90, 110)]
    rows += [posting(i, contact_email="", contact_phone="") for i in range(110, 115)]
    load("star", rows)
    load("jobportalen", [posting(i) for i in range(200, 230)])


def summary(rnd, result) -> tuple:
    drawn = sorted(
        (c.posting_id, c.stratum, round(c.selection_prob, 12), c.brand.code) for c in cases(rnd)
    )
    return drawn, dict(result.excluded), rnd.settings["last_draw"]["strata"], dict(result.by_brand)


@pytest.mark.postgres_only
def test_sql_and_python_draw_the_same_sample(ctx):
    frame()
    quotas = {"partner_quotas": {"jobportalen": 5}, "rest_days_p_unit": 0}
    sql = new_round("SQL", **quotas)
    by_sql = draw_sample(sql, size=40, seed=9, method="sql")
    got_sql = summary(sql, by_sql)
    db.session.execute(db.delete(Case).where(Case.round_id == sql.id))
    py = new_round("PY", **quotas)
    by_py = draw_sample(py, size=40, seed=9, method="python")
    assert summary(py, by_py) == got_sql
    assert (by_sql.frame, by_sql.eligible, by_sql.drawn) == (by_py.frame, by_py.eligible, 40)
    assert by_sql.excluded["company limit"] > 0 and by_sql.excluded["P-unit limit"] > 0
    assert by_sql.excluded["no usable contact"] == 5
    # the keys are the same in SQL as in Python
    value = db.session.execute(
        db.text("SELECT CAST(CAST('x' || substr(md5('7:pick:12'), 1, 16) AS bit(64)) AS bigint)")
    ).scalar_one()
    assert value == draw_key(7, "pick", 12)


@pytest.mark.postgres_only
def test_rest_period_is_the_same_in_sql_and_python(ctx):
    frame()
    first = new_round("R1", rest_days_p_unit=0)
    draw_sample(first, size=30, seed=1)
    later = {"rest_days_p_unit": 90}
    sql = new_round("SQL", **later)
    by_sql = draw_sample(sql, seed=4, method="sql")
    got = summary(sql, by_sql)
    db.session.execute(db.delete(Case).where(Case.round_id == sql.id))
    py = new_round("PY", **later)
    by_py = draw_sample(py, seed=4, method="python")
    assert by_sql.excluded["P-unit in rest period"] > 0
    assert summary(py, by_py) == got
