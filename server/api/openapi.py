"""The admin API's OpenAPI 3 document (served at /api/openapi.json)."""

from __future__ import annotations

from typing import Any

from ..domain.roles import Role
from .limits import MAX_LINK_TTL_S, MAX_TITLE_LENGTH

_ERROR = {"$ref": "#/components/schemas/Error"}
_SESSION = {"$ref": "#/components/schemas/Session"}


def _op(
    summary: str, ok: int, schema: dict[str, Any], body: dict[str, Any] | None = None
) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": summary,
        "security": [{"adminKey": []}],
        "responses": {
            str(ok): {"description": "ok", "content": {"application/json": {"schema": schema}}},
            "400": {
                "description": "invalid input",
                "content": {"application/json": {"schema": _ERROR}},
            },
            "401": {
                "description": "missing or wrong admin key",
                "content": {"application/json": {"schema": _ERROR}},
            },
            "404": {
                "description": "unknown session",
                "content": {"application/json": {"schema": _ERROR}},
            },
        },
    }
    if body is not None:
        op["requestBody"] = {"required": False, "content": {"application/json": {"schema": body}}}
    return op


_SESSION_ID = [{"name": "session_id", "in": "path", "required": True, "schema": {"type": "string"}}]

_REVOKE_LINK = _op(
    "Revoke every link naming this participant id, used or not (minted here or by another "
    "system; a captioner's too): it admits nobody any more and a connected holder is "
    "disconnected",
    200,
    _SESSION,
)
_REVOKE_LINK["responses"]["409"] = {
    "description": "the session has ended, or already has 500 revoked links",
    "content": {"application/json": {"schema": _ERROR}},
}

OPENAPI: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "PeerCircle admin API", "version": "1"},
    "components": {
        "securitySchemes": {"adminKey": {"type": "http", "scheme": "bearer"}},
        "schemas": {
            "Error": {
                "type": "object",
                "properties": {
                    "error": {
                        "type": "object",
                        "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
                    }
                },
            },
            "Session": {
                "type": "object",
                "properties": {
                    "id": {"type": "string"},
                    "title": {"type": "string"},
                    "created_at": {"type": "number"},
                    "ended": {"type": "boolean"},
                    "participants": {"type": "array", "items": {"type": "object"}},
                    "rooms": {"type": "array", "items": {"type": "object"}},
                    "tracks": {"type": "array", "items": {"type": "object"}},
                    "links": {
                        "type": "array",
                        "description": "links minted for the session, used or not, and "
                        "revoked ones (never their tokens); expired ones are forgotten",
                        "items": {"$ref": "#/components/schemas/LinkRecord"},
                    },
                    "captioners": {
                        "type": "array",
                        "description": "captioner services connected now",
                        "items": {"$ref": "#/components/schemas/Captioner"},
                    },
                },
            },
            "LinkRecord": {
                "type": "object",
                "properties": {
                    "link_id": {"type": "string", "description": "the token's jti"},
                    "participant_id": {"type": "string"},
                    "name": {"type": "string"},
                    "role": {"type": "string", "enum": [r.value for r in Role]},
                    "admitted": {"type": "boolean"},
                    "minted_at": {"type": "number"},
                    "expires_at": {"type": "integer"},
                    "used": {"type": "boolean"},
                    "revoked": {"type": "boolean"},
                },
            },
            "Captioner": {
                "type": "object",
                "properties": {
                    "id": {"type": "string", "description": "its link's participant id"},
                    "name": {"type": "string"},
                    "since": {"type": "number"},
                },
            },
            "SpeakingReport": {
                "type": "object",
                "description": "docs/PROTOCOL.md `speaking-stats` shapes (Group, Person)",
                "properties": {
                    "sessionId": {"type": "string"},
                    "at": {"type": "number"},
                    "windowS": {"type": "number"},
                    "people": {"type": "array", "items": {"type": "object"}},
                    "session": {"type": "object"},
                    "rooms": {"type": "array", "items": {"type": "object"}},
                },
            },
            "Link": {
                "type": "object",
                "properties": {
                    "participant_id": {"type": "string"},
                    "link_id": {"type": "string", "description": "the token's jti"},
                    "role": {"type": "string"},
                    "name": {"type": "string"},
                    "admitted": {"type": "boolean"},
                    "token": {"type": "string", "description": "an HS256 JWT (docs/API.md)"},
                    "url": {"type": "string"},
                    "expires_at": {"type": "integer"},
                },
            },
        },
    },
    "paths": {
        "/api/sessions": {
            "post": _op(
                "Create a session",
                201,
                _SESSION,
                {
                    "type": "object",
                    "properties": {"title": {"type": "string", "maxLength": MAX_TITLE_LENGTH}},
                },
            ),
            "get": _op(
                "List session ids",
                200,
                {
                    "type": "object",
                    "properties": {"sessions": {"type": "array", "items": {"type": "string"}}},
                },
            ),
        },
        "/api/sessions/{session_id}": {
            "parameters": _SESSION_ID,
            "get": _op("Read a session's state: participants, rooms, tracks", 200, _SESSION),
        },
        "/api/sessions/{session_id}/links": {
            "parameters": _SESSION_ID,
            "post": _op(
                "Mint a join link for one person",
                201,
                {"$ref": "#/components/schemas/Link"},
                {
                    "type": "object",
                    "required": ["name"],
                    "properties": {
                        "name": {"type": "string", "minLength": 1, "maxLength": 64},
                        "role": {"type": "string", "enum": [r.value for r in Role]},
                        "ttl_s": {"type": "integer", "minimum": 60, "maximum": MAX_LINK_TTL_S},
                        "admitted": {"type": "boolean", "description": "skip the waiting room"},
                    },
                },
            ),
        },
        "/api/sessions/{session_id}/links/{participant_id}": {
            "parameters": [
                *_SESSION_ID,
                {
                    "name": "participant_id",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string", "maxLength": 64},
                },
            ],
            "delete": _REVOKE_LINK,
        },
        "/api/sessions/{session_id}/end": {
            "parameters": _SESSION_ID,
            "post": _op("End the session for everyone", 200, _SESSION),
        },
        "/api/sessions/{session_id}/audit": {
            "parameters": _SESSION_ID,
            "get": _op(
                "Export the session's audit log (hash-chained, opaque ids only)",
                200,
                {
                    "type": "object",
                    "properties": {
                        "records": {"type": "array", "items": {"type": "object"}},
                        "chain": {"type": "string"},
                    },
                },
            ),
        },
        "/api/sessions/{session_id}/report": {
            "parameters": [
                *_SESSION_ID,
                {
                    "name": "format",
                    "in": "query",
                    "required": False,
                    "schema": {"type": "string", "enum": ["json", "csv"]},
                },
            ],
            "get": _op(
                "Speaking report: every metric per person and room, whole session and "
                "rolling window (JSON, or CSV with format=csv); 404 once past "
                "PEERCIRCLE_STATS_RETENTION_DAYS",
                200,
                {"$ref": "#/components/schemas/SpeakingReport"},
            ),
        },
        "/api/sessions/{session_id}/report/chart.svg": {
            "parameters": _SESSION_ID,
            "get": {
                **_op("Talk over time per person (SVG)", 200, {"type": "string"}),
                "responses": {
                    "200": {
                        "description": "an SVG line chart",
                        "content": {"image/svg+xml": {"schema": {"type": "string"}}},
                    },
                    "401": {"description": "missing or wrong admin key"},
                    "404": {"description": "unknown session, or no statistics (retention)"},
                },
            },
        },
        "/api/sessions/{session_id}/transcript": {
            "parameters": _SESSION_ID,
            "get": _op(
                "Final captions of the session, if it kept a transcript (retention applies)",
                200,
                {
                    "type": "object",
                    "properties": {"lines": {"type": "array", "items": {"type": "object"}}},
                },
            ),
        },
        "/api/metrics": {
            "get": _op("Media counters of this process", 200, {"type": "object"}),
        },
    },
}
