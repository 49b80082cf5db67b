from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import with_appcontext

from survey_app.core import audit
from survey_app.core.db import db
from survey_app.sampling.rounds import RoundError, get_round

from .export import Dataset, write_csv
from .formats import FORMATS, write


@click.command("export")
@click.option("--round", "round_code", required=True)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="csv", show_default=True)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False),
    default=None,
    help="File to write (default for csv: standard output; required for the other formats).",
)
@with_appcontext
def export(round_code: str, fmt: str, output: str | None) -> None:
    """Export a round's dataset: one row per case with its provenance and answers.

    Formats: csv, parquet, sav (SPSS), dta (Stata) and bundle (a ZIP with every format and the
    codebook in JSON and Markdown).
    """
    try:
        rnd = get_round(round_code)
    except RoundError as exc:
        raise click.ClickException(str(exc)) from exc
    if fmt != "csv" and not output:
        raise click.ClickException(f"--output is required for --format {fmt}")
    if fmt == "csv" and not output:
        count = write_csv(rnd, sys.stdout)
    else:
        count = write(Dataset(rnd), fmt, Path(output))
    rnd = get_round(round_code)
    audit.record("export.created", "round", rnd.id, actor_label="cli", format=fmt, rows=count)
    db.session.commit()
    if output:
        click.echo(f"wrote {count} cases of round {round_code} to {output} ({fmt})")


@click.group("stats")
def stats_cli() -> None:
    """STAR's dataset and statistics."""


@stats_cli.command("push")
@click.option("--limit", type=int, default=500, show_default=True, help="Deliveries to send.")
@click.option("--sweep-only", is_flag=True, help="Only write deliveries; send nothing.")
@click.option("--queue", "use_queue", is_flag=True, help="Send through the exports queue.")
@with_appcontext
def push(limit: int, sweep_only: bool, use_queue: bool) -> None:
    """Push completed responses to STAR's webhook (run it periodically, e.g. every minute).

    Writes a delivery for every completed response without one, then sends the due ones.
    """
    from survey_app.core.queue import enqueue

    from .delivery import WebhookNotConfigured, send_due, sweep

    created = sweep()
    db.session.commit()
    click.echo(f"{created} new deliveries")
    if sweep_only:
        return
    if use_queue:
        enqueue("exports", "survey_app.stats.jobs.push_deliveries", limit)
        click.echo("sending queued")
        return
    try:
        counts = send_due(limit=limit)
    except WebhookNotConfigured as exc:
        raise click.ClickException(str(exc)) from exc
    summary = ", ".join(f"{n} {state}" for state, n in sorted(counts.items())) or "nothing due"
    click.echo(summary)


@stats_cli.command("publish")
@click.option("--round", "round_codes", multiple=True, required=True, help="Round code (repeat).")
@click.option("--period", default=None, help="e.g. 2026Q2 or 2026H1 (default: the rounds' period).")
@with_appcontext
def publish(round_codes: tuple[str, ...], period: str | None) -> None:
    """Freeze a release: weights, estimates with 95 % CIs and disclosure control."""
    from .releases import PublishError
    from .releases import publish as publish_release

    try:
        release = publish_release(list(round_codes), period)
    except PublishError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    click.echo(
        f"release {release.id}: period {release.period} "
        f"({release.window_start}..{release.window_end}), rounds {', '.join(release.rounds)}, "
        f"{release.n_respondents} of {release.n_sampled} cases responded"
    )


@stats_cli.command("releases")
@with_appcontext
def releases() -> None:
    """List the published releases, newest first."""
    from .api_models import Release

    for r in db.session.scalars(db.select(Release).order_by(Release.id.desc())):
        click.echo(
            f"{r.id}\t{r.period}\t{r.created_at:%Y-%m-%d %H:%M}\t{','.join(r.rounds)}\t"
            f"{r.n_respondents}/{r.n_sampled}"
        )


@click.group("api-keys")
def api_keys_cli() -> None:
    """Keys for the statistics API (one contact person per organisation)."""


@api_keys_cli.command("create")
@click.option("--org", required=True, help="The organisation's name.")
@click.option("--contact", required=True, help="The contact person's e-mail address.")
@click.option("--contact-name", default=None, help="The contact person's name.")
@click.option(
    "--sole-proprietorship",
    is_flag=True,
    help="The organisation's name is a person's: anonymised when the access is removed.",
)
@with_appcontext
def api_key_create(
    org: str, contact: str, contact_name: str | None, sole_proprietorship: bool
) -> None:
    """Create a key; it is printed once and stored only as a hash."""
    from .api.keys import KeyError_, create_key

    try:
        key, row = create_key(org, contact, contact_name)
    except KeyError_ as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from exc
    if sole_proprietorship:
        row.client.sole_proprietorship = True
    db.session.commit()
    click.echo(f"key {row.id} for {org} ({contact}); shown once, store it now:")
    click.echo(key)


@api_keys_cli.command("revoke")
@click.argument("key")
@with_appcontext
def api_key_revoke(key: str) -> None:
    """Revoke a key, named by its id or its displayed prefix."""
    from .api.keys import KeyError_, revoke

    try:
        row = revoke(key)
    except KeyError_ as exc:
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    click.echo(f"key {row.id} ({row.prefix}…) revoked at {row.revoked_at:%Y-%m-%d %H:%M} UTC")


@api_keys_cli.command("list")
@with_appcontext
def api_key_list() -> None:
    """Every key with its organisation, contact, state and last use."""
    from .api_models import ApiClient, ApiKey

    rows = db.session.execute(
        db.select(ApiKey, ApiClient).join(ApiClient).order_by(ApiClient.organisation, ApiKey.id)
    )
    for key, client in rows:
        state = f"revoked {key.revoked_at:%Y-%m-%d}" if key.revoked_at else "active"
        used = f"{client.last_used_at:%Y-%m-%d %H:%M}" if client.last_used_at else "never"
        click.echo(
            f"{key.id}\t{key.prefix}…\t{client.organisation}\t{client.contact_email}\t{state}\t"
            f"created {key.created_at:%Y-%m-%d}\tlast used {used}"
        )
