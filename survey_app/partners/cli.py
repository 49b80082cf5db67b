from __future__ import annotations

import click
from flask.cli import AppGroup

from survey_app.core.db import db

from .feed_keys_cli import feed_key_cli
from .models import Organisation
from .services import PartnerError, add_organisation, ensure_star

cli = AppGroup("partners", help="Partner job databases and their brands.")
cli.add_command(feed_key_cli)


@cli.command("add")
@click.argument("code")
@click.option("--name", required=True, help="Display name of the job database.")
@click.option("--contact-email", default=None, help="The organisation's contact person.")
def add(code: str, name: str, contact_email: str | None) -> None:
    """Register a job database CODE with its default brand."""
    try:
        ensure_star()
        org = add_organisation(code, name, contact_email=contact_email)
        db.session.commit()
    except PartnerError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from exc
    click.echo(f"added {org.code} ({org.name}) with brand {org.default_brand.code}")


@cli.command("list")
def list_() -> None:
    """List organisations and their brands."""
    for org in db.session.scalars(db.select(Organisation).order_by(Organisation.code)):
        brands = ", ".join(b.code for b in org.brands)
        click.echo(f"{org.code:<16} {org.kind:<13} {org.name}  [brands: {brands}]")
