from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from survey_app.core import audit
from survey_app.core.db import db
from survey_app.sampling.rounds import RoundError, get_round

from .export import write_csv


@click.command("export")
@click.option("--round", "round_code", required=True)
@click.option("--format", "fmt", type=click.Choice(["csv"]), default="csv", show_default=True)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False),
    default=None,
    help="File to write (default: standard output).",
)
@with_appcontext
def export(round_code: str, fmt: str, output: str | None) -> None:
    """Export a round's dataset: one row per case with its answers."""
    try:
        rnd = get_round(round_code)
    except RoundError as exc:
        raise click.ClickException(str(exc)) from exc
    if output:
        with open(output, "w", newline="", encoding="utf-8") as fh:
            count = write_csv(rnd, fh)
    else:
        count = write_csv(rnd, sys.stdout)
    rnd = get_round(round_code)
    audit.record("export.created", "round", rnd.id, actor_label="cli", format=fmt, rows=count)
    db.session.commit()
    if output:
        click.echo(f"wrote {count} cases of round {round_code} to {output}")
