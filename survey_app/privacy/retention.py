"""Running the retention rules: all of them, for real or as a dry run, each run recorded.

Each rule runs in its own transaction: a dry run is rolled back whatever the rule did (rules
change nothing in a dry run anyway; the rollback makes sure), a real run is committed. A rule
that fails is rolled back and reported, and the other rules still run. The run and its per-rule
reports are stored in ``privacy_retention_runs`` / ``privacy_retention_reports``.

The job is periodic (``privacy-retention``, daily) on the ``maintenance`` queue; the CLI is
``survey-app privacy retention [--dry-run]``; administrators see the runs at ``/staff/privacy``.
"""

from __future__ import annotations

import logging
from datetime import datetime

from flask_babel import lazy_gettext as _l

from survey_app.core import periodic
from survey_app.core.db import db, utcnow
from survey_app.core.jobs import app_job
from survey_app.core.personal_data import RetentionReport, register_table, rules

from .models import RetentionRuleReport, RetentionRun

log = logging.getLogger(__name__)

DAY = 24 * 3600
periodic.register("privacy-retention", f"{__name__}.retention_job", DAY)

register_table(
    "privacy_retention_runs",
    (),
    _l("Each retention run (dry or real): when, by whom, how it ended."),
    _l("Kept as the record that the rules ran."),
    "privacy",
)
register_table(
    "privacy_retention_reports",
    (),
    _l("Each rule's report in a run: counts and row ids, never personal data."),
    _l("Kept with the run."),
    "privacy",
)


def run(
    dry_run: bool,
    trigger: str = "cli",
    actor_id: int | None = None,
    now: datetime | None = None,
) -> RetentionRun:
    """Apply every registered rule as of ``now``; returns the stored run."""
    now = now or utcnow()
    db.session.commit()  # the rules' transactions must not carry the caller's changes
    results: list[tuple[str, RetentionReport | None, str | None]] = []
    for name, rule in sorted(rules().items()):
        try:
            report = rule.apply(now, dry_run)
        except Exception as exc:  # one broken rule must not stop the others
            db.session.rollback()
            log.exception("retention rule %s failed", name)
            results.append((name, None, f"{type(exc).__name__}: {exc}"[:2000]))
            continue
        if dry_run:
            db.session.rollback()
        else:
            db.session.commit()
        results.append((name, report, None))
    row = RetentionRun(
        dry_run=dry_run,
        trigger=trigger,
        actor_id=actor_id,
        as_of=now,
        started_at=now,
        finished_at=utcnow(),
        status="failed" if any(err for _n, _r, err in results) else "done",
    )
    for name, report, error in results:
        row.reports.append(
            RetentionRuleReport(
                rule=name,
                affected=report.affected if report else 0,
                notified=report.notified if report else 0,
                details=dict(report.details) if report else {},
                sample=list(report.sample[:10]) if report else [],
                error=error,
            )
        )
    db.session.add(row)
    db.session.commit()
    return row


def format_report(row: RetentionRun) -> str:
    """The run as plain text, one line per rule."""
    kind = "dry run (nothing changed)" if row.dry_run else "run"
    lines = [f"retention {kind} #{row.id} as of {row.as_of:%Y-%m-%d %H:%M} UTC: {row.status}"]
    for r in row.reports:
        if r.error:
            lines.append(f"  {r.rule:<26} FAILED {r.error}")
            continue
        extra = ", ".join(f"{k} {v}" for k, v in sorted((r.details or {}).items()))
        notified = f", notified {r.notified}" if r.notified else ""
        line = f"  {r.rule:<26} affected {r.affected}{notified}"
        lines.append(line + (f" ({extra})" if extra else ""))
    return "\n".join(lines)


@app_job
def retention_job() -> int:
    row = run(dry_run=False, trigger="periodic")
    log.info("%s", format_report(row))
    return row.id
