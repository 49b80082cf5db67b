"""``survey-app calls``: build a round's call list, list what is due."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from survey_app.core.db import db, utcnow
from survey_app.sampling.rounds import RoundError, get_round

from . import calllist, dispositions
from .models import CallListItem
from .settings import CallSettingsError


@click.group("calls")
def cli() -> None:
    """The call centre's call list."""


@cli.command("build")
@click.option("--round", "round_code", required=True, help="Round code.")
@click.option(
    "--after-days",
    type=click.IntRange(min=0),
    default=None,
    help="Enter cases without a phone hand-over this many days after sampling "
    "(overrides the round's calls.after_days for this build).",
)
@with_appcontext
def build(round_code: str, after_days: int | None) -> None:
    """Enter the round's cases due for phone follow-up and re-plan the whole list."""
    try:
        rnd = get_round(round_code)
        counts = calllist.build(rnd, after_days=after_days)
    except (RoundError, CallSettingsError) as exc:
        raise click.ClickException(str(exc)) from None
    dispositions.refresh_stale(rnd.id)
    db.session.commit()
    if counts.get("disabled"):
        click.echo(f"round {rnd.code}: the call centre does not field it (calls.enabled is off)")
        return
    click.echo(
        f"round {rnd.code}: {counts.get('open', 0)} on the list "
        f"({counts.get('due_now', 0)} due now), {counts.get('done', 0)} done"
    )


@cli.command("list")
@click.option("--round", "round_code", required=True, help="Round code.")
@click.option("--limit", default=20, show_default=True)
@with_appcontext
def list_due(round_code: str, limit: int) -> None:
    """The next cases due, best first."""
    try:
        rnd = get_round(round_code)
    except RoundError as exc:
        raise click.ClickException(str(exc)) from None
    now = utcnow()
    rows = db.session.scalars(
        db.select(CallListItem)
        .where(CallListItem.round_id == rnd.id, CallListItem.state == "open")
        .order_by(CallListItem.due_at, CallListItem.priority, CallListItem.case_id)
        .limit(limit)
    )
    for item in rows:
        due = "now" if item.due_at <= now else f"{item.due_at:%Y-%m-%d %H:%M} UTC"
        click.echo(f"case {item.case_id:>7}  priority {item.priority}  {due:<20}  {item.reason}")
