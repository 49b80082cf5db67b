from __future__ import annotations

import click
from flask.cli import AppGroup

from survey_app.core.db import db
from survey_app.partners.services import PartnerError

from .models import ROLES
from .services import UserError, add_user, find_by_email, reset_second_factor, set_active

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


def _user(email: str):
    user = find_by_email(email)
    if user is None:
        raise click.ClickException(f"no staff user with e-mail {email}")
    return user


@cli.command("disable")
@click.argument("email")
def disable(email: str) -> None:
    """Disable EMAIL and end every session of it at once."""
    user = _user(email)
    set_active(user, False, actor_label="cli")
    db.session.commit()
    click.echo(f"disabled {user.email}; its sessions are ended")


@cli.command("enable")
@click.argument("email")
def enable(email: str) -> None:
    """Enable EMAIL again."""
    user = _user(email)
    set_active(user, True, actor_label="cli")
    db.session.commit()
    click.echo(f"enabled {user.email}")


@cli.command("reset-totp")
@click.argument("email")
def reset_totp(email: str) -> None:
    """Forget EMAIL's second factor (lost phone and recovery codes); it enrols at next login."""
    user = _user(email)
    reset_second_factor(user, actor_label="cli")
    db.session.commit()
    click.echo(f"the second factor of {user.email} is reset; it is set up again at the next login")
