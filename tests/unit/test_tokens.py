"""Join tokens: mint/verify, and every way a token is refused."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import pytest

from server.domain.roles import Role
from server.tokens import (
    MAX_TOKEN_LENGTH,
    JoinGrant,
    TokenRefused,
    TokenSigner,
    clean_display_name,
    new_participant_id,
)

SECRET = "a-test-secret-of-some-length"
NOW = 1_800_000_000.0
GRANT = JoinGrant("s_1", "p_1", "Alex", Role.PATIENT, NOW + 3600)


def signed(signer: TokenSigner, body: Any) -> str:
    """A correctly signed token around any body (one that `mint` would never make)."""
    payload = base64.urlsafe_b64encode(json.dumps(body).encode()).rstrip(b"=").decode()
    return f"{payload}.{signer._sign(payload)}"


def body_of(grant: JoinGrant = GRANT, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "v": 1,
        "sid": grant.session_id,
        "pid": grant.participant_id,
        "name": grant.name,
        "role": grant.role.value,
        "exp": int(grant.expires_at),
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


def refusal(signer: TokenSigner, token: object, now: float = NOW) -> str:
    with pytest.raises(TokenRefused) as refused:
        signer.verify(token, now)
    return refused.value.code


def test_mint_verify_round_trip() -> None:
    signer = TokenSigner(SECRET)
    token = signer.mint(GRANT)
    assert signer.verify(token, NOW) == GRANT
    assert len(token) <= MAX_TOKEN_LENGTH
    assert re.fullmatch(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+", token)


def test_the_token_survives_a_new_signer_with_the_same_secret() -> None:
    token = TokenSigner(SECRET).mint(GRANT)
    assert TokenSigner(SECRET).verify(token, NOW) == GRANT


def test_every_role_round_trips() -> None:
    signer = TokenSigner(SECRET)
    for role in Role:
        grant = JoinGrant("s_1", "p_1", "Alex", role, NOW + 60)
        assert signer.verify(signer.mint(grant), NOW).role is role


def test_a_short_secret_is_refused() -> None:
    with pytest.raises(ValueError):
        TokenSigner("x" * 15)
    TokenSigner("x" * 16)


def test_tampered_signature_is_invalid() -> None:
    signer = TokenSigner(SECRET)
    payload, signature = signer.mint(GRANT).split(".")
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    assert refusal(signer, f"{payload}.{flipped}") == "token_invalid"
    assert refusal(signer, f"{payload}.") == "token_invalid"


def test_tampered_payload_is_invalid() -> None:
    signer = TokenSigner(SECRET)
    _, signature = signer.mint(GRANT).split(".")
    therapist = signed(TokenSigner("another-secret-entirely"), body_of(role="therapist"))
    forged_payload = therapist.split(".")[0]
    assert refusal(signer, f"{forged_payload}.{signature}") == "token_invalid"


def test_token_of_another_secret_is_invalid() -> None:
    token = TokenSigner("another-secret-entirely").mint(GRANT)
    assert refusal(TokenSigner(SECRET), token) == "token_invalid"


def test_expired_token_is_refused_from_its_expiry_on() -> None:
    signer = TokenSigner(SECRET)
    token = signer.mint(GRANT)
    assert signer.verify(token, GRANT.expires_at - 1) == GRANT
    assert refusal(signer, token, now=GRANT.expires_at) == "token_expired"
    assert refusal(signer, token, now=GRANT.expires_at + 3600) == "token_expired"


@pytest.mark.parametrize("token", [None, "", 42, b"bytes", ["a.b"]])
def test_missing_token(token: object) -> None:
    assert refusal(TokenSigner(SECRET), token) == "token_missing"


@pytest.mark.parametrize(
    "token", ["no-dot", "a.b.c", ".", "abc.", ".abc"], ids=["no-dot", "two-dots", "dot", "a.", ".a"]
)
def test_malformed_token(token: str) -> None:
    assert refusal(TokenSigner(SECRET), token) == "token_invalid"


def test_too_long_token_is_refused_even_when_signed() -> None:
    signer = TokenSigner(SECRET)
    token = signed(signer, body_of(pad="x" * MAX_TOKEN_LENGTH))
    assert refusal(signer, token) == "token_invalid"


@pytest.mark.parametrize(
    "body",
    [
        body_of(v=2),
        body_of(v=None),
        body_of(role="admin"),
        body_of(role=None),
        body_of(name=""),
        body_of(name="x" * 65),
        body_of(name="Alex\x07"),
        body_of(name=7),
        body_of(sid=None),
        body_of(pid=None),
        body_of(exp=None),
        body_of(exp="tomorrow"),
        ["not", "an", "object"],
        "a string",
    ],
    ids=[
        "version-2",
        "no-version",
        "unknown-role",
        "no-role",
        "empty-name",
        "long-name",
        "control-char-name",
        "number-name",
        "no-session",
        "no-participant",
        "no-expiry",
        "text-expiry",
        "array",
        "string",
    ],
)
def test_signed_but_malformed_body_is_invalid(body: Any) -> None:
    signer = TokenSigner(SECRET)
    assert refusal(signer, signed(signer, body)) == "token_invalid"


def test_payload_that_is_not_json_is_invalid() -> None:
    signer = TokenSigner(SECRET)
    payload = base64.urlsafe_b64encode(b"\xff\xfe not json").rstrip(b"=").decode()
    assert refusal(signer, f"{payload}.{signer._sign(payload)}") == "token_invalid"


def test_refusal_carries_a_message() -> None:
    with pytest.raises(TokenRefused) as refused:
        TokenSigner(SECRET).verify("x.y", NOW)
    assert refused.value.message


# -- names and ids ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("Alex", "Alex"),
        ("  Dr.   Rivera  ", "Dr. Rivera"),
        ("a\tb\nc", "a b c"),
        ("x" * 64, "x" * 64),
    ],
)
def test_display_names_are_trimmed(raw: str, clean: str) -> None:
    assert clean_display_name(raw) == clean


@pytest.mark.parametrize("raw", ["", "   ", "x" * 65, "Al\x00ex", "Al\u200bex", None, 5])
def test_bad_display_names_are_refused(raw: object) -> None:
    with pytest.raises(ValueError):
        clean_display_name(raw)


def test_participant_ids_are_opaque_and_unique() -> None:
    ids = {new_participant_id() for _ in range(200)}
    assert len(ids) == 200
    assert all(re.fullmatch(r"p_[0-9a-f]{16}", pid) for pid in ids)
