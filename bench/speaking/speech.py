"""Synthetic group sessions with a known truth: one 48 kHz mono WAV per participant.

Each participant speaks with their own espeak-ng voice; every utterance is a
rendered sentence trimmed of silence at both ends (`tests/support/audio.speak`),
so who spoke when is known to the sample. Turn-taking is random but seeded:
turns of one to four sentences, short gaps, some turns that start before the
previous one ends (overlaps), backchannels under someone else's turn ("yeah",
"mm-hmm": under 1 s), one long monologue, and a silent participant.

Conditions:
- `clean`: each mic carries only its owner's voice.
- `realistic`: each mic also carries pink noise (sox) at 10-20 dB SNR to its
  owner's speech, residual echo of everyone else's audio at -15 to -30 dB (delayed
  40-120 ms, as a speaker-to-mic path after an imperfect echo canceller), and one
  speaker is 15 dB quieter than the rest. Levels are drawn per mic from the seed.

Command: `.venv/bin/python -m bench.speaking.speech --participants 6 --minutes 5
--condition realistic --seed 1 --out bench/out/session-6` writes `p0.wav ...` and
`truth.json`.

Truth format (`truth.json`, version 1), times in seconds from the start of the files:

    {
      "version": 1,
      "sample_rate": 48000,
      "duration_s": 300.0,
      "condition": "clean" | "realistic",
      "seed": 1,
      "participants": [
        {
          "id": "p0",                  # also the WAV's name: p0.wav
          "voice": "en-us",            # espeak-ng voice
          "silent": false,             # never speaks (their mic still has noise/echo)
          "gain_db": 0.0,              # own voice level (-15 for the quiet speaker)
          "snr_db": 14.2,              # noise below own speech (null when clean)
          "echo_db": -22.5,            # others' audio in this mic (null when clean)
          "echo_delay_s": 0.08,        # (null when clean)
          "talk_s": 61.3,              # sum of the intervals' lengths
          "intervals": [               # own speech, sorted, never overlapping each other
            {"start": 1.20, "end": 3.85, "kind": "turn", "text": "..."},
            {"start": 9.02, "end": 9.41, "kind": "backchannel", "text": "yeah"},
            {"start": 40.0, "end": 41.9, "kind": "monologue", "text": "..."}
          ]
        }
      ]
    }

`kind` is `turn` (a sentence of a turn), `backchannel` (under 1 s, spoken under
another's turn) or `monologue` (a sentence of the one long turn). Pauses between
the sentences of a turn (`SessionSpec.pause_s`, 0.2-0.6 s) are not speech. Intervals of different
participants may overlap: that is real overlap and counts for both.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import tempfile
import wave
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from tests.support.audio import RATE, speak

VOICES = ("en-us", "en-gb+f3", "en-us+m3", "en-gb", "en-us+f2", "en-gb+m4", "en-us+f4")
SENTENCES = (
    "This week was harder than I expected, but I kept going.",
    "I tried the breathing exercise before work and it helped a little.",
    "Sometimes I feel like nobody at home really listens to me.",
    "I want to talk about what happened on Sunday with my sister.",
    "It is good to hear that other people feel the same way.",
    "I am not sure what to say yet, but I am glad to be here.",
    "When I get anxious I notice my shoulders getting tight.",
    "Last time we talked about setting small goals for each day.",
    "I managed to go for a walk three times this week.",
    "My sleep has been better since I stopped looking at my phone at night.",
    "I felt proud of myself for asking for help at work.",
    "Can we come back to what you said about feeling stuck?",
    "I think I was angry, and under that I was scared.",
    "It helps to write things down before I go to bed.",
)
BACKCHANNELS = ("yeah", "mm-hmm", "right", "okay", "I see", "true")
QUIET_DB = -15.0


@dataclass
class Interval:
    """One stretch of a participant's own speech."""

    start: float
    end: float
    kind: str
    text: str


@dataclass
class Participant:
    """One mic of the session, and its truth."""

    id: str
    voice: str
    silent: bool = False
    gain_db: float = 0.0
    snr_db: float | None = None
    echo_db: float | None = None
    echo_delay_s: float | None = None
    talk_s: float = 0.0
    intervals: list[Interval] = field(default_factory=list)


@dataclass(frozen=True)
class SessionSpec:
    """What to generate."""

    participants: int = 6
    minutes: float = 5.0
    condition: str = "clean"
    seed: int = 1
    silent: int = 1  # how many participants never speak
    overlap_p: float = 0.15  # chance that a turn starts before the previous one ends
    backchannel_p: float = 0.3  # chance of a backchannel under a turn
    monologue_s: float = 60.0  # the one long turn (0: none)
    pause_s: tuple[float, float] = (0.2, 0.6)  # pause between the sentences of a turn


class Voices:
    """Rendered utterances, each once per (voice, text)."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, str], np.ndarray] = {}

    def pcm(self, voice: str, text: str) -> np.ndarray:
        """The trimmed utterance as int16 samples at 48 kHz."""
        key = (voice, text)
        if key not in self._cache:
            self._cache[key] = np.frombuffer(speak(text, voice), dtype=np.int16)
        return self._cache[key]

    def seconds(self, voice: str, text: str) -> float:
        """The utterance's length."""
        return len(self.pcm(voice, text)) / RATE


def schedule(spec: SessionSpec, voices: Voices) -> list[Participant]:
    """Who says what when: the truth, before any audio is mixed."""
    rng = random.Random(spec.seed)
    people = [
        Participant(f"p{i}", VOICES[i % len(VOICES)], silent=i >= spec.participants - spec.silent)
        for i in range(spec.participants)
    ]
    talkers = [p for p in people if not p.silent]
    if not talkers:
        return people
    # Some talk more than others: a skewed share of turns.
    weights = [rng.uniform(0.5, 3.0) for _ in talkers]
    duration = spec.minutes * 60
    monologue_at = rng.uniform(0.3, 0.6) * duration if spec.monologue_s > 0 else None
    t = rng.uniform(0.5, 2.0)
    previous: Participant | None = None
    # Everyone who speaks at all gets one early turn, in a random order.
    first_round = rng.sample(talkers, len(talkers))
    while t < duration - 15:
        if first_round:
            speaker = first_round.pop()
        else:
            speaker = rng.choices(talkers, weights)[0]
        if speaker is previous and len(talkers) > 1:
            continue
        kind, limit = "turn", rng.randint(1, 4)
        if monologue_at is not None and t >= monologue_at:
            kind, limit, monologue_at = "monologue", 1000, None
        turn_start = t
        said = 0
        while said < limit and t < duration - 5:
            text = rng.choice(SENTENCES)
            length = voices.seconds(speaker.voice, text)
            if kind == "monologue" and t - turn_start + length > spec.monologue_s:
                break
            speaker.intervals.append(Interval(t, t + length, kind, text))
            t += length + rng.uniform(*spec.pause_s)
            said += 1
        turn_end = speaker.intervals[-1].end
        others = [p for p in talkers if p is not speaker]
        if others and rng.random() < spec.backchannel_p and turn_end - turn_start > 2.5:
            listener = rng.choice(others)
            word = rng.choice(BACKCHANNELS)
            at = rng.uniform(turn_start + 0.5, turn_end - 1.5)
            _add_if_free(
                listener, Interval(at, at + voices.seconds(listener.voice, word), "b", word)
            )
        if rng.random() < spec.overlap_p:
            t = turn_end - rng.uniform(0.3, 1.0)  # the next one starts too early
        else:
            t = turn_end + rng.uniform(0.3, 1.5)
        previous = speaker
    for p in people:
        p.intervals.sort(key=lambda i: i.start)
        for i in p.intervals:
            i.kind = "backchannel" if i.kind == "b" else i.kind
        _drop_self_overlaps(p)
        p.talk_s = round(sum(i.end - i.start for i in p.intervals), 4)
    return people


def _add_if_free(person: Participant, interval: Interval) -> None:
    if all(i.end <= interval.start or i.start >= interval.end for i in person.intervals):
        person.intervals.append(interval)


def _drop_self_overlaps(person: Participant) -> None:
    """A participant cannot overlap themselves (an overlapped turn start can do that)."""
    kept: list[Interval] = []
    for interval in person.intervals:
        if kept and interval.start < kept[-1].end:
            continue
        kept.append(interval)
    person.intervals = kept


def own_track(person: Participant, voices: Voices, samples: int) -> np.ndarray:
    """The participant's own voice alone, float32 at full level."""
    track = np.zeros(samples, dtype=np.float32)
    for interval in person.intervals:
        pcm = voices.pcm(person.voice, interval.text).astype(np.float32)
        at = round(interval.start * RATE)
        track[at : at + len(pcm)] += pcm[: max(0, samples - at)]
    return track


def pink_noise(seconds: float, seed: int) -> np.ndarray:
    """sox-made pink noise, float32 samples at 48 kHz."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "noise.raw"
        output = ("-r", str(RATE), "-c", "1", "-b", "16", "-e", "signed", str(path))
        subprocess.run(
            ["sox", "-R", "-n", *output, "synth", f"{seconds:.3f}", "pinknoise", "vol", "0.5"],
            check=True,
            capture_output=True,
        )
        noise = np.frombuffer(path.read_bytes(), dtype=np.int16).astype(np.float32)
    # sox's noise is the same for a given length: shift it so each mic differs.
    return np.roll(noise, random.Random(seed).randrange(len(noise)))


def _speech_rms(track: np.ndarray, person: Participant) -> float:
    parts = [track[round(i.start * RATE) : round(i.end * RATE)] for i in person.intervals]
    joined = np.concatenate(parts) if parts else np.zeros(1, dtype=np.float32)
    return float(np.sqrt(np.mean(joined.astype(np.float64) ** 2))) or 1.0


def generate(spec: SessionSpec, out: Path) -> dict[str, object]:
    """Write one WAV per participant and truth.json into `out`; the truth."""
    out.mkdir(parents=True, exist_ok=True)
    voices = Voices()
    people = schedule(spec, voices)
    samples = round(spec.minutes * 60 * RATE)
    rng = random.Random(spec.seed + 1000)
    realistic = spec.condition == "realistic"
    talkers = [p for p in people if not p.silent]
    if realistic and talkers:
        rng.choice(talkers).gain_db = QUIET_DB
    total = np.zeros(samples, dtype=np.float32)
    levels: list[float] = []
    for person in people:
        own = own_track(person, voices, samples) * _gain(person.gain_db)
        total += own
        if not person.silent:
            levels.append(_speech_rms(own, person))
    reference = float(np.median(levels)) if levels else 1000.0
    for n, person in enumerate(people):
        mic = own_track(person, voices, samples) * _gain(person.gain_db)
        if realistic:
            person.snr_db = round(rng.uniform(10, 20), 1)
            person.echo_db = round(rng.uniform(-30, -15), 1)
            person.echo_delay_s = round(rng.uniform(0.04, 0.12), 3)
            delay = round(person.echo_delay_s * RATE)
            others = total - mic
            mic[delay:] += others[: samples - delay] * _gain(person.echo_db)
            own_rms = _speech_rms(mic, person) if not person.silent else reference
            noise = pink_noise(samples / RATE, spec.seed * 100 + n)[:samples]
            noise_rms = float(np.sqrt(np.mean(noise.astype(np.float64) ** 2))) or 1.0
            mic += noise * (own_rms / noise_rms * _gain(-person.snr_db))
        _write_wav(out / f"{person.id}.wav", mic)
    truth: dict[str, object] = {
        "version": 1,
        "sample_rate": RATE,
        "duration_s": samples / RATE,
        "condition": spec.condition,
        "seed": spec.seed,
        "participants": [asdict(p) for p in people],
    }
    (out / "truth.json").write_text(json.dumps(truth, indent=1))
    return truth


def _gain(db: float) -> float:
    return float(10 ** (db / 20))


def _write_wav(path: Path, samples: np.ndarray) -> None:
    pcm = np.clip(np.round(samples), -32768, 32767).astype("<i2")
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(RATE)
        wav.writeframes(pcm.tobytes())


def main(argv: list[str] | None = None) -> None:
    """Command line; prints each participant's talk time."""
    parser = argparse.ArgumentParser(description="Synthetic sessions with a known truth.")
    parser.add_argument("--participants", type=int, default=6)
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--condition", choices=("clean", "realistic"), default="clean")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--silent", type=int, default=1)
    parser.add_argument("--overlap", type=float, default=0.15)
    parser.add_argument("--backchannel", type=float, default=0.3)
    parser.add_argument("--monologue", type=float, default=60.0, help="seconds; 0 for none")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    spec = SessionSpec(
        args.participants,
        args.minutes,
        args.condition,
        args.seed,
        args.silent,
        args.overlap,
        args.backchannel,
        args.monologue,
    )
    truth = generate(spec, args.out)
    print("| id | voice | talk s | intervals | backchannels | gain dB | SNR dB | echo dB |")
    print("|---|---|---|---|---|---|---|---|")
    for p in truth["participants"]:  # type: ignore[attr-defined]
        backchannels = sum(i["kind"] == "backchannel" for i in p["intervals"])
        print(
            f"| {p['id']} | {p['voice']} | {p['talk_s']:.1f} | {len(p['intervals'])} "
            f"| {backchannels} | {p['gain_db']} | {p['snr_db']} | {p['echo_db']} |"
        )


if __name__ == "__main__":
    main()
