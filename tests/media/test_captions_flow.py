"""Captions through the whole server: real aiortc peers speak (espeak-ng, Opus), the
server taps and segments their mics, an engine transcribes, the room sees the text.
A participant who declined is never sent to any engine."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support.audio import OpusPacketTrack, back_to_back, encode_opus, silence, speak
from tests.support.client import Client
from tests.support.server import PeerCircleServer, StartServer

pytestmark = pytest.mark.media

MakeClient = Callable[..., Client]
WITHIN = 90.0
ROOT = Path(__file__).resolve().parents[2]  # a cold whisper worker on a busy 2-core machine


def spoken(
    text: str, voice: str = "en-us", lead_s: float = 1.0, tail_s: float = 2.0
) -> OpusPacketTrack:
    """A mic that says `text` after `lead_s` of silence, then sends `tail_s` of silence
    (long enough for the utterance to end)."""
    pcm = silence(lead_s) + speak(text, voice) + silence(tail_s)
    return OpusPacketTrack(back_to_back(encode_opus(pcm)))


async def person(
    server: PeerCircleServer,
    clients: MakeClient,
    session_id: str,
    name: str,
    role: str = "patient",
    mic: OpusPacketTrack | None = None,
) -> Client:
    link = await server.mint_link(session_id, name, role, admitted=True)
    client = clients(server, link["token"], publish={"mic": mic} if mic else {})
    await client.connect()
    await client.next_event("welcome")
    return client


async def captioner_service(server: PeerCircleServer, clients: MakeClient, sid: str) -> Client:
    """A captioner service connected to the session (it never joins the call)."""
    link = await server.mint_link(sid, "Clinic STT", "captioner")
    captioner = clients(server, link["token"])
    await captioner.connect(join=False)
    return captioner


def captions_by(client: Client, speaker: str) -> list[dict[str, Any]]:
    return [d for e, d in client.events if e == "caption" and d["speaker"] == speaker]


async def test_the_room_reads_what_was_said_and_a_declined_speaker_is_never_captioned(
    start_server: StartServer, clients: MakeClient
) -> None:
    server = await start_server(env={"PEERCIRCLE_CAPTION_ENGINE": "whisper"})
    session = await server.create_session("Captioned group")
    sid = session["id"]
    therapist = await person(server, clients, sid, "Dr. Rivera", "therapist")
    # Sam declines before captions start; Sam speaks first, Alex after.
    sam_mic = spoken("I would rather keep this between us today.", "en-gb+f3", lead_s=0.5)
    sam = await person(server, clients, sid, "Sam", mic=sam_mic)
    await sam.emit("caption-consent", {"declined": True})
    await sam.next_event("caption-consent", lambda b: b["declined"])
    await therapist.emit("captions", {"enabled": True})
    await therapist.next_event("session-settings", lambda b: b["captions"])
    alex_mic = spoken("Please open the window in the kitchen.", lead_s=5.0)
    alex = await person(server, clients, sid, "Alex", mic=alex_mic)

    final = await therapist.next_event(
        "caption", lambda c: c["speaker"] == alex.participant_id and c["final"], within=WITHIN
    )
    words = final["text"].lower()
    assert "window" in words and "kitchen" in words, final
    assert final["name"] == "Alex"
    assert sam_mic.done.is_set()  # Sam spoke before Alex's caption came
    assert captions_by(therapist, sam.participant_id) == []
    assert captions_by(alex, sam.participant_id) == []
    metrics = await server.metrics()
    # Only Alex's utterance reached the engine.
    assert metrics["captions_submitted"] >= 1
    assert metrics["captions_transcribed"] <= metrics["captions_submitted"]
    # Shown live, never stored: this session keeps no transcript.
    status, kept = await server.request("GET", f"/api/sessions/{sid}/transcript")
    assert (status, kept) == (200, {"lines": []})


async def test_an_external_captioner_hears_consenting_speakers_and_its_text_is_shown(
    start_server: StartServer, clients: MakeClient
) -> None:
    server = await start_server(env={"PEERCIRCLE_CAPTION_ENGINE": "external"})
    session = await server.create_session("Clinic captions")
    sid = session["id"]
    captioner = await captioner_service(server, clients, sid)
    therapist = await person(server, clients, sid, "Dr. Rivera", "therapist")
    await therapist.emit("captions", {"enabled": True, "transcript": True})
    await therapist.next_event("session-settings", lambda b: b["captions"] and b["transcript"])
    alex = await person(server, clients, sid, "Alex", mic=spoken("Good morning everyone."))

    audio = await captioner.next_event("caption-audio", lambda a: a["final"], within=30)
    assert audio["speaker"] == alex.participant_id
    assert audio["sample_rate"] == 16000 and len(audio["audio"]) > 16000  # > 0.5 s
    await captioner.emit(
        "caption-text",
        {
            "utterance": audio["utterance"],
            "room": audio["room"],
            "text": "good morning everyone",
            "final": True,
        },
    )
    shown = await therapist.next_event("caption", lambda c: c["final"], within=10)
    assert (shown["text"], shown["name"]) == ("good morning everyone", "Alex")
    # A caption for a room it was not given is refused and shows nothing.
    before = len(captioner.errors)
    await captioner.emit(
        "caption-text",
        {"utterance": audio["utterance"], "room": "r9", "text": "forged", "final": True},
    )
    await captioner.wait_for(lambda: len(captioner.errors) > before)
    # ...and a participant cannot send captions at all.
    before = len(alex.errors)
    await alex.emit("caption-text", {"utterance": "x", "room": "main", "text": "hi", "final": True})
    await alex.wait_for(lambda: len(alex.errors) > before)
    assert alex.errors[-1]["code"] == "not_permitted"
    assert [c["text"] for e, c in therapist.events if e == "caption"] == ["good morning everyone"]
    # The session keeps a transcript: the final caption is in it, and nothing forged.
    status, kept = await server.request("GET", f"/api/sessions/{sid}/transcript")
    assert status == 200
    assert [(line["speaker"], line["text"]) for line in kept["lines"]] == [
        (alex.participant_id, "good morning everyone")
    ]


async def test_a_crashing_engine_is_switched_off_with_a_notice_and_the_call_goes_on(
    start_server: StartServer, clients: MakeClient
) -> None:
    server = await start_server(
        env={
            "PEERCIRCLE_CAPTION_ENGINE": "tests.captions.engines:crashing",
            "PEERCIRCLE_CAPTION_MAX_FAILURES": "2",
            "PEERCIRCLE_CAPTION_RESTART_DELAY_S": "0.05",
        }
    )
    session = await server.create_session("Captioned group")
    sid = session["id"]
    therapist = await person(server, clients, sid, "Dr. Rivera", "therapist")
    await therapist.emit("captions", {"enabled": True})
    text = "One. Two. Three. Four. Five. Six. Seven. Eight."
    alex = await person(server, clients, sid, "Alex", mic=spoken(text, lead_s=0.5, tail_s=60))
    restarting = await therapist.next_event(
        "captions-status", lambda s: s["state"] == "restarting", within=WITHIN
    )
    assert restarting["engine"] == "crashing"
    off = await therapist.next_event(
        "captions-status", lambda s: s["state"] == "off", within=WITHIN
    )
    assert off["reason"]
    # The call goes on: Alex's mic keeps reaching the therapist.
    heard = therapist.frames_from(alex.participant_id, "audio")
    await therapist.wait_for(
        lambda: therapist.frames_from(alex.participant_id, "audio") > heard + 50
    )
    assert [e for e, _ in therapist.events if e == "caption"] == []


async def test_the_example_captioner_captions_a_session(
    start_server: StartServer, clients: MakeClient
) -> None:
    server = await start_server(env={"PEERCIRCLE_CAPTION_ENGINE": "external"})
    session = await server.create_session("Clinic captions")
    sid = session["id"]
    link = await server.mint_link(sid, "Clinic STT", "captioner")
    example = await asyncio.create_subprocess_exec(
        sys.executable,
        str(ROOT / "examples" / "captioner.py"),
        "--url",
        server.base_url,
        "--token",
        link["token"],
        "--trivial",
        cwd=ROOT,
    )
    try:
        therapist = await person(server, clients, sid, "Dr. Rivera", "therapist")
        await therapist.emit("captions", {"enabled": True})
        alex = await person(server, clients, sid, "Alex", mic=spoken("Good morning everyone."))
        shown = await therapist.next_event(
            "caption", lambda c: c["final"] and c["speaker"] == alex.participant_id, within=30
        )
        assert shown["text"].endswith("s of speech]"), shown
    finally:
        example.terminate()
        await example.wait()


async def test_each_breakout_room_sees_only_its_own_captions(
    start_server: StartServer, clients: MakeClient
) -> None:
    server = await start_server(env={"PEERCIRCLE_CAPTION_ENGINE": "external"})
    session = await server.create_session("Rooms with captions")
    sid = session["id"]
    captioner = await captioner_service(server, clients, sid)
    therapist = await person(server, clients, sid, "Dr. Rivera", "therapist")
    kim = await person(server, clients, sid, "Kim")
    jo = await person(server, clients, sid, "Jo")
    await therapist.emit("breakout-rooms", {"names": ["Blue", "Green"]})
    await therapist.emit("breakout-move", {"participant": kim.participant_id, "room": "r1"})
    await therapist.emit("breakout-move", {"participant": jo.participant_id, "room": "r2"})
    await therapist.emit("breakout-open", {})
    await jo.next_event("moved")
    await therapist.emit("captions", {"enabled": True})
    # Alex joins while the rooms are open and speaks in Blue, with Kim.
    alex_link = await server.mint_link(sid, "Alex", "patient", admitted=True)
    alex = clients(
        server, alex_link["token"], publish={"mic": spoken("Good morning, Blue room.", lead_s=4.0)}
    )
    await alex.connect()
    await alex.next_event("welcome")
    await therapist.emit("breakout-move", {"participant": alex.participant_id, "room": "r1"})
    await alex.next_event("moved")

    audio = await captioner.next_event("caption-audio", lambda a: a["final"], within=30)
    assert (audio["speaker"], audio["room"]) == (alex.participant_id, "r1")
    await captioner.emit(
        "caption-text",
        {
            "utterance": audio["utterance"],
            "room": "r1",
            "text": "good morning blue room",
            "final": True,
        },
    )
    await kim.next_event("caption", lambda c: c["final"], within=10)
    await alex.next_event("caption", lambda c: c["final"], within=10)
    # Jo (Green) and the therapist (main) saw none of it: after a round trip through the
    # server (a chat in their own room), nothing of Blue's captions has reached them.
    await jo.emit("chat", {"to": "room", "text": "green here"})
    await jo.next_event("chat-message", lambda m: m["text"] == "green here")
    assert [d for e, d in jo.events if e == "caption"] == []
    await therapist.emit("chat", {"to": "room", "text": "main here"})
    await therapist.next_event("chat-message", lambda m: m["text"] == "main here")
    assert [d for e, d in therapist.events if e == "caption"] == []
