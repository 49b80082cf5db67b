"""``survey-app privacy retention [--dry-run]``: run the retention rules and print the report."""

from __future__ import annotations

import click
from flask.cli import with_appcontext


@click.group("privacy")
def privacy_cli() -> None:
    """Personal data: retention."""


@privacy_cli.command("retention")
@click.option("--dry-run", is_flag=True, help="Report what would change; change nothing.")
@with_appcontext
def retention_command(dry_run: bool) -> None:
    """Apply every retention rule (or report what it would do) and print the report."""
    from survey_app.core import audit
    from survey_app.core.db import db

    from .retention import format_report, run

    row = run(dry_run=dry_run, trigger="cli")
    audit.record(
        "privacy.retention_dry_run" if dry_run else "privacy.retention_run",
        "retention_run",
        row.id,
        actor_label="cli",
        affected=row.affected,
    )
    db.session.commit()
    click.echo(format_report(row))
    if row.status == "failed":
        raise SystemExit(1)
