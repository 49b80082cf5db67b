from __future__ import annotations

import sys
from datetime import date

import click
from flask.cli import AppGroup

from survey_app.core.db import db
from survey_app.partners.services import PartnerError, require_organisation

from . import error_report
from .draw import DrawError, draw_sample
from .feed import FeedFormatError
from .importer import import_postings
from .rounds import RoundError, create_round, get_round

postings_cli = AppGroup("postings", help="The postings feed.")
rounds_cli = AppGroup("rounds", help="Fielding rounds.")
sample_cli = AppGroup("sample", help="Drawing samples.")


@postings_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--source", "source_code", required=True, help="The delivering organisation's code.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["auto", "csv", "jsonl"]),
    default="auto",
    show_default=True,
)
@click.option(
    "--errors",
    "errors_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write the row-numbered error report to this CSV file.",
)
def import_(path: str, source_code: str, fmt: str, errors_path: str | None) -> None:
    """Import a postings feed file (CSV or JSON lines) delivered by SOURCE."""
    try:
        source = require_organisation(source_code)
    except PartnerError as exc:
        raise click.ClickException(str(exc)) from exc
    try:
        with open(path, "rb") as fh:
            result = import_postings(fh, source, path, fmt)
        db.session.commit()
    except FeedFormatError as exc:
        raise click.ClickException(f"{path}: {exc.message}; nothing was imported") from exc
    click.echo(
        f"{path}: {result.total} rows: {result.inserted} new, {result.updated} updated, "
        f"{result.rejected} rejected (batch {result.batch_id})"
    )
    if not result.rejected:
        return
    if errors_path:
        with open(errors_path, "w", newline="", encoding="utf-8") as out:
            write_error_report(result.batch_id, out)
        click.echo(f"error report: {errors_path}")
    else:
        write_error_report(result.batch_id, sys.stderr)


def write_error_report(batch_id: int, out) -> None:
    """The row-numbered report of rejected rows: row, field, value, reason."""
    error_report.write_csv(batch_id, out)


def _date(_ctx, _param, value):
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from exc


@rounds_cli.command("create")
@click.argument("code")
@click.option("--name", default=None)
@click.option(
    "--window-start", required=True, callback=_date, help="First posting date (YYYY-MM-DD)."
)
@click.option("--window-end", required=True, callback=_date, help="Last posting date (YYYY-MM-DD).")
@click.option("--bank-version", default=None, help="Bank version to pin (default: the latest).")
def create(code: str, name: str | None, window_start, window_end, bank_version) -> None:
    """Create fielding round CODE pinning a bank version and a posting window."""
    try:
        rnd = create_round(code, name or code, window_start, window_end, bank_version)
        db.session.commit()
    except RoundError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from exc
    click.echo(
        f"created round {rnd.code}: postings {rnd.window_start}..{rnd.window_end}, "
        f"bank {rnd.bank_version.version}"
    )


@sample_cli.command("draw")
@click.option("--round", "round_code", required=True)
@click.option("--size", type=click.IntRange(min=1), default=None)
@click.option("--seed", type=int, default=None)
def draw(round_code: str, size: int | None, seed: int | None) -> None:
    """Draw the sample of a round (once), reproducibly from SEED."""
    try:
        result = draw_sample(get_round(round_code), size, seed)
        db.session.commit()
    except (RoundError, DrawError) as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from exc
    click.echo(
        f"round {round_code}: frame {result.frame}, eligible {result.eligible}, "
        f"drawn {result.drawn} (seed {result.seed})"
    )
    for reason, count in sorted(result.excluded.items()):
        click.echo(f"  excluded: {reason}: {count}")
    for brand, count in sorted(result.by_brand.items()):
        click.echo(f"  brand {brand}: {count}")
