from __future__ import annotations

import click
from flask.cli import AppGroup

from survey_app.core.db import db

from .bank import BankError, load_bank
from .services import load_bank_version

cli = AppGroup("bank", help="Question-bank versions.")


@cli.command("validate")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
def validate(path: str) -> None:
    """Check a bank file against the schema and the routing rules."""
    try:
        bank = load_bank(path)
    except BankError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(
        f"{path}: version {bank.version} is valid "
        f"({len(bank.questions)} questions on {len(bank.pages)} pages)"
    )


@cli.command("load")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
def load(path: str) -> None:
    """Store a bank file as an immutable version rounds can pin."""
    try:
        row, created = load_bank_version(path)
        db.session.commit()
    except BankError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{'loaded' if created else 'already loaded'}: version {row.version}")
