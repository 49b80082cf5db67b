"""The database handle shared by every feature module, with stable constraint names."""

from __future__ import annotations

from datetime import UTC, datetime

from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

db = SQLAlchemy(metadata=MetaData(naming_convention=NAMING))
migrate = Migrate()


def utcnow() -> datetime:
    """Naive UTC: every timestamp column stores UTC without an offset, on SQLite and PostgreSQL."""
    return datetime.now(UTC).replace(tzinfo=None)


def upsert(model, rows: list[dict], index_elements: list[str], update: list[str]) -> None:
    """INSERT ... ON CONFLICT (index_elements) DO UPDATE SET update, on PostgreSQL and SQLite."""
    if not rows:
        return
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:  # pragma: no cover - only the two supported engines
        raise RuntimeError(f"upsert is not implemented for {dialect}")
    # executemany with one cached statement: SQLAlchemy batches it into multi-row VALUES
    # ("insertmanyvalues") without compiling a statement per row count.
    stmt = insert(model.__table__)
    if update:
        stmt = stmt.on_conflict_do_update(
            index_elements=index_elements, set_={c: stmt.excluded[c] for c in update}
        )
    else:
        stmt = stmt.on_conflict_do_nothing(index_elements=index_elements)
    db.session.execute(stmt, rows)
