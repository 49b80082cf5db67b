"""``survey-app demo``: STAR, two partner job databases with their brands, a bank version, a few
hundred postings, a round with its sample, one user per role, and respondent links per brand.

Everything goes through the same services the real commands use. Demo passwords are printed;
they are for a local demo only.
"""

from __future__ import annotations

import io
import json
import random
from collections import defaultdict
from datetime import date, timedelta

import click
from flask import current_app
from flask.cli import with_appcontext

from .auth.models import User
from .auth.services import add_user
from .core.db import db
from .partners.models import Organisation
from .partners.services import add_organisation, ensure_star
from .questionnaire.bank import default_bank_path
from .questionnaire.services import link_token, load_bank_version
from .sampling.draw import draw_sample
from .sampling.importer import import_postings
from .sampling.models import Case
from .sampling.rounds import create_round, get_round

ROUND = "2026H2-demo"
PASSWORD = "demo-password-1"  # noqa: S105 - printed demo credential, local only

PARTNERS = {
    "jobportalen": {
        "name": "Jobportalen",
        "colours": {"primary": "#6a1b4d", "accent": "#b5446e", "primary-text": "#ffffff"},
        "notice_intro": {
            "da": "Jobportalen deltager i STARs rekrutteringsundersøgelse sammen med sine kunder.",
            "en": "Jobportalen takes part in STAR's recruitment survey with its customers.",
        },
        "embed_origins": ["https://www.jobportalen.example"],
    },
    "karrierenet": {
        "name": "KarriereNet",
        "colours": {"primary": "#1d5c2e", "accent": "#3a8f52", "primary-text": "#ffffff"},
        "notice_intro": {
            "da": "KarriereNet hjælper STAR med at spørge virksomheder om deres rekruttering.",
            "en": "KarriereNet helps STAR ask companies about their recruitment.",
        },
        "embed_origins": ["https://karrierenet.example"],
    },
}

TITLES = [
    "Sygeplejerske", "Social- og sundhedsassistent", "Tømrer", "Elektriker", "Softwareudvikler",
    "Lagermedarbejder", "Buschauffør", "Pædagog", "Bogholder", "Kok", "Rengøringsassistent",
    "Salgskonsulent", "Smed", "Murer", "Butiksassistent", "Projektleder",
]  # fmt: skip
MUNICIPALITIES = ["101", "147", "151", "165", "250", "259", "330", "360", "400", "461", "561",
                  "621", "630", "657", "661", "751", "791", "810", "846", "851"]  # fmt: skip
USERS = [
    ("admin@star.example", "admin", None),
    ("analyst@star.example", "analyst", None),
    ("operator@jobportalen.example", "partner_operator", "jobportalen"),
    ("operator@karrierenet.example", "partner_operator", "karrierenet"),
    ("supervisor@callcentre.example", "supervisor", None),
    ("agent@callcentre.example", "agent", None),
]


def valid_cvr(rng: random.Random) -> str:
    weights = (2, 7, 6, 5, 4, 3, 2)
    while True:
        digits = [rng.randint(1, 9)] + [rng.randint(0, 9) for _ in range(6)]
        check = (-sum(w * d for w, d in zip(weights, digits, strict=True))) % 11
        if check < 10:
            return "".join(map(str, digits)) + str(check)


def feed(source: str, count: int, rng: random.Random, start: date, cvrs: list[str]) -> bytes:
    out = io.StringIO()
    for i in range(count):
        cvr = rng.choice(cvrs)
        posted = start + timedelta(days=rng.randint(0, 150))
        record = {
            "source": source,
            "source_posting_id": f"{source}-{i:05d}",
            "posted_on": posted.isoformat(),
            "application_deadline": (posted + timedelta(days=21)).isoformat(),
            "job_title": rng.choice(TITLES),
            "cvr": cvr,
            "company_name": f"Demo ApS {cvr[:4]}",
            "municipality_code": rng.choice(MUNICIPALITIES),
            "positions": rng.choice([1, 1, 1, 2, 3]),
            "contact_name": f"Kontakt {i}",
            "contact_email": f"kontakt{i}@{source}-firma.example",
            "contact_phone": f"+4520{rng.randint(100000, 999999)}",
            "p_number": str(rng.randint(1000000000, 9999999999)),
        }
        out.write(json.dumps(record, ensure_ascii=False) + "\n")
    return out.getvalue().encode("utf-8")


def load_demo(seed: int = 2026) -> None:
    rng = random.Random(seed)
    star = ensure_star()
    star.default_brand.notice_intro = {
        "da": "STAR spørger virksomheder om, hvordan deres rekruttering er gået.",
        "en": "STAR asks companies how their recruitment went.",
    }
    for code, spec in PARTNERS.items():
        org = add_organisation(code, spec["name"], contact_email=f"privacy@{code}.example")
        brand = org.default_brand
        brand.colours, brand.notice_intro = spec["colours"], spec["notice_intro"]
        brand.embed_origins = spec["embed_origins"]
    load_bank_version(default_bank_path())
    start = date(2026, 4, 1)
    cvrs = [valid_cvr(rng) for _ in range(260)]
    for code, count in (("star", 200), ("jobportalen", 80), ("karrierenet", 60)):
        org = db.session.execute(db.select(Organisation).filter_by(code=code)).scalar_one()
        import_postings(
            io.BytesIO(feed(code, count, rng, start, cvrs)), org, f"{code}.jsonl", "jsonl"
        )
    rnd = create_round(
        ROUND,
        "Demo round, second half of 2026",
        start,
        start + timedelta(days=150),
        settings={"partner_quotas": {"jobportalen": 25, "karrierenet": 20}},
    )
    draw_sample(rnd, size=120, seed=seed)
    for email, role, org in USERS:
        add_user(email, role, org, PASSWORD)


def print_links(per_brand: int = 3) -> None:
    base = current_app.config["BASE_URL"].rstrip("/")
    rnd = get_round(ROUND)
    by_brand = defaultdict(list)
    for case in db.session.scalars(db.select(Case).filter_by(round_id=rnd.id).order_by(Case.id)):
        if len(by_brand[case.brand.code]) < per_brand and not case.response.is_completed:
            by_brand[case.brand.code].append(case)
    click.echo(f"\nRespondent links (round {ROUND}):")
    for brand, cases in sorted(by_brand.items()):
        click.echo(f"  {brand}:")
        for case in cases:
            click.echo(
                f"    {base}/s/{link_token(case.response)}   (code {case.response.short_code})"
            )
    click.echo(f"\nStaff login at {base}/login, password {PASSWORD!r} for every demo user:")
    for user in db.session.scalars(db.select(User).order_by(User.id)):
        click.echo(f"  {user.email:<34} {user.role_label}")


@click.command("demo")
@click.option("--if-empty", is_flag=True, help="Only load when the database has no organisations.")
@with_appcontext
def demo(if_empty: bool) -> None:
    """Load demo data and print respondent links and staff logins."""
    loaded = db.session.execute(db.select(Organisation.id).limit(1)).first() is not None
    if loaded and not if_empty:
        raise click.ClickException("the database already has data; demo loads into an empty one")
    if not loaded:
        load_demo()
        db.session.commit()
        click.echo("demo data loaded")
    if db.session.execute(db.select(Case.id).limit(1)).first():
        print_links()
