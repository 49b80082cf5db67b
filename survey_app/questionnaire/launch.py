"""Signed launch of the embedded survey: a partner's JWT names one of its postings.

The JWT is HS256, signed with one of the partner's active launch keys (header ``kid``), and must
carry ``iss`` (the partner's code), ``posting`` (a ``source_posting_id`` the partner delivered),
``exp`` (at most ten minutes ahead), ``iat`` and ``jti`` (used once). Every failure gives None, so
the caller answers exactly as for an invalid link.

The case is found through the ``cases`` and ``postings`` tables of the shared metadata (SQLAlchemy
core), not through the sampling models: questionnaire sits below sampling in the layers and may not
import it. The tables are the stable contract here (read-only, by column name), which is simpler
than a lookup callback registered from sampling at start-up.
"""

from __future__ import annotations

import datetime as dt

import jwt

from survey_app.core.db import db
from survey_app.partners import services as partners
from survey_app.partners.models import Brand

MAX_LIFETIME = 600  # seconds: exp may lie at most ten minutes ahead
LEEWAY = 30  # seconds of clock skew tolerated


def _case_response_id(org_id: int, source_posting_id: str) -> int | None:
    """The response of the newest case of that partner's posting fielded under its own brand."""
    cases = db.metadata.tables["cases"]
    postings = db.metadata.tables["postings"]
    brands = Brand.__table__
    row = db.session.execute(
        db.select(cases.c.response_id)
        .join(postings, postings.c.id == cases.c.posting_id)
        .join(brands, brands.c.id == cases.c.brand_id)
        .where(
            postings.c.source_id == org_id,
            postings.c.source_posting_id == source_posting_id,
            brands.c.organisation_id == org_id,
        )
        .order_by(cases.c.round_id.desc(), cases.c.id.desc())
        .limit(1)
    ).first()
    return row[0] if row else None


def verify_launch(token: str) -> int | None:
    """The response id a valid, unused launch JWT opens, or None."""
    if not token or len(token) > 4000:
        return None
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        return None
    kid = header.get("kid")
    if header.get("alg") != "HS256" or not isinstance(kid, str):
        return None
    key = partners.launch_key_by_kid(kid)
    if key is None:
        return None
    org = key.organisation
    try:
        claims = jwt.decode(
            token,
            key.secret,
            algorithms=["HS256"],
            issuer=org.code,
            leeway=LEEWAY,
            options={"require": ["exp", "iat", "jti", "iss", "posting"]},
        )
    except jwt.PyJWTError:
        return None
    now = dt.datetime.now(dt.UTC).timestamp()
    exp, iat, jti, posting = claims["exp"], claims["iat"], claims["jti"], claims["posting"]
    if not isinstance(jti, str) or not jti or len(jti) > 128 or not isinstance(posting, str):
        return None
    if exp > now + MAX_LIFETIME + LEEWAY or exp - iat > MAX_LIFETIME:
        return None
    response_id = _case_response_id(org.id, posting)
    if response_id is None:
        return None
    expires_at = dt.datetime.fromtimestamp(exp, dt.UTC).replace(tzinfo=None)
    if not partners.use_launch_jti(org, jti, expires_at):
        return None
    return response_id
