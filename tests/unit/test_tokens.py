"""Join tokens (HS256 JWTs): mint/verify, and every way a token is refused."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import jwt
import pytest

from server.domain.roles import Role
from server.tokens import (
    MAX_TOKEN_LENGTH,
    JoinGrant,
    TokenRefused,
    TokenSigner,
    clean_display_name,
    new_link_id,
    new_participant_id,
)

SECRET = "a-test-secret-of-at-least-thirty-two-bytes"
NOW = 1_800_000_000.0
GRANT = JoinGrant("s_1", "p_1", "Alex", Role.PATIENT, NOW + 3600, False, NOW - 10, "l_1")


def claims_of(grant: JoinGrant = GRANT, **changes: Any) -> dict[str, Any]:
    """The claims `mint` would write, changed; a None value drops the claim."""
    claims: dict[str, Any] = {
        "aud": "peercircle",
        "sub": grant.participant_id,
        "jti": grant.link_id,
        "session": grant.session_id,
        "name": grant.name,
        "role": grant.role.value,
        "admitted": grant.pre_admitted,
        "iat": int(grant.issued_at),
        "nbf": int(grant.issued_at),
        "exp": int(grant.expires_at),
    }
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def signed(claims: Any, key: str = SECRET, **headers: Any) -> str:
    """A token signed with PyJWT itself around any claims (ones `mint` would never make)."""
    return jwt.encode(claims, key, algorithm="HS256", headers=headers or None)


def refusal(signer: TokenSigner, token: object, now: float = NOW) -> str:
    with pytest.raises(TokenRefused) as refused:
        signer.verify(token, now)
    assert refused.value.message
    return refused.value.code


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_mint_verify_round_trip() -> None:
    signer = TokenSigner(SECRET)
    token = signer.mint(GRANT)
    assert signer.verify(token, NOW) == GRANT
    assert len(token) <= MAX_TOKEN_LENGTH
    assert re.fullmatch(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+", token)


def test_a_minted_token_is_a_standard_hs256_jwt_any_library_reads() -> None:
    token = TokenSigner(SECRET).mint(GRANT)
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    # NOW is in the future: PyJWT's own clock would call the token not yet valid.
    claims = jwt.decode(
        token,
        SECRET,
        algorithms=["HS256"],
        audience="peercircle",
        options={"verify_nbf": False, "verify_iat": False},
    )
    assert claims == claims_of()


def test_a_token_minted_by_pyjwt_directly_verifies() -> None:
    assert TokenSigner(SECRET).verify(signed(claims_of()), NOW) == GRANT


def test_mint_gives_a_link_id_when_the_grant_has_none() -> None:
    signer = TokenSigner(SECRET)
    grant = JoinGrant("s_1", "p_1", "Alex", Role.PATIENT, NOW + 60, issued_at=NOW)
    link_ids = {signer.verify(signer.mint(grant), NOW).link_id for _ in range(5)}
    assert len(link_ids) == 5 and all(re.fullmatch(r"l_[0-9a-f]{16}", i) for i in link_ids)
    assert re.fullmatch(r"l_[0-9a-f]{16}", new_link_id())


def test_the_token_survives_a_new_signer_with_the_same_secret() -> None:
    token = TokenSigner(SECRET).mint(GRANT)
    assert TokenSigner(SECRET).verify(token, NOW) == GRANT


def test_every_role_and_the_pre_admission_flag_round_trip() -> None:
    signer = TokenSigner(SECRET)
    for role in Role:
        for admitted in (False, True):
            grant = JoinGrant("s_1", "p_1", "Alex", role, NOW + 60, admitted, NOW, "l_1")
            assert signer.verify(signer.mint(grant), NOW) == grant


def test_a_short_secret_is_refused() -> None:
    with pytest.raises(ValueError):
        TokenSigner("x" * 31)
    TokenSigner("x" * 32)


def test_the_audience_is_the_deployment() -> None:
    ours = TokenSigner(SECRET, audience="clinic-a")
    theirs = TokenSigner(SECRET, audience="clinic-b")
    assert refusal(ours, theirs.mint(GRANT)) == "token_invalid"
    assert ours.verify(ours.mint(GRANT), NOW) == GRANT
    # A list of audiences that names ours is a standard JWT form.
    both = signed(claims_of(aud=["clinic-b", "clinic-a"]))
    assert ours.verify(both, NOW) == GRANT
    with pytest.raises(ValueError):
        TokenSigner(SECRET, audience="")


def test_tampered_signature_is_invalid() -> None:
    signer = TokenSigner(SECRET)
    header, payload, signature = signer.mint(GRANT).split(".")
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    assert refusal(signer, f"{header}.{payload}.{flipped}") == "token_invalid"
    assert refusal(signer, f"{header}.{payload}.") == "token_invalid"


@pytest.mark.parametrize(
    "signature", ["é" * 43, "\u00ff\u00fe", "\ud800", "sig\u202e", "💥"], ids=str.__len__
)
def test_a_non_ascii_signature_is_invalid_not_a_crash(signature: str) -> None:
    signer = TokenSigner(SECRET)
    header, payload, _ = signer.mint(GRANT).split(".")
    assert refusal(signer, f"{header}.{payload}.{signature}") == "token_invalid"
    assert refusal(signer, f"{payload}.{signature}") == "token_invalid"  # the old shape


def test_tampered_payload_is_invalid() -> None:
    signer = TokenSigner(SECRET)
    header, _, signature = signer.mint(GRANT).split(".")
    forged = signed(claims_of(role="therapist"), key="another-secret-entirely-0123456789")
    assert refusal(signer, f"{header}.{forged.split('.')[1]}.{signature}") == "token_invalid"


def test_token_of_another_secret_is_invalid() -> None:
    token = TokenSigner("another-secret-entirely-0123456789").mint(GRANT)
    assert refusal(TokenSigner(SECRET), token) == "token_invalid"


def test_alg_none_is_refused() -> None:
    header = b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    payload = b64(json.dumps(claims_of(role="therapist")).encode())
    for token in (f"{header}.{payload}.", f"{header}.{payload}"):
        assert refusal(TokenSigner(SECRET), token) == "token_invalid"


@pytest.mark.parametrize("alg", ["HS384", "HS512"])
def test_another_algorithm_is_refused_even_with_our_secret(alg: str) -> None:
    secret = SECRET * 2  # long enough for HS512, so PyJWT mints it without a warning
    token = jwt.encode(claims_of(), secret, algorithm=alg)
    assert refusal(TokenSigner(secret), token) == "token_invalid"


def test_the_old_format_no_longer_works() -> None:
    payload = b64(json.dumps({"v": 1, "sid": "s_1", "pid": "p_1", "exp": NOW + 60}).encode())
    assert refusal(TokenSigner(SECRET), f"{payload}.{b64(b'x' * 32)}") == "token_invalid"


def test_expired_token_is_refused_from_its_expiry_on() -> None:
    signer = TokenSigner(SECRET)
    token = signer.mint(GRANT)
    assert signer.verify(token, GRANT.expires_at - 1) == GRANT
    assert refusal(signer, token, now=GRANT.expires_at) == "token_expired"
    assert refusal(signer, token, now=GRANT.expires_at + 3600) == "token_expired"


def test_a_token_not_valid_yet_is_refused_beyond_the_clock_skew() -> None:
    signer = TokenSigner(SECRET)
    assert signer.verify(signed(claims_of(nbf=int(NOW) + 60, iat=int(NOW))), NOW)
    assert refusal(signer, signed(claims_of(nbf=int(NOW) + 61))) == "token_invalid"
    assert refusal(signer, signed(claims_of(iat=int(NOW) + 61))) == "token_invalid"


def test_a_token_may_live_at_most_seven_days() -> None:
    signer = TokenSigner(SECRET)
    week = 7 * 24 * 3600
    at = int(NOW) - 10
    assert signer.verify(signed(claims_of(iat=at, nbf=at, exp=at + week)), NOW)
    too_long = signed(claims_of(iat=at, nbf=at, exp=at + week + 3600))
    assert refusal(signer, too_long) == "token_invalid"


@pytest.mark.parametrize("token", [None, "", 42, b"bytes", ["a.b"]])
def test_missing_token(token: object) -> None:
    assert refusal(TokenSigner(SECRET), token) == "token_missing"


@pytest.mark.parametrize(
    "token",
    ["no-dot", "a.b", "a.b.c", ".", "..", "abc.", ".abc", "a.b.c.d"],
    ids=["no-dot", "one-dot", "two-dots", "dot", "dots", "a.", ".a", "three-dots"],
)
def test_malformed_token(token: str) -> None:
    assert refusal(TokenSigner(SECRET), token) == "token_invalid"


def test_too_long_token_is_refused_even_when_signed() -> None:
    token = signed(claims_of(pad="x" * MAX_TOKEN_LENGTH))
    assert refusal(TokenSigner(SECRET), token) == "token_invalid"


@pytest.mark.parametrize(
    "claims",
    [
        claims_of(aud=None),
        claims_of(aud="elsewhere"),
        claims_of(exp=None),
        claims_of(nbf=None),
        claims_of(sub=None),
        claims_of(jti=None),
        claims_of(session=None),
        claims_of(role="admin"),
        claims_of(role=None),
        claims_of(name=""),
        claims_of(name=None),
        claims_of(name="x" * 65),
        claims_of(name="Alex\x07"),
        claims_of(name=7),
        claims_of(sub="p 1"),
        claims_of(sub="p" * 65),
        claims_of(sub=12),
        claims_of(session="s/../1"),
        claims_of(jti="l 1"),
        claims_of(exp="tomorrow"),
        claims_of(exp=True),
        claims_of(nbf="now"),
        claims_of(admitted="yes"),
        ["not", "an", "object"],
    ],
    ids=[
        "no-audience",
        "wrong-audience",
        "no-expiry",
        "no-not-before",
        "no-participant",
        "no-link-id",
        "no-session",
        "unknown-role",
        "no-role",
        "empty-name",
        "no-name",
        "long-name",
        "control-char-name",
        "number-name",
        "space-in-participant",
        "long-participant",
        "number-participant",
        "path-session",
        "space-in-link-id",
        "text-expiry",
        "boolean-expiry",
        "text-not-before",
        "text-admitted",
        "array",
    ],
)
def test_signed_but_malformed_claims_are_invalid(claims: Any) -> None:
    if isinstance(claims, list):
        token = jwt.api_jws.encode(json.dumps(claims).encode(), SECRET, algorithm="HS256")
    else:
        token = signed(claims)
    assert refusal(TokenSigner(SECRET), token) == "token_invalid"


def test_payload_that_is_not_json_is_invalid() -> None:
    token = jwt.api_jws.encode(b"\xff\xfe not json", SECRET, algorithm="HS256")
    assert refusal(TokenSigner(SECRET), token) == "token_invalid"


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
