"""The database handle shared by every feature module, with stable constraint names."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError

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


def ping_after_idle(engine: Engine, seconds: float) -> None:
    """Check a pooled connection before it is handed out, but only when it has sat in the pool
    for ``seconds`` or more; a broken one is replaced before the request sees it.

    This is SQLAlchemy's pessimistic disconnect check (``pool_pre_ping``) without its round trip
    on every checkout: under load a connection goes back into use within milliseconds, and a
    ping per request was a sixth of a page save's round trips. A connection that breaks while in
    steady use fails its request with the 503 of ``core.errors`` and is replaced for the retry.
    """

    @event.listens_for(engine, "checkin")
    def _idle_from(_dbapi_connection, record) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _check(dbapi_connection, record, _proxy) -> None:
        since = record.info.pop("idle_since", None)
        if since is None or time.monotonic() - since < seconds:
            return
        try:
            alive = engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as error:
            raise DisconnectionError(f"connection found broken after idling: {error}") from error
        if not alive:
            raise DisconnectionError("connection found broken after idling")
