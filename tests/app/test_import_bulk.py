"""A large load on PostgreSQL drops the secondary indexes and foreign keys of postings and
production_units inside the import's transaction and builds them again: the stored rows are those
of the other paths, the schema is whole afterwards, and a failed load leaves both untouched."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import text

from survey_app.core.db import db
from survey_app.partners.services import add_organisation, ensure_star
from survey_app.sampling.importer import import_postings
from survey_app.sampling.models import Posting

from .test_import_paths import feed, run

pytestmark = pytest.mark.postgres_only


def schema() -> set[tuple[str, str]]:
    rows = db.session.execute(
        text(
            "SELECT 'index', indexdef FROM pg_indexes"
            " WHERE tablename IN ('postings', 'production_units')"
            " UNION SELECT 'constraint', pg_get_constraintdef(oid) || ' ' || conname"
            " FROM pg_constraint"
            " WHERE conrelid IN ('postings'::regclass, 'production_units'::regclass)"
        )
    )
    return {(kind, definition) for kind, definition in rows}


def test_bulk_load_stores_the_same_rows_and_rebuilds_the_schema(app, monkeypatch):
    from survey_app.sampling.pg_store import PgStore
    from tests.conftest import _clean

    rebuilt = []
    rebuild = PgStore._rebuild
    monkeypatch.setattr(
        PgStore, "_rebuild", lambda self, ddl: rebuilt.append(len(ddl)) or rebuild(self, ddl)
    )

    with app.app_context():
        before = schema()
        assert any("ix_postings_company_id" in d for _k, d in before)
        assert any("fk_postings_company_id_companies" in d for _k, d in before)
        assert any("fk_production_units_company_id_companies" in d for _k, d in before)
    app.config["IMPORT_BULK_ROWS"] = 1
    try:
        with app.app_context():
            bulk, bulk_counts = run("copy")
            assert schema() == before
    finally:
        app.config.pop("IMPORT_BULK_ROWS")
    # both deliveries: postings' 7 indexes and 4 foreign keys, P-units' 1 and 1
    assert rebuilt == [13, 13]
    _clean(app)
    with app.app_context():
        plain, plain_counts = run("executemany")
    assert bulk_counts == plain_counts
    assert bulk == plain


def test_a_failed_bulk_load_changes_nothing(app, monkeypatch):
    from survey_app.sampling import importer

    def fail(_touched):
        raise RuntimeError("the merge failed")

    monkeypatch.setattr(importer, "merge_duplicates", fail)
    app.config["IMPORT_BULK_ROWS"] = 1
    try:
        with app.app_context():
            ensure_star()
            partner = add_organisation("jobportalen", "Jobportalen")
            db.session.commit()
            before = schema()
            with pytest.raises(RuntimeError, match="merge failed"):
                import_postings(io.BytesIO(feed(1)), partner, "f.csv", "csv", method="copy")
            db.session.rollback()
            assert schema() == before
            assert db.session.scalar(db.select(db.func.count(Posting.id))) == 0
    finally:
        app.config.pop("IMPORT_BULK_ROWS")
