"""The partner import API: feed keys, delivering as oneself, CSV/JSON lines/gzip, batch status
and error reports for the key's own batches only, idempotent re-posts."""

from __future__ import annotations

import csv
import gzip
import io
import json
import logging

import pytest

from survey_app.core.db import db
from survey_app.partners.feed_keys import create_feed_key
from survey_app.partners.models import FeedKey
from survey_app.partners.services import add_organisation, ensure_star
from survey_app.sampling.models import ImportBatch, Posting

from .helpers import cvr

URL = "/api/v1/postings"
HEADER = (
    "source,source_posting_id,posted_on,job_title,cvr,company_name,municipality_code,"
    "contact_email,contact_phone"
)


def row(source: str, i: int, **over) -> dict:
    r = {
        "source": source,
        "source_posting_id": f"{source}-{i}",
        "posted_on": "2026-05-10",
        "job_title": "Tømrer",
        "cvr": cvr(i),
        "company_name": f"Firma {i} ApS",
        "municipality_code": "101",
        "contact_email": f"kontakt{i}@firma{i}.example",
        "contact_phone": f"+452012{i:04d}",
    }
    r.update(over)
    return r


def as_csv(rows: list[dict]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, HEADER.split(","), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


@pytest.fixture
def keys(ctx):
    ensure_star()
    portal = add_organisation("jobportalen", "Jobportalen")
    other = add_organisation("karrierenet", "KarriereNet")
    mine, theirs = create_feed_key(portal), create_feed_key(other)
    db.session.commit()
    return {"jobportalen": mine.secret, "karrierenet": theirs.secret, "ids": mine.key.id}


def auth(secret: str, **extra) -> dict:
    return {"Authorization": f"Bearer {secret}", **extra}


def post_csv(client, secret: str, body: bytes, **headers):
    return client.post(
        URL, data=body, headers=auth(secret, **{"Content-Type": "text/csv"}, **headers)
    )


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer fk_not-a-real-key"}, {"Authorization": "Basic abc"}],
    ids=["missing", "wrong", "not-bearer"],
)
def test_missing_or_wrong_key_is_401_json(client, keys, headers):
    r = client.post(URL, data=as_csv([row("jobportalen", 1)]), headers=headers)
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"].startswith("Bearer")
    assert r.get_json()["status"] == 401 and r.get_json()["error"]
    assert db.session.scalar(db.select(db.func.count(Posting.id))) == 0


def test_revoked_key_is_401(client, keys, runner):
    result = runner.invoke(args=["partners", "feed-key", "revoke", "--org", "jobportalen", "--all"])
    assert result.exit_code == 0, result.output
    r = post_csv(client, keys["jobportalen"], as_csv([row("jobportalen", 1)]))
    assert r.status_code == 401
    assert "revoked" in r.get_json()["error"]


def test_csv_delivery_counts_errors_and_refuses_another_source(client, keys):
    body = as_csv(
        [
            row("jobportalen", 1),
            row("", 2),  # no source: the key's organisation
            row("jobportalen", 3, cvr="12345678"),
            row("star", 4),  # delivering as STAR: refused
            row("jobportalen", 5, contact_email='=HYPERLINK("http://x")'),
        ]
    )
    r = post_csv(client, keys["jobportalen"], body, **{"X-Forwarded-For": "10.0.0.9"})
    assert r.status_code == 201, r.get_data(as_text=True)
    data = r.get_json()
    assert data["source"] == "jobportalen" and data["status"] == "done"
    assert data["counts"] == {
        "received": 5,
        "accepted": 2,
        "rejected": 3,
        "duplicates": 0,
        "inserted": 2,
        "updated": 0,
    }
    errors = {(e["row"], e["field"]): e for e in data["errors"]}
    assert errors[(4, "cvr")]["value"] == "12345678"
    assert "CVR check digit" in errors[(4, "cvr")]["reason"]
    assert errors[(5, "source")]["value"] == "star"
    assert "jobportalen" in errors[(5, "source")]["reason"]
    assert data["errors_url"] == f"http://survey.test{URL}/batches/{data['batch_id']}/errors.csv"
    sources = db.session.execute(
        db.select(Posting.source_posting_id, Posting.source_id).order_by(Posting.id)
    ).all()
    portal_id = db.session.get(ImportBatch, data["batch_id"]).source_id
    assert sorted(sources) == [("-2", portal_id), ("jobportalen-1", portal_id)]

    report = client.get(
        f"{URL}/batches/{data['batch_id']}/errors.csv", headers=auth(keys["jobportalen"])
    )
    assert report.status_code == 200 and report.mimetype == "text/csv"
    lines = list(csv.reader(io.StringIO(report.get_data(as_text=True))))
    assert lines[0] == ["row", "field", "value", "reason"]
    assert lines[2][:3] == ["5", "source", "star"]
    assert lines[3][:3] == ["6", "contact_email", '\'=HYPERLINK("http://x")']


def test_jsonl_gzip_delivery(client, keys):
    lines = [json.dumps(row("jobportalen", i)) for i in range(1, 4)]
    lines.append('{"source_posting_id": "broken"')
    body = gzip.compress(("\n".join(lines) + "\n").encode("utf-8"))
    r = client.post(
        URL,
        data=body,
        headers=auth(
            keys["jobportalen"],
            **{"Content-Type": "application/x-ndjson", "Content-Encoding": "gzip"},
        ),
    )
    assert r.status_code == 201, r.get_data(as_text=True)
    data = r.get_json()
    assert data["format"] == "jsonl"
    assert data["counts"]["received"] == 4 and data["counts"]["accepted"] == 3
    assert data["errors"][0]["row"] == 4 and data["errors"][0]["field"] == "_line"


def test_bad_gzip_binary_and_wrong_content_type(client, keys):
    secret = keys["jobportalen"]
    r = client.post(
        URL,
        data=b"not gzip at all",
        headers=auth(secret, **{"Content-Type": "text/csv", "Content-Encoding": "gzip"}),
    )
    assert r.status_code == 400 and "gzip" in r.get_json()["error"]
    r = post_csv(client, secret, b"\x00\x01\x02binary")
    assert r.status_code == 422 and "binary" in r.get_json()["error"]
    failed = db.session.get(ImportBatch, r.get_json()["batch_id"])
    assert failed.status == "failed" and failed.channel == "api"
    r = client.post(URL, data=b"x", headers=auth(secret, **{"Content-Type": "application/pdf"}))
    assert r.status_code == 415
    assert db.session.scalar(db.select(db.func.count(Posting.id))) == 0


def test_batches_are_visible_to_their_own_organisation_only(client, keys):
    r = post_csv(client, keys["jobportalen"], as_csv([row("jobportalen", 1), row("star", 2)]))
    batch_id = r.get_json()["batch_id"]
    mine = client.get(f"{URL}/batches/{batch_id}", headers=auth(keys["jobportalen"]))
    assert mine.status_code == 200 and mine.get_json()["counts"]["rejected"] == 1
    for path in (f"{URL}/batches/{batch_id}", f"{URL}/batches/{batch_id}/errors.csv"):
        other = client.get(path, headers=auth(keys["karrierenet"]))
        assert other.status_code == 404 and other.mimetype == "application/json"
        assert client.get(path).status_code == 401


def test_re_posting_the_same_file_is_idempotent(client, keys):
    body = as_csv([row("jobportalen", i) for i in range(1, 6)])
    first = post_csv(client, keys["jobportalen"], body).get_json()
    before = db.session.execute(
        db.select(Posting.id, Posting.source_posting_id, Posting.contact_email).order_by(Posting.id)
    ).all()
    second = post_csv(client, keys["jobportalen"], body).get_json()
    assert first["counts"]["inserted"] == 5 and second["counts"]["inserted"] == 0
    assert second["counts"]["updated"] == 5 and second["batch_id"] != first["batch_id"]
    db.session.expire_all()
    after = db.session.execute(
        db.select(Posting.id, Posting.source_posting_id, Posting.contact_email).order_by(Posting.id)
    ).all()
    assert before == after


def test_calls_are_logged_without_the_key(client, keys, caplog):
    caplog.set_level(logging.INFO, logger="survey_app.api")
    post_csv(client, keys["jobportalen"], as_csv([row("jobportalen", 1)]))
    client.post(URL, data=b"x", headers=auth("fk_wrong"))
    messages = [r.getMessage() for r in caplog.records if r.name == "survey_app.api"]
    assert any(
        "org=jobportalen" in m and "ip=127.0.0.1" in m and "POST /api/v1/postings" in m
        for m in messages
    )
    assert any("org=-" in m and "status=401" in m for m in messages)
    assert not any(keys["jobportalen"] in m or "fk_wrong" in m for m in messages)


def test_feed_key_cli_prints_the_key_once_and_stores_its_hash(runner, keys):
    result = runner.invoke(
        args=["partners", "feed-key", "create", "--org", "karrierenet", "--label", "nightly"]
    )
    assert result.exit_code == 0, result.output
    secret = next(line for line in result.output.splitlines() if line.startswith("fk_"))
    assert len(secret) >= 40
    listing = runner.invoke(args=["partners", "feed-key", "list", "--org", "karrierenet"])
    assert secret not in listing.output and "nightly" in listing.output
    assert listing.output.count("active") == 2
    stored = db.session.scalars(db.select(FeedKey.key_hash)).all()
    assert secret not in stored and all(len(h) == 64 for h in stored)
    bad = runner.invoke(args=["partners", "feed-key", "revoke", "--org", "karrierenet"])
    assert bad.exit_code != 0
    unknown = runner.invoke(args=["partners", "feed-key", "create", "--org", "nope"])
    assert unknown.exit_code != 0 and "unknown source" in unknown.output
