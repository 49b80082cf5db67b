"""Benchmark: import N generated postings into a fresh PostgreSQL database, then draw a sample.

    .venv/bin/python bench/import_and_draw.py [--rows 1000000] [--sample 20000]

Reports seconds, rows/s and peak RSS (getrusage; the peak of the whole process so far) for the
import and the draw, and, as a same-run baseline, a plain COPY of the same file into an unindexed
table of text columns, with the ratios. The database is created for the run and dropped after.
Not part of the test suite.
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.support import cvr, peak_mb, scratch_database  # noqa: E402

COLUMNS = (
    "source", "source_posting_id", "posted_on", "application_deadline", "job_title",
    "occupation_code", "cvr", "p_number", "company_name", "municipality_code", "positions",
    "contact_name", "contact_email", "contact_phone",
)  # fmt: skip
OCCUPATIONS = ("1120", "2221", "2512", "3313", "4110", "5120", "5223", "7125", "8322", "9112")
TITLES = ("Sygeplejerske", "Tømrer", "Softwareudvikler", "Kok", "Lagermedarbejder", "Pædagog")


def generate(path: Path, rows: int, seed: int = 1) -> None:
    from survey_app.sampling.geography import all_municipalities

    rng = random.Random(seed)
    towns = [m.code for m in all_municipalities()]
    companies = max(1, rows // 2)
    cvrs: dict[int, str] = {}
    start = date(2026, 4, 1)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(COLUMNS)
        for i in range(rows):
            company = rng.randrange(companies)
            number = cvrs.get(company) or cvrs.setdefault(company, cvr(company))
            posted = start + timedelta(days=rng.randrange(90))
            contact = rng.random() > 0.05
            writer.writerow(
                (
                    "star", f"b-{i}", posted.isoformat(),
                    (posted + timedelta(days=21)).isoformat(), rng.choice(TITLES),
                    rng.choice(OCCUPATIONS), number, str(4000000000 + company),
                    f"Firma {company} ApS", rng.choice(towns), 1, f"Kontakt {i}",
                    f"k{i}@firma{company}.example" if contact else "",
                    f"+4520{rng.randrange(100000, 999999)}" if contact else "",
                )
            )  # fmt: skip


def copy_baseline(engine, path: Path) -> float:
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        cols = ", ".join(f"{c} text" for c in COLUMNS)
        cur.execute(f"CREATE TABLE copy_baseline ({cols})")
        raw.commit()
        t0 = time.perf_counter()
        with (
            path.open("rb") as fh,
            cur.copy("COPY copy_baseline FROM STDIN WITH (FORMAT csv, HEADER true)") as copy,
        ):
            while block := fh.read(1 << 20):
                copy.write(block)
        raw.commit()
        return time.perf_counter() - t0
    finally:
        raw.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--sample", type=int, default=20_000)
    args = parser.parse_args()

    with scratch_database() as url, tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "postings.csv"
        t0 = time.perf_counter()
        generate(path, args.rows)
        gen_s = time.perf_counter() - t0
        size_mb = path.stat().st_size / 1e6
        print(f"generated {args.rows} rows ({size_mb:.0f} MB) in {gen_s:.1f} s")
        run(url, path, args)


def run(url: str, path: Path, args) -> None:
    from flask_migrate import upgrade

    from survey_app import create_app
    from survey_app.core.db import db
    from survey_app.partners.services import ensure_star
    from survey_app.questionnaire.bank import default_bank_path
    from survey_app.questionnaire.services import load_bank_version
    from survey_app.sampling.draw import draw_sample
    from survey_app.sampling.importer import import_postings
    from survey_app.sampling.rounds import create_round

    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench-secret-key", "REDIS_URL": None}
    )
    with app.app_context():
        upgrade(revision="heads")
        star = ensure_star()
        load_bank_version(default_bank_path())
        db.session.commit()
        rss0 = peak_mb()

        t0 = time.perf_counter()
        with path.open("rb") as fh:
            result = import_postings(fh, star, path.name, "csv")
        db.session.commit()
        import_s = time.perf_counter() - t0
        import_rss = peak_mb()
        print(
            f"import: {result.total} rows ({result.inserted} new, {result.rejected} rejected) "
            f"in {import_s:.1f} s = {result.total / import_s:,.0f} rows/s; "
            f"peak RSS {import_rss:.0f} MB (before import {rss0:.0f} MB)"
        )

        rnd = create_round("BENCH", "Benchmark", date(2026, 4, 1), date(2026, 6, 30))
        db.session.commit()
        t0 = time.perf_counter()
        drawn = draw_sample(rnd, size=args.sample, seed=1)
        db.session.commit()
        draw_s = time.perf_counter() - t0
        print(
            f"draw: frame {drawn.frame}, eligible {drawn.eligible}, drawn {drawn.drawn}, "
            f"{len(drawn.strata)} strata in {draw_s:.1f} s = {drawn.frame / draw_s:,.0f} frame "
            f"rows/s; peak RSS {peak_mb():.0f} MB"
        )
        copy_s = copy_baseline(db.engine, path)
        print(
            f"baseline COPY into an unindexed table: {copy_s:.1f} s = "
            f"{args.rows / copy_s:,.0f} rows/s"
        )
        ratios = f"import / COPY = {import_s / copy_s:.1f}x, draw / COPY = {draw_s / copy_s:.2f}x"
        print(f"ratios: {ratios}")
        db.session.remove()
        db.engine.dispose()


if __name__ == "__main__":
    main()
