"""Speaking time end to end through a real server process: aiortc peers publish
espeak-ng speech (pre-encoded Opus), the server decodes and measures it, and the
facilitator's `speaking-stats` must match the known truth; who gets what is checked
on every client."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiortc import MediaStreamTrack

from tests.support.audio import (
    RATE,
    OpusPacketTrack,
    back_to_back,
    encode_opus,
    silence,
    speak,
)
from tests.support.client import Client
from tests.support.redis_server import running_redis
from tests.support.server import PeerCircleServer, StartServer

pytestmark = pytest.mark.media

Clients = Callable[..., Client]
# Long sentences: each sentence's edges cost VAD and smoothing a fraction of a second.
SENTENCES = (
    "Every voice in this group deserves to be heard, so we take turns and listen to "
    "one another without rushing to answer.",
    "Take a slow breath and tell us how your week went, what was hard about it, and "
    "what helped you get through the difficult days.",
    "I noticed that I was calmer this week when I went for a long walk by the river "
    "each morning before work, even on the days it rained.",
)
# Fast cues for the test: not-yet-spoken after 3 s present, no rate limit worth noting.
ENV = {"PEERCIRCLE_SPEAKING_NOT_SPOKEN_AFTER_S": "3"}
# Speaking time must be within this fraction of the summed sentence lengths.
TOLERANCE = 0.05


def utterance(texts: tuple[str, ...], voice: str, lead_s: float = 0.5) -> tuple[bytes, float]:
    """Sentences 1 s apart after `lead_s` of silence, and their summed lengths (the truth)."""
    pcm, truth = silence(lead_s), 0.0
    for text in texts:
        sentence = speak(text, voice)
        pcm += sentence + silence(1.0)
        truth += len(sentence) / 2 / RATE
    return pcm, truth


def mic(pcm: bytes) -> OpusPacketTrack:
    """A mic that says `pcm` once, in real time, then sends nothing."""
    return OpusPacketTrack(back_to_back(encode_opus(pcm)))


def latest(client: Client, event: str) -> Any:
    """The data of the last `event` the client received, or None."""
    found = [data for name, data in client.events if name == event]
    return found[-1] if found else None


def talk_of(therapist: Client, pid: str, room: str | None = None) -> float:
    """A person's whole-session talk (in one room, if given) in the latest stats."""
    stats = latest(therapist, "speaking-stats")
    if stats is None:
        return -1.0
    if room is None:
        group = stats["session"]["whole"]
    else:
        group = next((r["whole"] for r in stats["rooms"] if r["room"] == room), None)
        if group is None:
            return -1.0
    person = next((p for p in group["people"] if p["id"] == pid), None)
    return float(person["talkS"]) if person else -1.0


def near(value: float, truth: float) -> bool:
    return abs(value - truth) <= TOLERANCE * truth


async def joined(
    clients: Clients,
    server: PeerCircleServer,
    session_id: str,
    name: str,
    role: str,
    track: MediaStreamTrack | None = None,
    token: str | None = None,
) -> Client:
    if token is None:
        token = (await server.mint_link(session_id, name, role))["token"]
    client = clients(server, token, {"mic": track} if track is not None else {})
    await client.connect()
    await client.wait_for(lambda: client.welcome is not None)
    return client


@pytest.fixture(scope="module")
def speech() -> dict[str, tuple[bytes, float]]:
    """Two speakers' utterances in two voices, with their truths."""
    return {
        "ada": utterance(SENTENCES[:2], "en-us"),
        # Time enough to be moved to a breakout room before speaking.
        "ada-later": utterance(SENTENCES[2:], "en-us", lead_s=3.0),
        "ben": utterance(SENTENCES[1:], "en-gb+f3"),
    }


async def test_totals_mute_cues_reconnect_and_move(
    start_server: StartServer, clients: Clients, speech: dict[str, tuple[bytes, float]]
) -> None:
    server = await start_server(reconnect_grace_s=10.0, env=ENV)
    session = await server.create_session()
    sid = session["id"]
    therapist = await joined(clients, server, sid, "Therapist", "therapist")
    ada_link = await server.mint_link(sid, "Ada", "patient")
    ada_pcm, ada_truth = speech["ada"]
    ben_pcm, _ = speech["ben"]
    ben_track = mic(ben_pcm)
    # Ben mutes before his mic sends a packet: everything he says is muted speech.
    ben_token = (await server.mint_link(sid, "Ben", "patient"))["token"]
    ben = clients(server, ben_token, {"mic": ben_track})
    await ben.connect(join=False)
    await ben.join()
    await ben.wait_for(lambda: ben.welcome is not None)
    await ben.emit("media-state", {"mic": "off"})
    cal = await joined(clients, server, sid, "Cal", "patient")  # never speaks, no mic
    ada_track = mic(ada_pcm)
    ada = await joined(clients, server, sid, "Ada", "patient", ada_track, ada_link["token"])
    ada_id, ben_id, cal_id = ada.participant_id, ben.participant_id, cal.participant_id

    # The silent patient's not-yet-spoken cue reaches the facilitator.
    cue = await therapist.next_event(
        "cue", lambda c: c["kind"] == "not-yet-spoken" and c["person"] == cal_id, within=20
    )
    assert "Cal has not spoken yet" in cue["text"]

    await asyncio.wait_for(ada_track.done.wait(), 60)
    await asyncio.wait_for(ben_track.done.wait(), 60)
    await therapist.wait_for(lambda: near(talk_of(therapist, ada_id), ada_truth), within=15)
    assert talk_of(therapist, ben_id) == 0.0, "a muted mic accrues nothing"
    final = talk_of(therapist, ada_id)
    await ada.wait_for(
        lambda: abs((latest(ada, "my-speaking") or {}).get("talkS", -9) - final) <= 1, within=15
    )

    # Ada drops and comes back (same link), is moved to a breakout room, and speaks again.
    await ada.close()
    later_pcm, later_truth = speech["ada-later"]
    await therapist.emit("breakout-rooms", {"names": ["Blue"]})
    await therapist.next_event("breakout-console")
    later_track = mic(later_pcm)
    again = await joined(clients, server, sid, "Ada", "patient", later_track, ada_link["token"])
    await therapist.emit("breakout-move", {"participant": ada_id, "room": "r1"})
    await therapist.emit("breakout-open", {"durationS": None})
    await again.next_event("moved", within=10)
    await asyncio.wait_for(later_track.done.wait(), 60)
    total = ada_truth + later_truth
    await therapist.wait_for(lambda: near(talk_of(therapist, ada_id), total), within=15)
    print(f"measured {talk_of(therapist, ada_id):.2f} s of {total:.2f} s spoken")
    # The room roll-up holds what was said there; the main room keeps the rest.
    assert near(talk_of(therapist, ada_id, "main"), ada_truth)
    assert talk_of(therapist, ada_id, "r1") > 0.5 * later_truth

    # Patients never see others' statistics or any cue; they see their own time only.
    for patient in (ben, cal, again):
        names = {name for name, _ in patient.events}
        assert not names & {"speaking-stats", "cue", "cue-cleared", "hands-order"}, names
        for name, data in patient.events:
            if name == "my-speaking":
                assert set(data) == {"talkS"}
    assert latest(cal, "my-speaking") == {"talkS": 0}

    # The report survives in the store: JSON, CSV and the chart.
    status, report = await server.request("GET", f"/api/sessions/{sid}/report")
    assert status == 200
    whole = {p["id"]: p for p in report["session"]["whole"]["people"]}
    assert near(whole[ada_id]["talkS"], total) and whole[ben_id]["talkS"] == 0
    assert not whole[cal_id]["spoken"]
    status, text = await server.request("GET", f"/api/sessions/{sid}/report?format=csv")
    assert (
        status == 200
        and text.startswith("session,date,span,room,roomName,person,name,")
        and ada_id in text
    )
    status, svg = await server.request("GET", f"/api/sessions/{sid}/report/chart.svg")
    assert status == 200 and svg.startswith("<svg") and "Ada" in svg


async def test_totals_survive_a_server_restart(
    start_server: StartServer,
    clients: Clients,
    speech: dict[str, tuple[bytes, float]],
    tmp_path: Path,
) -> None:
    with running_redis(tmp_path) as redis:
        env = {
            "PEERCIRCLE_STORE": "redis",
            "PEERCIRCLE_REDIS_URL": redis.url,
            # Links stay valid across the restart.
            "PEERCIRCLE_TOKEN_SECRET": secrets.token_urlsafe(32),
        }
        first = await start_server(env=env)
        sid = (await first.create_session())["id"]
        link = await first.mint_link(sid, "Therapist", "therapist")
        therapist = await joined(clients, first, sid, "Therapist", "therapist", token=link["token"])
        pcm, truth = speech["ben"]
        track = mic(pcm)
        ben = await joined(clients, first, sid, "Ben", "patient", track)
        ben_id = ben.participant_id
        await asyncio.wait_for(track.done.wait(), 60)
        await therapist.wait_for(lambda: near(talk_of(therapist, ben_id), truth), 15)
        await first.stop()

        second = await start_server(env=env)
        back = await joined(clients, second, sid, "Therapist", "therapist", token=link["token"])
        # The ledger came back from the store: Ben's talk is still there.
        await back.wait_for(lambda: near(talk_of(back, ben_id), truth), 15)


async def test_the_report_expires_with_retention(
    start_server: StartServer, clients: Clients, speech: dict[str, tuple[bytes, float]]
) -> None:
    # A retention of about 8 s: the report is there, then it is gone (404).
    server = await start_server(env={"PEERCIRCLE_STATS_RETENTION_DAYS": str(8 / 86400)})
    session = await server.create_session()
    sid = session["id"]
    therapist = await joined(clients, server, sid, "Therapist", "therapist")
    pcm, truth = speech["ben"]
    track = mic(pcm)
    ben = await joined(clients, server, sid, "Ben", "patient", track)
    await asyncio.wait_for(track.done.wait(), 60)
    await therapist.wait_for(lambda: near(talk_of(therapist, ben.participant_id), truth), 15)
    status, _ = await server.request("GET", f"/api/sessions/{sid}/report")
    assert status == 200
    await server.end_session(sid)
    ended_at = time.monotonic()

    async def gone() -> bool:
        status, _ = await server.request("GET", f"/api/sessions/{sid}/report")
        return status == 404

    while not await gone():
        assert time.monotonic() - ended_at < 20, "the report outlived its retention"
        await asyncio.sleep(0.5)  # polling the API: the next probe, not a guess


async def test_facilitator_requests_and_bad_input(
    start_server: StartServer, clients: Clients
) -> None:
    server = await start_server(env=ENV)
    session = await server.create_session()
    sid = session["id"]
    therapist = await joined(clients, server, sid, "Therapist", "therapist")
    ada = await joined(clients, server, sid, "Ada", "patient")
    ben = await joined(clients, server, sid, "Ben", "patient")
    await ben.emit("raise-hand", {})
    await therapist.next_event("hands", lambda h: len(h["queue"]) == 1)
    await ada.emit("raise-hand", {})
    await therapist.next_event("hands", lambda h: len(h["queue"]) == 2)
    await therapist.emit("hands-by-talk", {})
    order = await therapist.next_event("hands-order")
    assert order["queue"] == [ben.participant_id, ada.participant_id]  # ties: order raised

    # A patient may not ask for others' statistics, dismiss cues or change options.
    attempts: list[tuple[str, dict[str, Any]]] = [
        ("hands-by-talk", {}),
        ("cue-dismiss", {"key": f"not-yet-spoken:{ben.participant_id}:main"}),
        ("speaking-options", {"leadersSeeRoom": True}),
    ]
    for event, body in attempts:
        since = len(ada.events)
        await ada.emit(event, body)
        error = await ada.next_event("error", since=since)
        assert error["code"] == "not_permitted"
    # Malformed payloads are refused and change nothing.
    malformed: list[tuple[str, dict[str, Any]]] = [
        ("cue-dismiss", {"key": "shouting:p_x:main"}),
        ("cue-dismiss", {"key": 5}),
        ("cue-dismiss", {"key": "a:b"}),
        ("hands-by-talk", {"extra": 1}),
        ("speaking-options", {"leadersSeeRoom": "yes"}),
    ]
    for event, body in malformed:
        since = len(therapist.events)
        await therapist.emit(event, body)
        error = await therapist.next_event("error", since=since)
        assert error["event"] == event
        assert error["code"] == "invalid_payload", (event, body, error)

    # The not-yet-spoken cue for Ada appears, is dismissed, and is cleared for everyone.
    cue = await therapist.next_event("cue", lambda c: c["person"] == ada.participant_id, within=20)
    await therapist.emit("cue-dismiss", {"key": cue["key"]})
    await therapist.next_event("cue-cleared", lambda c: c["key"] == cue["key"])
    since = len(therapist.events)
    await therapist.emit("speaking-options", {"leadersSeeRoom": True})
    await therapist.next_event("speaking-options", lambda o: o["leadersSeeRoom"], since)
    assert not {name for name, _ in ada.events} & {"cue", "speaking-stats", "speaking-options"}


async def test_a_peer_leader_sees_the_cues_of_their_room_only_when_allowed(
    start_server: StartServer, clients: Clients
) -> None:
    env = ENV | {"PEERCIRCLE_SPEAKING_CUE_MIN_INTERVAL_S": "1"}
    server = await start_server(env=env)
    sid = (await server.create_session())["id"]
    therapist = await joined(clients, server, sid, "Therapist", "therapist")
    lee = await joined(clients, server, sid, "Lee", "peer-leader")
    ada = await joined(clients, server, sid, "Ada", "patient")
    ben = await joined(clients, server, sid, "Ben", "patient")
    await therapist.emit("breakout-rooms", {"names": ["Blue"]})
    await therapist.next_event("breakout-console")
    for who in (lee, ada):
        await therapist.emit("breakout-move", {"participant": who.participant_id, "room": "r1"})
    await therapist.emit("breakout-leader", {"room": "r1", "participant": lee.participant_id})
    await therapist.emit("breakout-open", {"durationS": None})
    await ada.next_event("moved")

    def cue_for(person: Client, room: str) -> Callable[[Any], bool]:
        return lambda c: c["person"] == person.participant_id and c["room"] == room

    # Not allowed: the facilitators see Ada's cue in r1; Lee sees nothing.
    await therapist.next_event("cue", cue_for(ada, "r1"), within=20)
    await therapist.next_event("cue", cue_for(ben, "main"), within=20)
    # A round trip on Lee's socket: anything sent to him before it has arrived.
    since = len(lee.events)
    await lee.emit("hands-by-talk", {})
    await lee.next_event("error", since=since)
    assert not [name for name, _ in lee.events if name.startswith("cue")]

    # Allowed: Lee gets the cues of r1 (Ada's), never those of the main room (Ben's).
    await therapist.emit("speaking-options", {"leadersSeeRoom": True})
    await lee.next_event("cue", cue_for(ada, "r1"), within=10)
    assert all(data["room"] == "r1" for name, data in lee.events if name == "cue")

    # Taken back: Lee's cues are cleared.
    since = len(lee.events)
    await therapist.emit("speaking-options", {"leadersSeeRoom": False})
    await lee.next_event("cue-cleared", since=since, within=10)
    assert not {name for name, _ in ada.events + ben.events} & {"cue", "speaking-stats"}
