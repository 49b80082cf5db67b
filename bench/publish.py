"""Benchmark: weighting and publishing a release of a round of N responses (issue 6: N = 150,000,
goal under 10 s).

    .venv/bin/python bench/publish.py [--responses 150000] [--reference-n 1000]

Builds a fresh PostgreSQL database (created for the run, dropped after) through the migrations and
writes, with COPY, one round of N sampled cases, every one with an answered response (success,
other profile, not filled, ongoing or frame error), spread over 9 occupation groups x 8 RAR
areas = 72 strata, about 300 occupation codes, 98 municipalities, 80 industries, two sectors and
one company per case (a round samples a company once). Then it times, in this order:

* ``publish`` end to end (read the cases, weight, estimate six tables, disclosure control, store
  the cells, audit), committed, with the time of each step;
* the same-run baseline: the units read by pandas (``read_sql`` of the same query) and a plain
  ``groupby`` of the weighted sums, counts and distinct companies behind every cell (the
  arithmetic floor of the tables, without variance or disclosure control);
* the estimates of the per-cell samplics path this replaced (``tests/unit/stats/
  reference_estimates.py``) against the group-wise path on the first ``--reference-n`` units
  (the old path grows with units x domain values, so it is measured on a small sample only).

Ratios against the baselines are printed. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import random
import sys
import time
from datetime import date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.support import copy_rows, defaults_for, scratch_database  # noqa: E402

OUTCOMES = (
    ("success", 0.55),
    ("other_profile", 0.12),
    ("not_filled", 0.13),
    ("ongoing", 0.1),
    ("ineligible", 0.1),
)


def occupations(rng: random.Random) -> list[str]:
    return sorted({f"{g}{rng.randint(100, 999)}" for g in range(1, 10) for _ in range(34)})


def load(db, rnd, brand_id: int, star_org_id: int, n: int, seed: int = 1) -> None:
    from survey_app.questionnaire.models import Response
    from survey_app.sampling.geography import all_municipalities
    from survey_app.sampling.models import Case, Company, Posting

    rng = random.Random(seed)
    places = all_municipalities()
    occs = occupations(rng)
    industries = [f"{k:02d}{rng.randint(1000, 9999)}" for k in range(10, 90)]
    n_companies = n  # a round has at most one case per company
    raw = db.engine.raw_connection()
    cur = raw.cursor()

    def put(model, table, cols, rows):
        extra_cols, extra_vals = defaults_for(model.__table__, cols)
        copy_rows(cur, table, cols + extra_cols, (tuple(r) + tuple(extra_vals) for r in rows))

    put(Company, "companies", ["id", "cvr", "name", "industry_code", "sector"], (
        (i, f"{10000000 + i}", f"Firma {i} ApS", rng.choice(industries),
         "public" if rng.random() < 0.2 else "private")
        for i in range(1, n_companies + 1)
    ))  # fmt: skip
    postings, responses, cases = [], [], []
    strata: dict[str, int] = {}
    now = datetime(2026, 7, 1, 12, 0)
    for i in range(1, n + 1):
        place, occ = rng.choice(places), rng.choice(occs)
        company = i
        outcome = rng.choices([o for o, _ in OUTCOMES], [p for _, p in OUTCOMES])[0]
        stratum = f"{occ[0]}|{place.rar_area}"
        strata[stratum] = strata.get(stratum, 0) + 1
        postings.append(
            (i, star_org_id, f"p-{i}", date(2026, 3, 1), "Stilling", occ, company, place.code,
             place.rar_area, rng.choice((1, 1, 1, 2, 3)))
        )  # fmt: skip
        responses.append(
            (i, rnd.bank_version_id, brand_id, f"{i:064x}", "sealed", f"P{i:010d}", "{}",
             "completed", "web", "da", outcome, now, now, now, now)
        )  # fmt: skip
        cases.append((i, rnd.id, i, company, brand_id, i, "final", stratum))
    # the frame: every stratum 5 to 40 times its sample, so p differs by stratum
    frame = {s: k * rng.randint(5, 40) for s, k in strata.items()}
    put(Posting, "postings", ["id", "source_id", "source_posting_id", "posted_on", "job_title",
        "occupation_code", "company_id", "municipality_code", "rar_area", "positions"],
        postings)  # fmt: skip
    put(Response, "responses", ["id", "bank_version_id", "brand_id", "token_hash", "token_sealed",
        "short_code", "context", "status", "mode", "language", "classification", "created_at",
        "started_at", "completed_at", "updated_at"], responses)  # fmt: skip
    put(Case, "cases", ["id", "round_id", "posting_id", "company_id", "brand_id", "response_id",
        "status", "stratum", "selection_prob"],
        (c + (strata[c[-1]] / frame[c[-1]],) for c in cases))  # fmt: skip
    for table in ("companies", "postings", "responses", "cases"):
        cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), max(id)) FROM {table}")
    raw.commit()
    cur.execute("ANALYZE")
    raw.commit()
    raw.close()
    rnd.settings = {
        "last_draw": {
            "strata": [
                {"stratum": s, "N": frame[s], "n": k, "prob": k / frame[s]}
                for s, k in sorted(strata.items())
            ]
        }
    }
    db.session.commit()
    print(f"loaded {n} cases with responses, {n_companies} companies, {len(strata)} strata")


def reference_module():
    path = ROOT / "tests" / "unit" / "stats" / "reference_estimates.py"
    spec = importlib.util.spec_from_file_location("reference_estimates", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def timed(label: str, func, *args):
    t0 = time.perf_counter()
    result = func(*args)
    seconds = time.perf_counter() - t0
    print(f"  {label:34s} {seconds:7.2f} s")
    return result, seconds


def pandas_baseline(db, round_code: str) -> float:
    """Read the same rows with pandas and sum every table's cells with groupby."""
    import pandas as pd

    from survey_app.questionnaire.models import Response
    from survey_app.sampling.models import Case, Company, FieldingRound, Posting

    t0 = time.perf_counter()
    query = (
        db.select(
            Case.id, Case.stratum, Case.selection_prob, Case.company_id,
            Response.classification, Posting.rar_area, Posting.municipality_code,
            Posting.occupation_code, Posting.positions, Company.industry_code, Company.sector,
        )
        .join(Response, Response.id == Case.response_id)
        .join(Posting, Posting.id == Case.posting_id)
        .join(Company, Company.id == Case.company_id)
        .join(FieldingRound, FieldingRound.id == Case.round_id)
        .where(FieldingRound.code == round_code)
    )  # fmt: skip
    with db.engine.connect() as conn:
        df = pd.read_sql(query, conn)
    df["w"] = 1.0 / df["selection_prob"]
    df["industry"] = df["industry_code"].str[:2]
    df["completed"] = df["classification"].isin(["success", "other_profile", "not_filled"])
    df["failed"] = df["classification"].isin(["other_profile", "not_filled"])
    df["wc"] = df["w"] * df["completed"]
    df["wf"] = df["w"] * df["failed"]
    df["wn"] = df["w"] * (df["classification"] == "not_filled")
    df["wo"] = df["w"] * (df["classification"] == "other_profile")
    for dim in ("rar_area", "municipality_code", "industry", "sector", "occupation_code"):
        sums = df.groupby(dim)[["wc", "wf", "wn", "wo", "completed", "failed"]].sum()
        sums[["wf", "wn", "wo"]].div(sums["wc"], axis=0)
        df[df["completed"]].groupby(dim)["company_id"].nunique()
    return time.perf_counter() - t0


def run(url: str, args) -> None:
    from flask_migrate import upgrade

    from survey_app import create_app
    from survey_app.core.db import db
    from survey_app.partners.services import ensure_star
    from survey_app.questionnaire.bank import default_bank_path
    from survey_app.questionnaire.services import load_bank_version
    from survey_app.sampling.rounds import create_round, get_round
    from survey_app.stats import releases
    from survey_app.stats.api_models import ReleaseCell
    from survey_app.stats.catalogue import TABLES
    from survey_app.stats.estimates import TOTAL_DOMAIN, cells_of, prepare
    from survey_app.stats.weighting import compute_weights

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "REDIS_URL": None})
    with app.app_context():
        upgrade(revision="heads")
        star = ensure_star()
        load_bank_version(default_bank_path())
        rnd = create_round("BENCH", "Benchmark", date(2026, 1, 1), date(2026, 6, 30))
        db.session.commit()
        t0 = time.perf_counter()
        load(db, rnd, star.default_brand.id, star.id, args.responses)
        print(f"generation with COPY: {time.perf_counter() - t0:.1f} s")
        code = rnd.code
        db.session.remove()

        print(f"publish of {args.responses} responses, step by step:")
        rounds = [get_round(code)]
        units, t_load = timed("read cases (load_units)", releases.load_units, rounds)
        frame, _ = timed("frame totals", releases.frame_totals, rounds, units)
        fallback = releases.collapse(units, frame)
        weighting, t_weights = timed(
            "weights (samplics)",
            lambda: compute_weights(
                units, frame, fallback=fallback, frame_includes_ineligible=True
            ),
        )

        def estimates():
            sample = prepare(units, weighting)
            totals = cells_of(sample, None)
            return {
                t.id: ([] if t.dimension == TOTAL_DOMAIN else cells_of(sample, t.dimension), totals)
                for t in TABLES.values()
            }

        tables, t_est = timed("estimates, 6 tables", estimates)
        controlled, t_ctl = timed("disclosure control", releases._control, tables)
        n_cells = sum(len(c) for c in controlled.values())
        db.session.rollback()
        db.session.remove()

        def publish():
            release = releases.publish([code])
            db.session.commit()
            return release.id

        if args.profile:
            import cProfile
            import pstats

            profiler = cProfile.Profile()
            profiler.enable()
        release_id, t_publish = timed("publish() end to end, committed", publish)
        if args.profile:
            profiler.disable()
            pstats.Stats(profiler).sort_stats("tottime").print_stats(15)
        stored = db.session.scalar(
            db.select(db.func.count()).select_from(ReleaseCell).filter_by(release_id=release_id)
        )
        print(f"  ({stored} cells stored, {n_cells} computed; {len(weighting.strata)} classes)")
        db.session.remove()
        t_base = pandas_baseline(db, code)
        print(f"baseline: pandas read_sql + groupby of every cell's sums: {t_base:.2f} s")
        print(
            f"publish {t_publish:.2f} s = {t_publish / t_base:.1f}x the pandas baseline; "
            f"weights + estimates {t_weights + t_est:.2f} s "
            f"= {(t_weights + t_est) / t_base:.1f}x; goal < 10 s: "
            f"{'met' if t_publish < 10 else 'NOT met'}"
        )

        k = min(args.reference_n, len(units))
        if k:
            ref = reference_module()
            sub = units[:k]
            sub_frame = releases.frame_totals([], sub)
            sub_weighting = compute_weights(
                sub, sub_frame, fallback=releases.collapse(sub, sub_frame),
                frame_includes_ineligible=True,
            )  # fmt: skip
            dims = [None] + [t.dimension for t in TABLES.values() if t.dimension != TOTAL_DOMAIN]

            def fast():
                sample = prepare(sub, sub_weighting)
                return [c for d in dims for c in cells_of(sample, d)]

            def slow():
                return [c for d in dims for c in ref.reference_cells(sub, sub_weighting, d)]

            print(f"estimates on the first {k} units ({len(dims)} domains):")
            fast_cells, t_fast = timed("group-wise (this code)", fast)
            slow_cells, t_slow = timed("per-cell samplics (before)", slow)
            assert len(fast_cells) == len(slow_cells)
            print(f"per-cell path {t_slow / t_fast:.0f}x the group-wise path at n = {k}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--responses", type=int, default=150_000)
    parser.add_argument("--reference-n", type=int, default=1000)
    parser.add_argument("--profile", action="store_true", help="profile the publish() call")
    args = parser.parse_args()
    with scratch_database() as url:
        os.environ.setdefault("SURVEY_LOG_FORMAT", "text")
        run(url, args)


if __name__ == "__main__":
    main()
