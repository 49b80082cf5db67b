"""Benchmark: export a round of N completed responses in every format from PostgreSQL.

    .venv/bin/python bench/export.py [--responses 150000] [--formats csv,parquet,sav,dta,bundle]

Builds a fresh PostgreSQL database (created for the run, dropped after) through the migrations,
loads STAR, two partners and the bank, then writes N cases with completed responses and their
answers with COPY. Each format is exported in its own forked process, so the peak RSS reported
(getrusage of that process) belongs to that export alone. As a same-run baseline, the answers of
the round are written with ``COPY (SELECT ...) TO STDOUT`` into a file, and the ratios are printed.
Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import random
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.support import copy_rows, defaults_for, peak_mb, scratch_database  # noqa: E402

FORMATS = ("csv", "parquet", "sav", "dta", "bundle")
TITLES = ("Sygeplejerske", "Tømrer", "Softwareudvikler", "Kok", "Lagermedarbejder", "Pædagog")
STRATA = [f"{g}|{a}" for g in "123456789" for a in ("Hovedstaden", "Sjælland", "Fyn", "Nord")]


def answer_set(rng: random.Random) -> tuple[str, dict]:
    """A plausible completed answer set and its classification."""
    outcome = rng.choice((1, 1, 1, 2, 3))
    answers: dict = {"respondent_role": "yes", "recruitment_status": 1, "outcome": outcome}
    positions = rng.choice((1, 1, 1, 2, 3))
    answers["positions"] = positions
    if outcome in (1, 2) and positions > 1:
        answers["positions_filled"] = rng.randint(1, positions)
    applicants = rng.choice(("dont_know", 0, 3, 12, 40))
    answers["applicants"] = applicants
    if isinstance(applicants, int) and applicants > 0:
        answers["qualified_applicants"] = rng.randint(0, applicants)
    if outcome == 2:
        answers["profile_gap"] = sorted(rng.sample(range(1, 7), rng.randint(1, 3)))
        if 6 in answers["profile_gap"]:
            answers["profile_gap_other"] = "Kørekort"
    if outcome == 3:
        answers["unfilled_reason"] = sorted(rng.sample(range(1, 7), rng.randint(1, 2)))
    answers["channels"] = sorted(rng.sample(range(1, 9), rng.randint(1, 4)))
    answers["job_order"] = rng.randint(1, 3)
    if rng.random() < 0.2:
        answers["comment"] = "Svært at finde kvalificerede ansøgere, =også i år"
    return {1: "success", 2: "other_profile", 3: "not_filled"}[outcome], answers


def load(db, rnd, brands: list[int], star_org_id: int, n: int, seed: int = 1) -> None:
    from survey_app.questionnaire.models import Answer, Response
    from survey_app.sampling.models import Case, Company, Posting

    rng = random.Random(seed)
    raw = db.engine.raw_connection()
    cur = raw.cursor()
    now = datetime(2026, 11, 1, 12, 0, 0)
    bank_version_id = rnd.bank_version_id

    def with_defaults(model, cols, rows):
        extra_cols, extra_vals = defaults_for(model.__table__, cols)
        return cols + extra_cols, (tuple(r) + tuple(extra_vals) for r in rows)

    cols, rows = with_defaults(
        Company, ["id", "cvr", "name"],
        ((i, f"{10000000 + i}", f"Firma {i} ApS") for i in range(1, n + 1)),
    )  # fmt: skip
    copy_rows(cur, "companies", cols, rows)
    cols, rows = with_defaults(
        Posting,
        ["id", "source_id", "source_posting_id", "posted_on", "job_title", "company_id"],
        (
            (i, star_org_id, f"b-{i}", date(2026, 4, 1) + timedelta(days=i % 90),
             TITLES[i % len(TITLES)], i)
            for i in range(1, n + 1)
        ),
    )  # fmt: skip
    copy_rows(cur, "postings", cols, rows)
    answers_rows = []
    resp_rows, case_rows = [], []
    answer_id = 0
    for i in range(1, n + 1):
        classification, answers = answer_set(rng)
        started = now + timedelta(seconds=i)
        resp_rows.append(
            (i, bank_version_id, brands[i % len(brands)], f"{i:064x}", "sealed", f"B{i:010d}",
             json.dumps({"job_title": TITLES[i % len(TITLES)], "posted_on": "01-05-2026",
                         "source_name": "STAR"}),
             "completed", "phone" if i % 10 == 0 else "web", "da", "2026-1", started,
             classification, started, started, started + timedelta(minutes=4),
             started + timedelta(minutes=4))
        )  # fmt: skip
        case_rows.append(
            (i, rnd.id, i, i, brands[i % len(brands)], i, "responded",
             ("email", "sms", "letter")[i % 3], STRATA[i % len(STRATA)], 0.05 + (i % 7) / 100)
        )  # fmt: skip
        for qid, value in answers.items():
            answer_id += 1
            answers_rows.append(
                (answer_id, i, qid, json.dumps(value, ensure_ascii=False),
                 "phone" if i % 10 == 0 else "web", started)
            )  # fmt: skip
    cols, rows = with_defaults(
        Response,
        ["id", "bank_version_id", "brand_id", "token_hash", "token_sealed", "short_code",
         "context", "status", "mode", "language", "notice_version", "notice_shown_at",
         "classification", "created_at", "started_at", "completed_at", "updated_at"],
        resp_rows,
    )  # fmt: skip
    copy_rows(cur, "responses", cols, rows)
    cols, rows = with_defaults(
        Case,
        ["id", "round_id", "posting_id", "company_id", "brand_id", "response_id", "status",
         "channel", "stratum", "selection_prob"],
        case_rows,
    )  # fmt: skip
    copy_rows(cur, "cases", cols, rows)
    cols, rows = with_defaults(
        Answer, ["id", "response_id", "question_id", "value", "mode", "answered_at"], answers_rows
    )
    copy_rows(cur, "answers", cols, rows)
    for table in ("companies", "postings", "responses", "cases", "answers"):
        cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), max(id)) FROM {table}")
    raw.commit()
    cur.execute("ANALYZE")
    raw.commit()
    raw.close()
    print(f"loaded {n} cases, responses and {answer_id} answers")


def export_child(url: str, round_code: str, fmt: str, out: Path, queue) -> None:
    from survey_app import create_app
    from survey_app.sampling.rounds import get_round
    from survey_app.stats.export import Dataset
    from survey_app.stats.formats import write

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "REDIS_URL": None})
    with app.app_context():
        before = peak_mb()
        t0 = time.perf_counter()
        rows = write(Dataset(get_round(round_code)), fmt, out, scope="all")
        seconds = time.perf_counter() - t0
        queue.put((rows, seconds, before, peak_mb(), out.stat().st_size))


def copy_baseline(engine, round_id: int, out: Path) -> float:
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        t0 = time.perf_counter()
        sql = (
            "COPY (SELECT a.response_id, a.question_id, a.value FROM answers a "
            f"JOIN cases c ON c.response_id = a.response_id WHERE c.round_id = {round_id} "
            "ORDER BY a.response_id) TO STDOUT"
        )
        with out.open("wb") as fh, cur.copy(sql) as copy:
            for block in copy:
                fh.write(block)
        return time.perf_counter() - t0
    finally:
        raw.close()


def run(url: str, args) -> None:
    from flask_migrate import upgrade

    from survey_app import create_app
    from survey_app.core.db import db
    from survey_app.partners.services import add_organisation, ensure_star
    from survey_app.questionnaire.bank import default_bank_path
    from survey_app.questionnaire.services import load_bank_version
    from survey_app.sampling.rounds import create_round

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "REDIS_URL": None})
    with app.app_context():
        upgrade(revision="heads")
        star = ensure_star()
        partners = [add_organisation(c, c.title()) for c in ("jobportalen", "karrierenet")]
        load_bank_version(default_bank_path())
        rnd = create_round("BENCH", "Benchmark", date(2026, 4, 1), date(2026, 6, 30))
        db.session.commit()
        brands = [star.default_brand.id] + [p.default_brand.id for p in partners]
        t0 = time.perf_counter()
        load(db, rnd, brands, star.id, args.responses)
        print(f"generation with COPY: {time.perf_counter() - t0:.1f} s")
        round_id, code = rnd.id, rnd.code
        with tempfile.TemporaryDirectory() as tmp:
            base_out = Path(tmp) / "answers.copy"
            base_s = copy_baseline(db.engine, round_id, base_out)
            print(
                f"baseline COPY (SELECT answers of the round) TO STDOUT: {base_s:.2f} s, "
                f"{base_out.stat().st_size / 1e6:.0f} MB"
            )
            db.session.remove()
            db.engine.dispose()
            ctx = multiprocessing.get_context("fork")
            for fmt in args.formats.split(","):
                out = Path(tmp) / f"bench.{fmt}"
                queue = ctx.Queue()
                proc = ctx.Process(target=export_child, args=(url, code, fmt, out, queue))
                proc.start()
                rows, seconds, before, peak, size = queue.get()
                proc.join()
                print(
                    f"{fmt:8s} {rows} rows in {seconds:6.1f} s = {rows / seconds:9,.0f} rows/s; "
                    f"{size / 1e6:6.1f} MB; peak RSS {peak:5.0f} MB (process start {before:.0f} MB)"
                    f"; {seconds / base_s:5.1f}x the COPY baseline"
                )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--responses", type=int, default=150_000)
    parser.add_argument("--formats", default=",".join(FORMATS))
    args = parser.parse_args()
    with scratch_database() as url:
        run(url, args)


if __name__ == "__main__":
    main()
