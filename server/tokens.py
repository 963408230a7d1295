"""Join tokens: JWTs (HS256) bound to one session and one deployment, expiring, naming
an opaque participant id. docs/API.md says how another system mints one."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Any

import jwt

from .domain.errors import PeerCircleError
from .domain.links import CLOCK_SKEW_S, MAX_LINK_TTL_S
from .domain.roles import Role

# Pinned: a token naming any other algorithm ("none", RS256 with our secret as a
# "public key", ...) is refused before its signature is looked at.
ALGORITHM = "HS256"
DEFAULT_AUDIENCE = "peercircle"
MAX_TOKEN_LENGTH = 2048
MAX_NAME_LENGTH = 64
# RFC 7518 section 3.2: an HS256 key has at least 256 bits.
MIN_SECRET_BYTES = 32
# How far in the future a token's issue or not-before time may be (clocks of nodes
# and of the system that minted it disagree a little).
MAX_CLOCK_SKEW_S = CLOCK_SKEW_S
# Every claim a join token must carry; PyJWT refuses a token without one of them.
REQUIRED_CLAIMS = ("exp", "nbf", "aud", "sub", "jti", "session", "name", "role")
_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_LINK_ID = re.compile(r"[A-Za-z0-9_.:-]{1,128}")


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
    # The token's `jti`: which link this is (a participant may hold more than one).
    link_id: str = ""


def new_participant_id() -> str:
    """An opaque participant id: says nothing about the person."""
    return "p_" + secrets.token_hex(8)


def new_link_id() -> str:
    """An opaque link id (a token's `jti`)."""
    return "l_" + secrets.token_hex(8)


def clean_display_name(name: object) -> str:
    """A display name, trimmed; 1-64 printable characters."""
    if not isinstance(name, str):
        raise ValueError("name: must be a string")
    name = " ".join(name.split())
    if not 1 <= len(name) <= MAX_NAME_LENGTH or not name.isprintable():
        raise ValueError(f"name: must be 1-{MAX_NAME_LENGTH} printable characters")
    return name


def _invalid(message: str) -> TokenRefused:
    return TokenRefused("token_invalid", message)


def _time(claims: dict[str, Any], name: str) -> float:
    value = claims[name]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _invalid(f"the join token's {name} is not a number")
    return float(value)


def _text(claims: dict[str, Any], name: str, pattern: re.Pattern[str]) -> str:
    value = claims[name]
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise _invalid(f"the join token's {name} is malformed")
    return value


class TokenSigner:
    """Mints and verifies join tokens: HS256 JWTs with the deployment as audience."""

    def __init__(self, secret: str, audience: str = DEFAULT_AUDIENCE) -> None:
        # The secret itself is the HMAC key, so any JWT library holding it can mint.
        key = secret.encode()
        if len(key) < MIN_SECRET_BYTES:
            raise ValueError(f"token secret must be at least {MIN_SECRET_BYTES} bytes")
        if not audience:
            raise ValueError("token audience must not be empty")
        self._key = key
        self.audience = audience

    def mint(self, grant: JoinGrant) -> str:
        """A token carrying `grant` (with a fresh link id if the grant has none)."""
        claims = {
            "aud": self.audience,
            "sub": grant.participant_id,
            "jti": grant.link_id or new_link_id(),
            "session": grant.session_id,
            "name": grant.name,
            "role": grant.role.value,
            "admitted": grant.pre_admitted,
            "iat": int(grant.issued_at),
            "nbf": int(grant.issued_at),
            "exp": int(grant.expires_at),
        }
        return jwt.encode(claims, self._key, algorithm=ALGORITHM)

    def verify(self, token: object, now: float) -> JoinGrant:
        """The grant a token carries, or TokenRefused saying why not."""
        if not isinstance(token, str) or not token:
            raise TokenRefused("token_missing", "a join token is required")
        # A JWT is base64url and dots; anything else (a non-ASCII signature) is refused
        # here, before any decoding or comparison sees it.
        if len(token) > MAX_TOKEN_LENGTH or not token.isascii():
            raise _invalid("the join token is malformed")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._key,
                algorithms=[ALGORITHM],
                audience=self.audience,
                # Times are checked below against `now` (passed in, like every clock
                # in this code); the claims must be there all the same.
                options={
                    "require": list(REQUIRED_CLAIMS),
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                },
            )
        except jwt.MissingRequiredClaimError as exc:
            raise _invalid(f'the join token has no "{exc.claim}" claim') from None
        except jwt.InvalidAudienceError:
            raise _invalid("the join token is for another deployment") from None
        except jwt.InvalidAlgorithmError:
            raise _invalid("the join token's algorithm is not accepted") from None
        except (jwt.PyJWTError, ValueError, TypeError):
            raise _invalid("the join token is malformed or its signature is not valid") from None
        return self._grant(claims, now)

    def _grant(self, claims: dict[str, Any], now: float) -> JoinGrant:
        expires_at = _time(claims, "exp")
        not_before = _time(claims, "nbf")
        issued_at = _time(claims, "iat") if "iat" in claims else not_before
        try:
            role = Role(claims["role"])
            name = clean_display_name(claims["name"])
        except ValueError as exc:
            raise _invalid("the join token's role or name is not valid") from exc
        admitted = claims.get("admitted", False)
        if not isinstance(admitted, bool):
            raise _invalid("the join token's admitted claim is not true or false")
        grant = JoinGrant(
            session_id=_text(claims, "session", _ID),
            participant_id=_text(claims, "sub", _ID),
            name=name,
            role=role,
            expires_at=expires_at,
            pre_admitted=admitted,
            issued_at=issued_at,
            link_id=_text(claims, "jti", _LINK_ID),
        )
        if now >= expires_at:
            raise TokenRefused("token_expired", "the join link has expired")
        if max(not_before, issued_at) > now + MAX_CLOCK_SKEW_S:
            raise _invalid("the join token is not valid yet")
        # A bounded life is what lets a session forget a revocation after a while.
        if expires_at - min(not_before, issued_at) > MAX_LINK_TTL_S + MAX_CLOCK_SKEW_S:
            raise _invalid("the join token lives longer than a link may (7 days)")
        return grant
