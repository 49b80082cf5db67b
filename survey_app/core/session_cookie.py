"""The signed session cookie: Flask's own, with its serializer made once per set of keys.

Flask builds an ``itsdangerous`` serializer on every request, once to read the cookie and once to
write it; on the respondent's page save that was a measurable share of the request. The keys
(``SECRET_KEY`` and ``SECRET_KEY_FALLBACKS``) are read on every call as before, so a changed key
takes effect at once.
"""

from __future__ import annotations

from flask.sessions import SecureCookieSessionInterface


class SessionCookies(SecureCookieSessionInterface):
    def __init__(self) -> None:
        self._serializers: dict = {}

    def get_signing_serializer(self, app):
        if not app.secret_key:
            return None
        keys = (app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()))
        serializer = self._serializers.get(keys)
        if serializer is None:
            if len(self._serializers) > 8:  # keys changed at run time: drop the old ones
                self._serializers.clear()
            serializer = self._serializers[keys] = super().get_signing_serializer(app)
        return serializer
