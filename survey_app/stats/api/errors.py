"""JSON errors of the statistics API: ``{"error": {"code", "message", "field", "value"}}``."""

from __future__ import annotations

from flask import jsonify


class ApiError(Exception):
    def __init__(
        self, status: int, code: str, message: str, field: str | None = None, value=None
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.field, self.value = field, value


def error_response(status: int, code: str, message: str, field=None, value=None, headers=None):
    body = {"code": code, "message": message}
    if field is not None:
        body["field"] = field
    if value is not None:
        body["value"] = value
    response = jsonify({"error": body})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="statistics"'
    for name, val in (headers or {}).items():
        response.headers[name] = val
    return response
