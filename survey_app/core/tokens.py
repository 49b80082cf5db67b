"""Access tokens: 128+ bits from ``secrets``; stored as a hash for lookup and sealed for re-sending.

The raw token never goes into a log. The database holds ``sha256(token)`` to find the response,
and a Fernet-sealed copy under ``TOKEN_KEY`` so that reminders can repeat the link.
"""

from __future__ import annotations

import base64
import hashlib
import secrets

from cryptography.fernet import Fernet, InvalidToken
from flask import current_app

TOKEN_BYTES = 24  # 192 bits
SHORT_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I
if len(SHORT_CODE_ALPHABET) != 32:  # new_short_code picks a letter with the low 5 bits of a byte
    raise RuntimeError("the short-code alphabet must have exactly 32 letters")


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_short_code(length: int = 10) -> str:
    """A code for typing by hand from a letter (10 chars of 32 = 50 bits; rate-limited)."""
    # 32 letters: the low 5 bits of a random byte pick one uniformly
    return "".join(SHORT_CODE_ALPHABET[b & 31] for b in secrets.token_bytes(length))


def _fernet() -> Fernet:
    key = hashlib.sha256(("token-seal:" + current_app.config["TOKEN_KEY"]).encode()).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def seal(token: str) -> str:
    return _fernet().encrypt(token.encode()).decode()


def unseal(sealed: str) -> str | None:
    try:
        return _fernet().decrypt(sealed.encode()).decode()
    except InvalidToken:
        return None
