"""Connecting (docs/PROTOCOL.md, "Connecting"): every refusal and its code, against a
real server process."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from server.domain.roles import Role
from server.tokens import JoinGrant, TokenSigner, new_participant_id
from tests.integration.helpers import joined
from tests.support.client import PROTOCOL_VERSION, Client
from tests.support.server import PeerCircleServer, StartServer

pytestmark = pytest.mark.integration

MakeClient = Callable[..., Client]


def foreign_token(secret: str, session_id: str, expires_in: float = 3600) -> str:
    """A well-formed token signed with `secret`."""
    now = time.time()
    start = min(now, now + expires_in - 60)
    grant = JoinGrant(
        session_id, new_participant_id(), "Mallory", Role.PATIENT, now + expires_in, False, start
    )
    return TokenSigner(secret).mint(grant)


# -- connecting ----------------------------------------------------------------------


async def test_connect_without_token_is_refused_with_token_missing(
    server: PeerCircleServer, clients: MakeClient
) -> None:
    client = clients(server, "")
    refusal = await client.connect_refused(auth={"protocol": PROTOCOL_VERSION})
    assert refusal["code"] == "token_missing"


@pytest.mark.parametrize(
    "token",
    ["not-a-token", "abc.def", "a.b.c", "x" * 3000 + ".y"],
    ids=["no-dot", "bad-signature", "two-dots", "too-long"],
)
async def test_connect_with_garbage_token_is_refused_with_token_invalid(
    server: PeerCircleServer, clients: MakeClient, token: str
) -> None:
    refusal = await clients(server, token).connect_refused()
    assert refusal["code"] == "token_invalid"


async def test_connect_with_tampered_token_is_refused_with_token_invalid(
    server: PeerCircleServer, clients: MakeClient
) -> None:
    session = await server.create_session()
    link = await server.mint_link(session["id"], "Alex")
    header, payload, signature = link["token"].split(".")
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    refusal = await clients(server, f"{header}.{payload}.{flipped}").connect_refused()
    assert refusal["code"] == "token_invalid"


async def test_connect_with_expired_token_is_refused_with_token_expired(
    server: PeerCircleServer, clients: MakeClient
) -> None:
    session = await server.create_session()
    token = foreign_token(server.token_secret, session["id"], expires_in=-5)
    refusal = await clients(server, token).connect_refused()
    assert refusal["code"] == "token_expired"


async def test_connect_with_token_of_another_deployment_is_refused_with_token_invalid(
    server: PeerCircleServer, clients: MakeClient
) -> None:
    session = await server.create_session()
    token = foreign_token("another-deployment-secret-0123456789", session["id"])
    refusal = await clients(server, token).connect_refused()
    assert refusal["code"] == "token_invalid"


async def test_connect_to_unknown_session_is_refused_with_session_unknown(
    server: PeerCircleServer, clients: MakeClient
) -> None:
    token = foreign_token(server.token_secret, "s_00000000deadbeef")
    refusal = await clients(server, token).connect_refused()
    assert refusal["code"] == "session_unknown"


@pytest.mark.parametrize("protocol", [2, 0, "1"])
async def test_connect_with_unsupported_protocol_is_refused(
    server: PeerCircleServer, clients: MakeClient, protocol: object
) -> None:
    session = await server.create_session()
    link = await server.mint_link(session["id"], "Alex")
    client = clients(server, link["token"])
    refusal = await client.connect_refused(auth={"token": link["token"], "protocol": protocol})
    assert refusal["code"] == "protocol_unsupported"


async def test_captioner_token_connects_as_a_service_and_cannot_join_the_call(
    server: PeerCircleServer, clients: MakeClient
) -> None:
    session = await server.create_session()
    link = await server.mint_link(session["id"], "Caption bot", "captioner")
    bot = clients(server, link["token"])
    await bot.connect(join=False)
    for event, body in (("join", {}), ("chat", {"to": "room", "text": "hi"}), ("mute-all", {})):
        count = len(bot.errors)
        await bot.emit(event, body)
        await bot.wait_for(lambda count=count: len(bot.errors) > count)  # type: ignore[misc]
        assert bot.errors[-1]["code"] == "not_permitted", event
    assert bot.welcome is None and bot.offers_received == []
    state = await server.session_state(session["id"])
    assert link["participant_id"] not in {p["id"] for p in state["participants"]}


async def test_connect_to_full_session_is_refused_with_session_full(
    start_server: StartServer, clients: MakeClient
) -> None:
    server = await start_server(env={"PEERCIRCLE_MAX_PARTICIPANTS": "2"})
    session = await server.create_session()
    await joined(server, clients, session["id"], "Alex")
    await joined(server, clients, session["id"], "Sam")
    link = await server.mint_link(session["id"], "Jordan")
    refusal = await clients(server, link["token"]).connect_refused()
    assert refusal["code"] == "session_full"
