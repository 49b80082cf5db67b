"""``survey-app``: Flask's command group with the service's own commands added."""

from __future__ import annotations

import click
from flask.cli import FlaskGroup


def register_commands(app) -> None:
    from .auth.cli import cli as users_cli
    from .core.worker import worker
    from .demo import demo
    from .followup.callcentre.cli import cli as calls_cli
    from .followup.messaging.cli import followup_cli, invitations_cli
    from .partners.cli import cli as partners_cli
    from .privacy.retention_cli import privacy_cli
    from .questionnaire.cli import cli as bank_cli
    from .sampling.cli import postings_cli, rounds_cli, sample_cli
    from .stats.cli import api_keys_cli, export, stats_cli

    for command in (
        partners_cli,
        users_cli,
        bank_cli,
        postings_cli,
        rounds_cli,
        sample_cli,
        export,
        stats_cli,
        api_keys_cli,
        worker,
        demo,
        invitations_cli,
        followup_cli,
        calls_cli,
        privacy_cli,
    ):
        app.cli.add_command(command)


def _create(*_args, **_kwargs):
    from . import create_app

    return create_app()


@click.group(cls=FlaskGroup, create_app=_create)
def main() -> None:
    """The fielding service for STAR's recruitment survey."""
