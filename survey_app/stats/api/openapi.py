"""The OpenAPI 3.1 document of ``/api/v1`` (statistics), written as data."""

from __future__ import annotations

from functools import cache

from ..catalogue import MEASURE_INFO, TABLES

_ERROR = {"$ref": "#/components/schemas/Error"}


def _errors(*codes: int) -> dict:
    text = {
        400: "Bad parameter (unknown period, dimension value, measure, parameter or format; "
        "key in the query string)",
        401: "Missing, unknown or revoked key",
        404: "Unknown table or release, or nothing published yet",
        429: "Rate limit reached; see Retry-After",
    }
    out = {}
    for code in codes:
        entry = {"description": text[code], "content": {"application/json": {"schema": _ERROR}}}
        if code == 429:
            entry["headers"] = {
                "Retry-After": {"schema": {"type": "string"}, "description": "Seconds to wait"}
            }
        out[str(code)] = entry
    return out


def _ok(schema_ref: str, description: str) -> dict:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema_ref}"}}},
    }


_nullable_number = {"type": ["number", "null"]}
_table_id = {
    "name": "table_id",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": "^[a-z_]{1,40}$"},
    "description": "A table id: " + ", ".join(TABLES),
}


def _data_operation(table) -> dict:
    """``GET /api/v1/data/<id>`` of one table: each table is its own path, because each takes
    only its own dimension as a filter (any other is refused with ``unknown_parameter``)."""
    dimension = (
        [
            {
                "name": table.param,
                "in": "query",
                "required": False,
                "schema": {"type": "string"},
                "description": f"Comma-separated values of {table.dimension}",
            }
        ]
        if table.param
        else []
    )
    return {
        "operationId": f"getData_{table.id}",
        "summary": f"The cells of table {table.id} from one release",
        "parameters": [
            {
                "name": "period",
                "in": "query",
                "required": False,
                "schema": {"type": "string", "pattern": "^[0-9]{4}(Q[1-4]|H[12])$"},
                "description": "e.g. 2026Q2 or 2026H1 (latest release of that period)",
            },
            {
                "name": "release",
                "in": "query",
                "required": False,
                "schema": {"type": "string", "pattern": "^[0-9]{1,9}$"},
                "description": "A release id (default: the latest)",
            },
            {
                "name": "measure",
                "in": "query",
                "required": False,
                "schema": {"type": "string"},
                "description": "Comma-separated measures: " + ", ".join(MEASURE_INFO),
            },
            {
                "name": "format",
                "in": "query",
                "required": False,
                "schema": {"type": "string", "enum": ["json", "csv"]},
            },
            *dimension,
        ],
        "responses": {
            "200": {
                "description": "The cells",
                "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/Data"}},
                    "text/csv": {"schema": {"type": "string"}},
                },
            },
            **_errors(400, 401, 404, 429),
        },
    }


@cache
def document() -> dict:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Recruitment survey statistics API",
            "version": "1.0.0",
            "description": (
                "Weighted, anonymised results of STAR's recruitment survey, published quarterly "
                "over six-month windows of postings. Small cells are suppressed. Send your key "
                "as 'Authorization: Bearer <key>'; keys in the URL are refused."
            ),
        },
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "paths": {
            "/api/v1/subjects": {
                "get": {
                    "operationId": "listSubjects",
                    "summary": "Subjects and their tables",
                    "responses": {
                        "200": _ok("Subjects", "The subjects"),
                        **_errors(400, 401, 429),
                    },
                }
            },
            "/api/v1/tables": {
                "get": {
                    "operationId": "listTables",
                    "summary": "All tables",
                    "responses": {"200": _ok("Tables", "The tables"), **_errors(400, 401, 429)},
                }
            },
            "/api/v1/tables/{table_id}": {
                "get": {
                    "operationId": "describeTable",
                    "summary": "A table's dimensions, periods and measures",
                    "parameters": [_table_id],
                    "responses": {
                        "200": _ok("TableDetail", "The table"),
                        **_errors(400, 401, 404, 429),
                    },
                }
            },
            **{f"/api/v1/data/{t.id}": {"get": _data_operation(t)} for t in TABLES.values()},
            "/api/v1/openapi.json": {
                "get": {
                    "operationId": "openapi",
                    "summary": "This document",
                    "security": [],
                    "responses": {
                        "200": {
                            "description": "OpenAPI document",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        },
                        **_errors(429),
                    },
                }
            },
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {
                        "error": {
                            "type": "object",
                            "required": ["code", "message"],
                            "properties": {
                                "code": {"type": "string"},
                                "message": {"type": "string"},
                                "field": {"type": "string"},
                                "value": {},
                            },
                        }
                    },
                },
                "Subjects": {
                    "type": "object",
                    "required": ["subjects"],
                    "properties": {
                        "subjects": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["id", "title", "tables"],
                                "properties": {
                                    "id": {"type": "string"},
                                    "title": {"type": "string"},
                                    "tables": {"type": "array", "items": {"type": "string"}},
                                },
                            },
                        }
                    },
                },
                "Table": {
                    "type": "object",
                    "required": ["id", "subject", "title", "description", "dimension"],
                    "properties": {
                        "id": {"type": "string"},
                        "subject": {"type": "string"},
                        "title": {"type": "string"},
                        "description": {"type": "string"},
                        "dimension": {"type": "string"},
                    },
                },
                "Tables": {
                    "type": "object",
                    "required": ["tables"],
                    "properties": {
                        "tables": {"type": "array", "items": {"$ref": "#/components/schemas/Table"}}
                    },
                },
                "Release": {
                    "type": "object",
                    "required": ["id", "period", "window_start", "window_end", "created_at"],
                    "properties": {
                        "id": {"type": "integer"},
                        "period": {"type": "string"},
                        "window_start": {"type": "string", "format": "date"},
                        "window_end": {"type": "string", "format": "date"},
                        "created_at": {"type": "string"},
                        "rounds": {"type": "array", "items": {"type": "string"}},
                        "bank_versions": {"type": "array", "items": {"type": "string"}},
                    },
                },
                "TableDetail": {
                    "allOf": [
                        {"$ref": "#/components/schemas/Table"},
                        {
                            "type": "object",
                            "required": ["dimensions", "periods", "measures"],
                            "properties": {
                                "dimensions": {"type": "array", "items": {"type": "object"}},
                                "periods": {"type": "array", "items": {"type": "object"}},
                                "measures": {"type": "array", "items": {"type": "object"}},
                                "latest_release": {
                                    "oneOf": [
                                        {"$ref": "#/components/schemas/Release"},
                                        {"type": "null"},
                                    ]
                                },
                            },
                        },
                    ]
                },
                "Data": {
                    "type": "object",
                    "required": ["table", "release", "rows"],
                    "properties": {
                        "table": {"type": "string"},
                        "release": {"$ref": "#/components/schemas/Release"},
                        "rows": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["dimension", "value", "measure", "suppressed"],
                                "properties": {
                                    "dimension": {"type": "string"},
                                    "value": {"type": "string"},
                                    "measure": {"type": "string", "enum": list(MEASURE_INFO)},
                                    "estimate": _nullable_number,
                                    "ci_low": _nullable_number,
                                    "ci_high": _nullable_number,
                                    "n": {"type": ["integer", "null"]},
                                    "suppressed": {"type": "boolean"},
                                    "suppression": {
                                        "type": ["string", "null"],
                                        "enum": ["primary", "secondary", None],
                                    },
                                },
                            },
                        },
                    },
                },
            },
        },
    }
