from __future__ import annotations

import click
from flask.cli import AppGroup

from survey_app.core.db import db
from survey_app.partners.services import PartnerError

from .models import ROLES
from .services import UserError, add_user

cli = AppGroup("users", help="Staff accounts.")


@cli.command("add")
@click.argument("email")
@click.option("--role", required=True, type=click.Choice(sorted(ROLES)))
@click.option("--org", "org_code", default=None, help="Organisation code (partner operators).")
@click.option("--password", default=None, help="Password; generated and printed if omitted.")
def add(email: str, role: str, org_code: str | None, password: str | None) -> None:
    """Create a staff user EMAIL with ROLE."""
    try:
        user, pw = add_user(email, role, org_code, password)
        db.session.commit()
    except (UserError, PartnerError) as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from exc
    click.echo(f"added {user.email} as {user.role_label}")
    if password is None:
        click.echo(f"password: {pw}")
