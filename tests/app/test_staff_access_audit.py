"""The audit log viewer: filters, pages, a formula-safe CSV export that is itself audited."""

from __future__ import annotations

import csv
import io
from datetime import datetime

import pytest

from survey_app.auth.services import add_user
from survey_app.core.audit import AuditEvent
from survey_app.core.db import db
from survey_app.partners.services import ensure_star

from .helpers import staff_login

PASSWORD = "a-long-staff-password-1"


@pytest.fixture
def log(ctx):
    ensure_star()
    add_user("admin@star.example", "admin", None, PASSWORD)
    add_user("analyst@star.example", "analyst", None, PASSWORD)
    for i in range(120):
        db.session.add(
            AuditEvent(
                at=datetime(2026, 3, 1 + i % 28, 12, 0),
                actor_label="cli" if i % 2 else '=HYPERLINK("http://x")',
                action="case.viewed" if i % 3 else "export.created",
                object_type="case",
                object_id=str(i),
                details={"note": "+45 12345678" if i == 7 else "ok"},
            )
        )
    db.session.commit()


def test_only_administrators_see_the_audit_log(app, log):
    analyst = app.test_client()
    staff_login(analyst, "analyst@star.example", PASSWORD)
    assert analyst.get("/staff/audit").status_code == 403
    assert analyst.get("/staff/audit.csv").status_code == 403
    assert app.test_client().get("/staff/audit").status_code == 302


def test_filters_and_pages(app, log):
    admin = app.test_client()
    staff_login(admin, "admin@star.example", PASSWORD)
    html = admin.get("/staff/audit?action=export.created").get_data(as_text=True)
    assert "40 hændelser" in html or "40 events" in html
    assert html.count("<td>export.created</td>") == 40
    r = admin.get("/staff/audit?action=case.&date_from=2026-03-01&date_to=2026-03-02")
    html = r.get_data(as_text=True)
    # days 1 and 2 of March: i % 28 in (0, 1) -> i in 0,1,28,29,56,57,84,85,112,113; not i % 3 == 0
    expected = [i for i in range(120) if i % 28 in (0, 1) and i % 3]
    assert html.count("<td>case.viewed</td>") == len(expected)
    html = admin.get("/staff/audit?object_type=case&object_id=7").get_data(as_text=True)
    assert html.count("<td>case.viewed</td>") == 1
    html = admin.get("/staff/audit?actor=cli").get_data(as_text=True)
    first_page = html.count("<td>cli")
    assert first_page == 50 and 'rel="next"' in html
    html = admin.get("/staff/audit?actor=cli&page=2").get_data(as_text=True)
    # 60 seeded events + the set-up's own (organisation.added, 2 x user.added) by "cli"
    assert html.count("<td>cli") == 13 and 'rel="prev"' in html and 'rel="next"' not in html
    r = admin.get("/staff/audit?date_from=2026-13-01")
    assert r.status_code == 400 and "date_from" in r.get_data(as_text=True)


def test_csv_export_is_formula_safe_and_audited(app, log):
    admin = app.test_client()
    staff_login(admin, "admin@star.example", PASSWORD)
    r = admin.get("/staff/audit.csv?object_type=case")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(r.get_data(as_text=True))))
    assert len(rows) == 120
    assert {row["actor"] for row in rows} == {"cli", '\'=HYPERLINK("http://x")'}
    assert next(row for row in rows if row["object_id"] == "7")["details"] == (
        '{"note": "+45 12345678"}'
    )
    event = db.session.scalars(db.select(AuditEvent).filter_by(action="audit.exported")).one()
    assert event.details == {"filters": {"object_type": "case"}, "rows": 120}
    assert event.actor_label == "admin@star.example"
    assert admin.get("/staff/audit.csv?date_to=yesterday").status_code == 400
