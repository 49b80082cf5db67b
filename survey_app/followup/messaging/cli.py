"""``survey-app invitations send`` and ``survey-app followup sweep|reconcile``."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from survey_app.core.db import db

invitations_cli = click.Group("invitations", help="Invitations by e-mail, SMS and letter.")
followup_cli = click.Group("followup", help="Reminders and the outbox.")


@invitations_cli.command("send")
@click.option("--round", "round_code", required=True, help="Round code.")
@click.option(
    "--channel",
    type=click.Choice(["email", "sms", "letter"]),
    default=None,
    help="Only this channel (default: e-mail where the case has an address, else SMS).",
)
@with_appcontext
def send(round_code: str, channel: str | None) -> None:
    """Queue an invitation for every open case of the round not yet invited on the channel."""
    from survey_app.sampling.rounds import RoundError, get_round

    from .channels import email, sms
    from .invitations import create_invitations
    from .outbox import dispatch, dispatch_at
    from .reminders import ScheduleError

    try:
        rnd = get_round(round_code)
        run = create_invitations(rnd, channel, quiet_hours=True)
    except (RoundError, ScheduleError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    for case_id, ch, problem in run.problems[:20]:
        click.echo(f"case {case_id} ({ch}): {problem}", err=True)
    if len(run.problems) > 20:
        click.echo(f"... and {len(run.problems) - 20} more address problems", err=True)
    channels = {ch for _id, ch, _r in run.created}
    if "email" in channels and not email.configured():
        click.echo("warning: SURVEY_SMTP_HOST is not set; e-mails stay queued", err=True)
    if "sms" in channels and not sms.configured():
        click.echo("warning: Twilio is not configured; SMS stay queued", err=True)
    jobs = dispatch(run.created)
    skipped = ", ".join(f"{n} {why}" for why, n in sorted(run.skipped.items())) or "none"
    click.echo(
        f"round {rnd.code}: {len(run.created)} invitations queued in {jobs} jobs, "
        f"{run.reminders} reminders planned; skipped: {skipped}"
    )
    if run.held:
        dispatch_at(run.held, run.held_until)
        local = quiet_local(rnd, run.held_until)
        click.echo(
            f"quiet hours: {len(run.held)} invitations held, to be sent from {local} "
            f"(UTC {run.held_until:%Y-%m-%d %H:%M})"
        )


def quiet_local(rnd, when) -> str:
    """``when`` (naive UTC) in the round's time zone, for the operator."""
    from zoneinfo import ZoneInfo

    from .reminders import parse_rules

    zone = ZoneInfo(parse_rules(rnd.settings).timezone)
    local = when.replace(tzinfo=ZoneInfo("UTC")).astimezone(zone)
    return f"{local:%Y-%m-%d %H:%M} {zone.key}"


@followup_cli.command("sweep")
@with_appcontext
def sweep() -> None:
    """Act on due reminders now (the periodic job does this every few minutes)."""
    from .jobs import sweep_job

    counts = sweep_job()
    click.echo(", ".join(f"{k}: {v}" for k, v in counts.items()))


@followup_cli.command("reconcile")
@with_appcontext
def reconcile() -> None:
    """Re-enqueue outbox rows a crash or a lost queue left behind."""
    from .jobs import reconcile_job

    counts = reconcile_job()
    click.echo(", ".join(f"{k}: {v}" for k, v in counts.items()))


@followup_cli.command("bounce")
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False, allow_dash=True))
@with_appcontext
def bounce(files: tuple[str, ...]) -> None:
    """Take in bounce reports (RFC 3464 delivery status notifications), one message per FILE
    (standard input without FILE or with -), e.g. piped from the bounce mailbox's MTA.

    A permanent failure (5.x.x) fails the e-mail, suppresses the address and moves the case on
    to its next channel; a temporary one (4.x.x) is recorded only. Exits 1 if any input could
    not be used, naming the input and the problem.
    """
    from .bounces import BounceError, ingest

    bad = 0
    for name in files or ("-",):
        label = "stdin" if name == "-" else name
        with click.open_file(name, "rb") as handle:
            raw = handle.read()
        try:
            result = ingest(raw, "dsn-cli")
        except BounceError as exc:
            db.session.rollback()
            click.echo(f"{label}: {exc}", err=True)
            bad += 1
            continue
        db.session.commit()
        what = {
            "failed": "failed permanently; address suppressed, case moved on",
            "temporary": "temporary failure recorded",
            "success": "delivery report recorded",
        }[result.outcome]
        again = "" if result.applied or result.outcome != "failed" else " (already failed)"
        case = f" (case {result.case_id})" if result.case_id is not None else ""
        click.echo(
            f"{label}: message {result.message_id}{case} "
            f"{result.status} {result.action}: {what}{again}"
        )
    if bad:
        raise SystemExit(1)
