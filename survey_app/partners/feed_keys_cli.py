"""``survey-app partners feed-key create|revoke|list --org CODE``."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from survey_app.core.db import db

from .feed_keys import FeedKeyError, create_feed_key, list_feed_keys, revoke_feed_keys
from .services import PartnerError, require_organisation

feed_key_cli = AppGroup("feed-key", help="Keys partners use to deliver postings over HTTP.")

org_option = click.option("--org", "org_code", required=True, help="The organisation's code.")


def _org(code: str):
    try:
        return require_organisation(code)
    except PartnerError as exc:
        raise click.ClickException(str(exc)) from exc


@feed_key_cli.command("create")
@org_option
@click.option("--label", default=None, help="A note on what the key is for.")
def create(org_code: str, label: str | None) -> None:
    """Create a feed key for ORG and print it (once: only its hash is kept)."""
    org = _org(org_code)
    new = create_feed_key(org, label)
    db.session.commit()
    click.echo(f"feed key {new.key.id} for {org.code} (prefix {new.key.prefix}):")
    click.echo(new.secret)
    click.echo(
        "Store it now: it is not shown again. Send it as 'Authorization: Bearer <key>'.",
        err=True,
    )


@feed_key_cli.command("revoke")
@org_option
@click.option("--id", "key_id", type=int, default=None, help="The key to revoke.")
@click.option("--all", "revoke_all", is_flag=True, help="Revoke every active key of ORG.")
def revoke(org_code: str, key_id: int | None, revoke_all: bool) -> None:
    """Revoke a feed key of ORG (--id N) or all of them (--all)."""
    if (key_id is None) == (not revoke_all):
        raise click.UsageError("give either --id N or --all")
    org = _org(org_code)
    try:
        keys = revoke_feed_keys(org, key_id)
    except FeedKeyError as exc:
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    click.echo(f"revoked {len(keys)} feed key(s) of {org.code}")


@feed_key_cli.command("list")
@org_option
def list_(org_code: str) -> None:
    """List the feed keys of ORG (never the keys themselves)."""
    org = _org(org_code)
    keys = list_feed_keys(org)
    if not keys:
        click.echo(f"{org.code} has no feed keys")
    for k in keys:
        state = f"revoked {k.revoked_at:%Y-%m-%d %H:%M}" if k.revoked_at else "active"
        used = f"last used {k.last_used_at:%Y-%m-%d %H:%M}" if k.last_used_at else "never used"
        click.echo(
            f"{k.id:>5}  {k.prefix}…  created {k.created_at:%Y-%m-%d %H:%M}  {used}  {state}"
            f"  {k.label or ''}".rstrip()
        )
