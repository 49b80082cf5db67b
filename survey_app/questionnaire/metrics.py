"""Responses per brand and status, for Prometheus (read from the database at scrape time)."""

from __future__ import annotations

from sqlalchemy import func, select

from survey_app.core.db import db
from survey_app.core.metrics import register_gauge
from survey_app.partners.models import Brand

from .models import Response


def _responses_per_brand():
    rows = db.session.execute(
        select(Brand.code, Response.status, func.count())
        .join(Brand, Brand.id == Response.brand_id)
        .group_by(Brand.code, Response.status)
    )
    for brand, status, count in rows:
        yield (brand, status), count


def register() -> None:
    register_gauge(
        "survey_responses",
        "Responses per brand and status",
        ("brand", "status"),
        _responses_per_brand,
    )
