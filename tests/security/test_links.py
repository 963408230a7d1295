"""Join links under attack, replayed against a real server: links that could not be
revoked (before use, while connected, a captioner's), two sockets on one captioner
token, and JWTs as another system mints them (PyJWT directly, not our code) or as an
attacker forges them. Each test fails on the code before the fix."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import jwt
import pytest

from tests.integration.helpers import arrive
from tests.support.audio import OpusPacketTrack, back_to_back, encode_opus, silence, speak
from tests.support.client import Client
from tests.support.server import PeerCircleServer, StartServer

pytestmark = pytest.mark.integration

MakeClient = Callable[..., Client]


async def captioner_service(
    server: PeerCircleServer, clients: MakeClient, session_id: str
) -> tuple[Client, dict[str, Any]]:
    """A captioner service connected to the session, and its link."""
    link = await server.mint_link(session_id, "Clinic STT", "captioner")
    captioner = clients(server, link["token"])
    await captioner.connect(join=False)
    return captioner, link


async def revoke(client: Client, participant: str) -> None:
    """A facilitator sends `revoke-link` and gets no error for it."""
    count = len(client.errors)
    await client.emit("revoke-link", {"participant": participant})
    await client.sio.sleep(0.3)
    assert client.errors[count:] == []


def link_of(state: dict[str, Any], participant: str) -> dict[str, Any]:
    links = [link for link in state["links"] if link["participant_id"] == participant]
    assert len(links) == 1, state["links"]
    found: dict[str, Any] = links[0]
    return found


def claims(server: PeerCircleServer, session_id: str, **changes: Any) -> dict[str, Any]:
    """The claims another system puts in a join token (docs/API.md); None drops one."""
    now = int(time.time())
    body: dict[str, Any] = {
        "aud": "peercircle",
        "sub": "p_from_the_ehr_0001",
        "jti": "ehr-invite-77",
        "session": session_id,
        "name": "Jordan",
        "role": "patient",
        "admitted": True,
        "iat": now,
        "nbf": now,
        "exp": now + 3600,
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


# -- revoking ------------------------------------------------------------------------


async def test_a_link_revoked_before_use_cannot_join(
    server: PeerCircleServer, clients: MakeClient
) -> None:
    session = await server.create_session()
    sid = session["id"]
    therapist, _ = await arrive(server, clients, sid, "Dr. Rivera", "therapist")
    link = await server.mint_link(sid, "Alex")
    state = await server.session_state(sid)
    unused = link_of(state, link["participant_id"])
    assert (unused["used"], unused["revoked"], unused["role"]) == (False, False, "patient")
    assert "token" not in unused

    await revoke(therapist, link["participant_id"])

    refusal = await clients(server, link["token"]).connect_refused()
    assert refusal["code"] == "link_revoked"
    state = await server.session_state(sid)
    assert link_of(state, link["participant_id"])["revoked"] is True
    assert link["participant_id"] not in {p["id"] for p in state["participants"]}
    status, audit = await server.request("GET", f"/api/sessions/{sid}/audit")
    assert status == 200
    revoked = [r for r in audit["records"] if r["action"] == "link-revoke"]
    assert [(r["actor"], r["target"]) for r in revoked] == [
        (therapist.participant_id, link["participant_id"])
    ]


async def test_the_admin_api_revokes_a_link_used_or_not(
    server: PeerCircleServer, clients: MakeClient
) -> None:
    session = await server.create_session()
    sid = session["id"]
    link = await server.mint_link(sid, "Alex")
    path = f"/api/sessions/{sid}/links/{link['participant_id']}"
    status, state = await server.request("DELETE", path)
    assert status == 200 and link_of(state, link["participant_id"])["revoked"] is True
    assert (await clients(server, link["token"]).connect_refused())["code"] == "link_revoked"
    # Revoking again changes nothing; without the admin key nothing is revoked.
    assert (await server.request("DELETE", path))[0] == 200
    other = await server.mint_link(sid, "Sam")
    status, _ = await server.request(
        "DELETE", f"/api/sessions/{sid}/links/{other['participant_id']}", authorized=False
    )
    assert status == 401
    sam = clients(server, other["token"])
    await sam.connect()
    await sam.next_event("welcome")


async def test_a_link_revoked_while_connected_disconnects_every_socket_and_nothing_more_arrives(
    server: PeerCircleServer, clients: MakeClient
) -> None:
    session = await server.create_session()
    sid = session["id"]
    therapist, _ = await arrive(server, clients, sid, "Dr. Rivera", "therapist")
    sam, _ = await arrive(server, clients, sid, "Sam")
    alex, alex_id = await arrive(server, clients, sid, "Alex")
    # A second socket with the same link that never sent `join`.
    lurker = clients(server, alex.token)
    await lurker.connect(join=False)

    await revoke(therapist, alex_id)

    left = await alex.next_event("session-left")
    assert left["reason"] == "removed"
    await alex.wait_for(lambda: alex.disconnected)
    await lurker.wait_for(lambda: lurker.disconnected)
    gone = await therapist.next_event("participant-left", lambda b: b["id"] == alex_id)
    assert gone["reason"] == "removed"
    seen_by_alex, seen_by_lurker = len(alex.events), len(lurker.events)
    await sam.emit("chat", {"to": "room", "text": "Something only the group hears"})
    await therapist.next_event("chat-message", lambda m: m["from"] == sam.participant_id)
    await therapist.sio.sleep(0.3)
    assert [e for e, _ in alex.events[seen_by_alex:]] == []
    assert [e for e, _ in lurker.events[seen_by_lurker:]] == []
    assert (await clients(server, alex.token).connect_refused())["code"] == "link_revoked"


async def test_a_socket_that_never_joined_is_closed_when_its_link_is_revoked(
    server: PeerCircleServer, clients: MakeClient
) -> None:
    session = await server.create_session()
    sid = session["id"]
    link = await server.mint_link(sid, "Alex")
    idle = clients(server, link["token"])
    await idle.connect(join=False)
    status, _ = await server.request(
        "DELETE", f"/api/sessions/{sid}/links/{link['participant_id']}"
    )
    assert status == 200
    assert (await idle.next_event("session-left"))["reason"] == "revoked"
    await idle.wait_for(lambda: idle.disconnected)


async def test_a_patient_cannot_revoke_links_and_nobody_revokes_the_therapists(
    server: PeerCircleServer, clients: MakeClient
) -> None:
    session = await server.create_session()
    sid = session["id"]
    therapist, therapist_id = await arrive(server, clients, sid, "Dr. Rivera", "therapist")
    cofac, _ = await arrive(server, clients, sid, "Co", "co-facilitator")
    alex, _ = await arrive(server, clients, sid, "Alex")
    unused = await server.mint_link(sid, "Sam")
    for client, target, code in (
        (alex, unused["participant_id"], "not_permitted"),
        (cofac, therapist_id, "not_permitted"),
        (cofac, "p_never_heard_of", "not_found"),
    ):
        count = len(client.errors)
        await client.emit("revoke-link", {"participant": target})
        await client.wait_for(lambda c=client, n=count: len(c.errors) > n)  # type: ignore[misc]
        assert client.errors[count]["code"] == code
    state = await server.session_state(sid)
    assert link_of(state, unused["participant_id"])["revoked"] is False
    assert therapist.participant_id in {p["id"] for p in state["participants"]}


# -- captioner services ------------------------------------------------------------------


async def test_a_captioner_is_listed_and_told_to_facilitators_and_its_link_revoked(
    server: PeerCircleServer, clients: MakeClient
) -> None:
    session = await server.create_session()
    sid = session["id"]
    therapist, _ = await arrive(server, clients, sid, "Dr. Rivera", "therapist")
    alex, _ = await arrive(server, clients, sid, "Alex")
    assert therapist.welcome is not None and therapist.welcome["captioners"] == []
    captioner, link = await captioner_service(server, clients, sid)
    pid = link["participant_id"]

    told = await therapist.next_event("captioners", lambda b: b["captioners"] != [])
    assert [(c["id"], c["name"]) for c in told["captioners"]] == [(pid, "Clinic STT")]
    assert all(e != "captioners" for e, _ in alex.events)  # facilitators only
    state = await server.session_state(sid)
    assert [c["id"] for c in state["captioners"]] == [pid]
    assert link_of(state, pid)["used"] is True
    assert pid not in {p["id"] for p in state["participants"]}
    late, _ = await arrive(server, clients, sid, "Co", "co-facilitator")
    assert late.welcome is not None and [c["id"] for c in late.welcome["captioners"]] == [pid]

    await revoke(therapist, pid)

    assert (await captioner.next_event("session-left"))["reason"] == "revoked"
    await captioner.wait_for(lambda: captioner.disconnected)
    await therapist.next_event("captioners", lambda b: b["captioners"] == [])
    assert (await server.session_state(sid))["captioners"] == []
    assert (await clients(server, link["token"]).connect_refused())["code"] == "link_revoked"


async def test_two_sockets_with_one_captioner_token_leave_one_connected(
    server: PeerCircleServer, clients: MakeClient
) -> None:
    session = await server.create_session()
    sid = session["id"]
    first, link = await captioner_service(server, clients, sid)
    second = clients(server, link["token"])
    await second.connect(join=False)
    assert (await first.next_event("session-left"))["reason"] == "replaced"
    await first.wait_for(lambda: first.disconnected)
    assert second.sio.connected
    state = await server.session_state(sid)
    assert [c["id"] for c in state["captioners"]] == [link["participant_id"]]
    # The replaced socket going away leaves the new one listed; the last one leaving
    # takes the service off the list.
    await second.close()
    for _ in range(50):
        if (await server.session_state(sid))["captioners"] == []:
            break
        await second.sio.sleep(0.1)
    assert (await server.session_state(sid))["captioners"] == []


@pytest.mark.media
async def test_a_revoked_captioner_hears_no_more_audio(
    start_server: StartServer, clients: MakeClient
) -> None:
    server = await start_server(env={"PEERCIRCLE_CAPTION_ENGINE": "external"})
    session = await server.create_session()
    sid = session["id"]
    captioner, link = await captioner_service(server, clients, sid)
    therapist, _ = await arrive(server, clients, sid, "Dr. Rivera", "therapist")
    await therapist.emit("captions", {"enabled": True})
    await therapist.next_event("session-settings", lambda b: b["captions"])
    pcm = silence(1.0) + speak("Good morning everyone.") + silence(1.5)
    pcm += speak("I would like to talk about my week.") + silence(1.0)
    pcm += speak("It was a hard one, to be honest.") + silence(2.0)
    mic = OpusPacketTrack(back_to_back(encode_opus(pcm)))
    _, alex_id = await arrive(server, clients, sid, "Alex", publish={"mic": mic})

    first = await captioner.next_event("caption-audio", lambda a: a["final"], within=30)
    assert first["speaker"] == alex_id
    await revoke(therapist, link["participant_id"])
    await captioner.next_event("session-left")
    revoked_at = len(captioner.events)
    await mic.done.wait()
    await therapist.sio.sleep(1.0)
    # Alex went on speaking (two more utterances): none of it reached the captioner.
    after = [e for e, _ in captioner.events[revoked_at:] if e == "caption-audio"]
    assert after == []
    status = await therapist.next_event(
        "captions-status", lambda b: b["reason"] == "captioner disconnected"
    )
    assert status["state"] == "starting"


# -- JWT join tokens -----------------------------------------------------------------------


async def test_a_jwt_minted_by_pyjwt_directly_joins(
    server: PeerCircleServer, clients: MakeClient
) -> None:
    session = await server.create_session(waiting_room=True)
    sid = session["id"]
    therapist, _ = await arrive(server, clients, sid, "Dr. Rivera", "therapist")
    token = jwt.encode(claims(server, sid), server.token_secret, algorithm="HS256")
    jordan = clients(server, token)
    await jordan.connect()
    welcome = await jordan.next_event("welcome")  # pre-admitted: no waiting room
    assert welcome["you"] == {"id": "p_from_the_ehr_0001", "name": "Jordan", "role": "patient"}
    joined = await therapist.next_event("participant-joined")
    assert joined["id"] == "p_from_the_ehr_0001"
    # The admin API revokes a link it never minted.
    await jordan.close()
    status, _ = await server.request("DELETE", f"/api/sessions/{sid}/links/p_from_the_ehr_0001")
    assert status == 200
    assert (await clients(server, token).connect_refused())["code"] == "link_revoked"


def alg_none(body: dict[str, Any]) -> str:
    return jwt.encode(body, None, algorithm="none")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("forge", "code"),
    [
        (lambda s, sid: alg_none(claims(s, sid, role="therapist")), "token_invalid"),
        (lambda s, sid: jwt.encode(claims(s, sid, aud="another-clinic"), s.token_secret), None),
        (lambda s, sid: jwt.encode(claims(s, sid, exp=None), s.token_secret), None),
        (lambda s, sid: jwt.encode(claims(s, sid, aud=None), s.token_secret), None),
        (lambda s, sid: jwt.encode(claims(s, sid, jti=None), s.token_secret), None),
        (lambda s, sid: jwt.encode(claims(s, sid, nbf=None), s.token_secret), None),
        (
            lambda s, sid: jwt.encode(
                claims(s, sid, exp=int(time.time()) - 5, nbf=int(time.time()) - 60),
                s.token_secret,
            ),
            "token_expired",
        ),
        (
            lambda s, sid: jwt.encode(claims(s, sid), "a-secret-this-server-never-had-0123456789"),
            None,
        ),
    ],
    ids=[
        "alg-none",
        "wrong-audience",
        "no-exp",
        "no-aud",
        "no-jti",
        "no-nbf",
        "expired",
        "other-secret",
    ],
)
async def test_forged_or_incomplete_jwts_are_refused_with_the_right_code(
    server: PeerCircleServer,
    clients: MakeClient,
    forge: Callable[[PeerCircleServer, str], str],
    code: str | None,
) -> None:
    session = await server.create_session()
    token = forge(server, session["id"])
    refusal = await clients(server, token).connect_refused()
    assert refusal["code"] == (code or "token_invalid")


@pytest.mark.parametrize("signature", ["é" * 43, "\u00ff\u00fe\u00fd", "签名", "\u202etxt"])
async def test_a_non_ascii_signature_gets_a_clean_token_invalid(
    server: PeerCircleServer, clients: MakeClient, signature: str
) -> None:
    session = await server.create_session()
    link = await server.mint_link(session["id"], "Alex")
    header, payload, _ = link["token"].split(".")
    before = server.log_tail(10_000).count("Traceback")
    # The JWT shape, and the two-part shape of the tokens before it (what the audit sent).
    for token in (f"{header}.{payload}.{signature}", f"{payload}.{signature}"):
        refusal = await clients(server, token).connect_refused()
        assert refusal["code"] == "token_invalid"
    assert server.log_tail(10_000).count("Traceback") == before
    # The server is fine: the real link still works.
    alex = clients(server, link["token"])
    await alex.connect()
    await alex.next_event("welcome")
