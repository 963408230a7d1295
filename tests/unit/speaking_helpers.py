"""Hand-built VAD frame sequences for the speaking tests."""

from __future__ import annotations

from server.domain.speaking import FrameBatch, SpeakingLedger, TalkGroup, VoiceFrame

F = 0.03
MAIN = "main"


def talk(start: float, end: float, level: float = -20.0, voiced: bool = True) -> list[VoiceFrame]:
    """Frames every 30 ms from `start` until `end` (a multiple of 30 ms later)."""
    count = round((end - start) / F)
    assert abs(count * F - (end - start)) < 1e-6, "keep hand-built runs whole frames long"
    return [VoiceFrame(start + k * F, voiced, level) for k in range(count)]


def feed(ledger: SpeakingLedger, person: str, *runs: list[VoiceFrame]) -> None:
    """One batch of a person's frames."""
    frames = sorted((f for run in runs for f in run), key=lambda f: f.start)
    ledger.add_frames(FrameBatch(person, tuple(frames)))


def group(ledger: SpeakingLedger, *people: str, facilitators: tuple[str, ...] = ()) -> None:
    """Everyone joins the main room at 0."""
    for person in (*facilitators, *people):
        grp = TalkGroup.FACILITATOR if person in facilitators else TalkGroup.PATIENT
        ledger.joined(person, 0.0, MAIN, grp)


def total(ledger: SpeakingLedger, person: str) -> float:
    """A person's talk in every room and category."""
    return sum(sp.talk for items in ledger.spans(person).values() for sp in items)


def spans(ledger: SpeakingLedger, person: str) -> list[tuple[float, float]]:
    """A person's spans, rounded to the millisecond, in time order."""
    out = [
        (round(sp.start, 3), round(sp.end, 3)) for xs in ledger.spans(person).values() for sp in xs
    ]
    return sorted(out)
