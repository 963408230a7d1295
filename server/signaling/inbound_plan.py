"""Parsing of the session-plan events (`plan-set`, `plan-extend`, `spotlight`)."""

from __future__ import annotations

from typing import Any

from ..domain.errors import ProtocolError
from ..domain.feedback import FEEDBACK_KINDS, MAX_FEEDBACK_TEXT, REACTIONS
from ..domain.plan import MAX_LEADERS, MAX_SEGMENT_TITLE, MAX_SEGMENTS, MAX_TOPIC, SEGMENT_KINDS
from ..domain.planning import SegmentSpec
from .inbound import expect_object, expect_participant, expect_text


def _number(value: Any, name: str) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool) or value != value:
        raise ProtocolError(f"{name}: must be a number of seconds")
    return float(value)


def parse_plan(payload: Any) -> tuple[list[SegmentSpec], bool]:
    """Parse `plan-set`: {"segments": [...], "leadersMayAdvance"?: bool}."""
    body = expect_object(payload, {"segments", "leadersMayAdvance"})
    segments = body.get("segments")
    if not isinstance(segments, list) or not 1 <= len(segments) <= MAX_SEGMENTS:
        raise ProtocolError(f"segments: must be a list of 1-{MAX_SEGMENTS} segments")
    specs = []
    for raw in segments:
        seg = expect_object(raw, {"title", "kind", "plannedS", "topic", "leaders"})
        kind = seg.get("kind")
        if kind not in SEGMENT_KINDS:
            raise ProtocolError(f"kind: must be one of {', '.join(SEGMENT_KINDS)}")
        topic = seg.get("topic", "")
        if not isinstance(topic, str) or len(topic) > MAX_TOPIC:
            raise ProtocolError(f"topic: must be at most {MAX_TOPIC} characters")
        leaders = seg.get("leaders", [])
        if not isinstance(leaders, list) or len(leaders) > MAX_LEADERS:
            raise ProtocolError(f"leaders: must be a list of at most {MAX_LEADERS} ids")
        specs.append(
            SegmentSpec(
                expect_text(seg.get("title"), "title", MAX_SEGMENT_TITLE),
                str(kind),
                _number(seg.get("plannedS"), "plannedS"),
                expect_text(topic, "topic", MAX_TOPIC) if topic.strip() else "",
                tuple(expect_participant(p, "leaders") for p in leaders),
            )
        )
    may_advance = body.get("leadersMayAdvance", False)
    if not isinstance(may_advance, bool):
        raise ProtocolError("leadersMayAdvance: must be true or false")
    return specs, may_advance


def parse_extend(payload: Any) -> float:
    """Parse `plan-extend`: {"seconds": n}."""
    return _number(expect_object(payload, {"seconds"}).get("seconds"), "seconds")


def parse_spotlight(payload: Any) -> str | None:
    """Parse `spotlight`: {"participant": id | null}."""
    body = expect_object(payload, {"participant"})
    if "participant" not in body:
        raise ProtocolError("participant: required (null for nobody)")
    who = body["participant"]
    return None if who is None else expect_participant(who)


def parse_feedback(payload: Any) -> tuple[int, str, str]:
    """Parse `feedback`: {"segment": index, "kind": preset, "text"?: str}."""
    body = expect_object(payload, {"segment", "kind", "text"})
    segment = body.get("segment")
    if not isinstance(segment, int) or isinstance(segment, bool) or not 0 <= segment < 100:
        raise ProtocolError("segment: must be the index of a segment")
    kind = body.get("kind")
    if kind not in FEEDBACK_KINDS:
        raise ProtocolError(f"kind: must be one of {', '.join(FEEDBACK_KINDS)}")
    text = body.get("text", "")
    if not isinstance(text, str) or len(text) > MAX_FEEDBACK_TEXT:
        raise ProtocolError(f"text: must be at most {MAX_FEEDBACK_TEXT} characters")
    if text.strip():
        text = expect_text(text, "text", MAX_FEEDBACK_TEXT, multiline=True)
    return segment, str(kind), text.strip()


def parse_reaction(payload: Any) -> str:
    """Parse `reaction`: {"reaction": one of REACTIONS}."""
    reaction = expect_object(payload, {"reaction"}).get("reaction")
    if reaction not in REACTIONS:
        raise ProtocolError(f"reaction: must be one of {', '.join(REACTIONS)}")
    return str(reaction)
