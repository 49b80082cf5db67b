"""Write operations on bank versions and responses. They flush; callers commit."""

from __future__ import annotations

from pathlib import Path

from survey_app.core import audit, tokens
from survey_app.core.db import db, utcnow
from survey_app.privacy.notice import NOTICE_VERSION

from .bank import Bank, BankError, check_successor, load_bank, parse_bank
from .models import BankVersion, Response
from .routing import classify, prune_hidden


class ResponseClosed(Exception):
    """The response is completed; its answers can no longer change through the link."""


_parsed: dict[tuple[int, str], Bank] = {}


def bank_of(version: BankVersion) -> Bank:
    """The parsed bank of a stored version, parsed once per process (versions are immutable)."""
    key = (version.id, version.content_hash)
    bank = _parsed.get(key)
    if bank is None:
        bank = _parsed[key] = parse_bank(version.content, version.source_file)
    return bank


_by_id: dict[int, Bank] = {}


def bank_by_id(version_id: int) -> Bank:
    """The parsed bank of a stored version by its id, without reading the row again: a page save
    needs no query for it. A stored version never changes; a new row for an id (a database
    emptied and loaded again) replaces the entry in ``load_bank_version``."""
    bank = _by_id.get(version_id)
    if bank is None:
        bank = _by_id[version_id] = bank_of(db.session.get(BankVersion, version_id))
    return bank


def load_bank_version(path: str | Path) -> tuple[BankVersion, bool]:
    """Store a bank file as an immutable version. Returns (row, created).

    Loading the same version again with the same content is a no-op; with other content it is an
    error (a published version never changes). A new version may not change a kept question's type.
    """
    bank = load_bank(path)
    existing = db.session.execute(
        db.select(BankVersion).filter_by(version=bank.version)
    ).scalar_one_or_none()
    if existing is not None:
        if existing.content_hash != bank.content_hash:
            raise BankError(
                f"{Path(path).name}: version {bank.version} is already loaded with other content; "
                "a published version is immutable, give the changed bank a new version"
            )
        return existing, False
    previous = (
        db.session.execute(
            db.select(BankVersion).order_by(BankVersion.loaded_at.desc(), BankVersion.id.desc())
        )
        .scalars()
        .first()
    )
    if previous is not None:
        check_successor(bank_of(previous), bank)
    row = BankVersion(
        version=bank.version,
        content=bank.to_dict(),
        content_hash=bank.content_hash,
        source_file=Path(path).name,
    )
    db.session.add(row)
    db.session.flush()
    _by_id.pop(row.id, None)
    audit.record("bank.loaded", "bank_version", row.id, actor_label="cli", version=bank.version)
    return row, True


def new_response(bank_version: BankVersion, brand, context: dict) -> tuple[Response, str]:
    """A new, not yet added response with a fresh access token (for batch inserts)."""
    token = tokens.new_token()
    return Response(
        bank_version=bank_version,
        brand=brand,
        token_hash=tokens.hash_token(token),
        token_sealed=tokens.seal(token),
        short_code=tokens.new_short_code(),
        context=context,
    ), token


def new_response_row(bank_version_id: int, brand_id: int, context: dict) -> tuple[dict, str]:
    """The column values of a new response with a fresh access token, for bulk inserts of
    many responses at once (the sample draw). Returns (row, raw token)."""
    token = tokens.new_token()
    row = {
        "bank_version_id": bank_version_id,
        "brand_id": brand_id,
        "token_hash": tokens.hash_token(token),
        "token_sealed": tokens.seal(token),
        "short_code": tokens.new_short_code(),
        "context": context,
    }
    return row, token


def open_response(bank_version: BankVersion, brand, context: dict) -> tuple[Response, str]:
    """Create a response with a fresh access token. Returns (response, raw token)."""
    response, token = new_response(bank_version, brand, context)
    db.session.add(response)
    db.session.flush()
    return response, token


def find_by_token(token: str) -> Response | None:
    if not token or len(token) > 200:
        return None
    return db.session.execute(
        db.select(Response).filter_by(token_hash=tokens.hash_token(token))
    ).scalar_one_or_none()


def find_by_short_code(code: str) -> Response | None:
    code = "".join(ch for ch in code.upper() if ch.isalnum())
    if not code or len(code) > 16:
        return None
    return db.session.execute(db.select(Response).filter_by(short_code=code)).scalar_one_or_none()


def link_token(response: Response) -> str | None:
    return tokens.unseal(response.token_sealed)


def locked(response_id: int) -> Response | None:
    """Re-read the response under a row lock (PostgreSQL) so concurrent saves serialise; its
    answers come in the same query (a save needs them), read under the same lock."""
    return (
        db.session.execute(
            db.select(Response)
            .filter_by(id=response_id)
            .options(db.joinedload(Response.answers))
            .with_for_update(of=Response)
            .execution_options(populate_existing=True)
        )
        .unique()
        .scalar_one_or_none()
    )


def record_notice_shown(response: Response, lang: str, mode: str) -> None:
    if response.is_completed:
        raise ResponseClosed()
    now = utcnow()
    if response.notice_shown_at is None:
        response.notice_shown_at = now
        response.notice_version = NOTICE_VERSION
    if response.started_at is None:
        response.started_at = now
        response.status = "in_progress"
    response.language = lang
    response.mode = mode


def page_keys(bank: Bank, page_id: str) -> list[str]:
    """The answer keys a page owns: its question ids and the "other" texts of multi questions."""
    keys = []
    for qid in bank.page(page_id).questions:
        keys.append(qid)
        if bank.question(qid).other_codes:
            keys.append(f"{qid}_other")
    return keys


def complete(response: Response, bank: Bank) -> bool:
    """Mark the response completed; a repeated call changes nothing. Returns True if it changed."""
    if response.is_completed:
        return False
    answers = prune_hidden(bank, response.answer_dict())
    response.classification = classify(answers)
    response.status = "completed"
    response.completed_at = utcnow()
    audit.record("response.completed", "response", response.id, actor_label="respondent")
    return True
