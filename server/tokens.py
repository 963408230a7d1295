"""Signed join tokens: bound to one session, expiring, naming an opaque participant id."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass

from .domain.errors import PeerCircleError
from .domain.roles import Role

TOKEN_VERSION = 1
MAX_TOKEN_LENGTH = 2048
MAX_NAME_LENGTH = 64
# How far in the future a token's issue time may be (clocks of nodes disagree a little).
MAX_CLOCK_SKEW_S = 60


class TokenRefused(PeerCircleError):
    """A join token that cannot be used; `code` says why (see docs/PROTOCOL.md)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class JoinGrant:
    """What a verified token says: who, in which session, with which role, until when."""

    session_id: str
    participant_id: str
    name: str
    role: Role
    expires_at: float
    pre_admitted: bool = False
    issued_at: float = 0.0


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def new_participant_id() -> str:
    """An opaque participant id: says nothing about the person."""
    return "p_" + secrets.token_hex(8)


def clean_display_name(name: object) -> str:
    """A display name, trimmed; 1-64 printable characters."""
    if not isinstance(name, str):
        raise ValueError("name: must be a string")
    name = " ".join(name.split())
    if not 1 <= len(name) <= MAX_NAME_LENGTH or not name.isprintable():
        raise ValueError(f"name: must be 1-{MAX_NAME_LENGTH} printable characters")
    return name


class TokenSigner:
    """Mints and verifies join tokens with an HMAC-SHA256 secret."""

    def __init__(self, secret: str) -> None:
        if len(secret) < 16:
            raise ValueError("token secret must be at least 16 characters")
        self._key = hashlib.sha256(b"peercircle-join-token:" + secret.encode()).digest()

    def mint(self, grant: JoinGrant) -> str:
        """A token carrying `grant`."""
        body = {
            "v": TOKEN_VERSION,
            "sid": grant.session_id,
            "pid": grant.participant_id,
            "name": grant.name,
            "role": grant.role.value,
            "exp": int(grant.expires_at),
            "iat": int(grant.issued_at),
            "adm": int(grant.pre_admitted),
        }
        payload = _b64(json.dumps(body, separators=(",", ":")).encode())
        return f"{payload}.{self._sign(payload)}"

    def verify(self, token: object, now: float) -> JoinGrant:
        """The grant a token carries, or TokenRefused saying why not."""
        if not isinstance(token, str) or not token:
            raise TokenRefused("token_missing", "a join token is required")
        if len(token) > MAX_TOKEN_LENGTH or token.count(".") != 1:
            raise TokenRefused("token_invalid", "the join token is malformed")
        payload, signature = token.split(".")
        if not hmac.compare_digest(signature, self._sign(payload)):
            raise TokenRefused("token_invalid", "the join token's signature is not valid")
        try:
            body = json.loads(_unb64(payload))
            grant = JoinGrant(
                session_id=str(body["sid"]),
                participant_id=str(body["pid"]),
                name=clean_display_name(body["name"]),
                role=Role(body["role"]),
                expires_at=float(body["exp"]),
                pre_admitted=bool(body.get("adm", 0)),
                issued_at=float(body.get("iat", 0)),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise TokenRefused("token_invalid", "the join token is malformed") from exc
        if body.get("v") != TOKEN_VERSION:
            raise TokenRefused("token_invalid", "the join token's version is not supported")
        if now >= grant.expires_at:
            raise TokenRefused("token_expired", "the join link has expired")
        if grant.issued_at > now + MAX_CLOCK_SKEW_S:
            raise TokenRefused("token_invalid", "the join token was issued in the future")
        return grant

    def _sign(self, payload: str) -> str:
        return _b64(hmac.new(self._key, payload.encode(), hashlib.sha256).digest())
