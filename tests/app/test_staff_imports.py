"""STAR's operator lists the import batches and downloads each batch's row errors as a
formula-safe CSV; a partner operator sees its own organisation's batches only."""

from __future__ import annotations

import csv
import io

import pytest

from survey_app.auth.services import add_user
from survey_app.core.audit import AuditEvent
from survey_app.core.db import db
from survey_app.partners.services import add_organisation, ensure_star, require_organisation
from survey_app.sampling.importer import import_postings

from .helpers import HEADER, feed_csv, staff_login

PASSWORD = "a-long-test-password-1"


def deliver(source: str, extra_rows: list[str]) -> int:
    body = feed_csv(source, 3).decode("utf-8") + "".join(line + "\n" for line in extra_rows)
    result = import_postings(
        io.BytesIO(body.encode("utf-8")), require_organisation(source), f"{source}.csv", "csv"
    )
    db.session.commit()
    return result.batch_id


@pytest.fixture
def batches(ctx):
    ensure_star()
    add_organisation("jobportalen", "Jobportalen")
    bad_cvr = "star,star-9,2026-05-10,Tømrer,12345678,,Firma,101,1,K,k@firma.example,"
    formula = 'star,star-8,2026-05-10,Kok,=cmd|calc,,Firma,101,1,K,"@SUM(A1)",'
    star_batch = deliver("star", [bad_cvr, formula])
    portal_batch = deliver(
        "jobportalen",
        ["jobportalen,jp-9,2026-13-01,Kok,12345678,,Firma,101,1,K,k@firma.example,"],
    )
    add_user("analyst@star.example", "analyst", None, PASSWORD)
    add_user("op@jobportalen.example", "partner_operator", "jobportalen", PASSWORD)
    add_user("agent@callcentre.example", "agent", None, PASSWORD)
    db.session.commit()
    return {"star": star_batch, "jobportalen": portal_batch}


def test_header_matches_the_feed_helper():
    assert HEADER.startswith("source,source_posting_id")


def test_analyst_sees_all_batches_and_a_formula_safe_error_csv(app, batches):
    client = app.test_client()
    staff_login(client, "analyst@star.example", PASSWORD)
    html = client.get("/staff/imports").get_data(as_text=True)
    for batch_id in batches.values():
        assert f"/staff/imports/{batch_id}/errors.csv" in html
    assert require_organisation("star").name in html and "Jobportalen" in html
    detail = client.get(f"/staff/imports/{batches['star']}").get_data(as_text=True)
    assert "CVR check digit does not match" in detail and "12345678" in detail
    r = client.get(f"/staff/imports/{batches['star']}/errors.csv")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    assert "attachment" in r.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(r.get_data(as_text=True))))
    assert rows[0] == ["row", "field", "value", "reason"]
    assert rows[1][:3] == ["5", "cvr", "12345678"]
    values = {(row[0], row[1]): row[2] for row in rows[1:]}
    assert values[("6", "cvr")] == "'=cmd|calc"
    assert values[("6", "contact_email")] == "'@SUM(A1)"
    # the rejected values can be personal: the download is in the audit log with its reader
    event = db.session.scalars(
        db.select(AuditEvent).filter_by(action="imports.errors_downloaded")
    ).one()
    assert event.actor_label == "analyst@star.example"
    assert event.object_id == str(batches["star"])


def test_partner_operator_sees_its_own_batches_only(app, batches):
    client = app.test_client()
    staff_login(client, "op@jobportalen.example", PASSWORD)
    html = client.get("/staff/imports").get_data(as_text=True)
    assert f"/staff/imports/{batches['jobportalen']}/errors.csv" in html
    assert f'href="/staff/imports/{batches["star"]}"' not in html
    assert client.get(f"/staff/imports/{batches['jobportalen']}/errors.csv").status_code == 200
    assert client.get(f"/staff/imports/{batches['star']}").status_code == 403
    assert client.get(f"/staff/imports/{batches['star']}/errors.csv").status_code == 403
    agent = app.test_client()
    staff_login(agent, "agent@callcentre.example", PASSWORD)
    assert agent.get("/staff/imports").status_code == 403
    assert app.test_client().get("/staff/imports").status_code == 302


@pytest.mark.browser
def test_error_report_downloads_in_chromium(batches, live_server, page, tmp_path):
    page.goto(f"{live_server}/login")
    page.locator("input[name=email]").fill("analyst@star.example")
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("#login").click()
    page.goto(f"{live_server}/staff/imports")
    page.locator(f'a[href="/staff/imports/{batches["star"]}"]').click()
    assert page.locator("#row-errors").get_by_text("CVR check digit does not match").count() == 1
    with page.expect_download() as info:
        page.locator("#errors-csv").click()
    target = tmp_path / info.value.suggested_filename
    info.value.save_as(target)
    assert target.name == f"import-{batches['star']}-errors.csv"
    rows = list(csv.reader(target.open(encoding="utf-8")))
    assert rows[0] == ["row", "field", "value", "reason"] and len(rows) == 4
