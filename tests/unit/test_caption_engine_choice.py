"""Engines are chosen by configuration: built-in name, import path or entry point."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.captions import (
    CaptionSettings,
    ExternalCaptionEngine,
    NoCaptions,
    ProcessEngine,
    load_engine,
)
from server.config import load_settings


def make_custom(settings: CaptionSettings) -> ProcessEngine:
    """A third-party engine as a factory: a fake transcriber in the standard worker."""
    return ProcessEngine("custom", "tests.captions.transcribers:make", settings)


def test_built_in_names() -> None:
    assert isinstance(load_engine(CaptionSettings()), NoCaptions)
    whisper = load_engine(CaptionSettings(engine="whisper"))
    assert isinstance(whisper, ProcessEngine) and whisper.name == "whisper"
    assert isinstance(load_engine(CaptionSettings(engine="external")), ExternalCaptionEngine)


def test_import_path() -> None:
    engine = load_engine(CaptionSettings(engine=f"{__name__}:make_custom"))
    assert engine.name == "custom"


def test_entry_point(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dist = tmp_path / "clinic_captions-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: clinic-captions\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        f"[peercircle.caption_engines]\nclinic = {__name__}:make_custom\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    assert load_engine(CaptionSettings(engine="clinic")).name == "custom"


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("nonesuch", "unknown caption engine 'nonesuch'"),
        ("no_such_module_here:make", "cannot import no_such_module_here"),
        (f"{__name__}:missing", "has no callable missing"),
        (f"{__name__}:LOUD", "has no callable LOUD"),
    ],
)
def test_bad_names_say_what_was_wrong(name: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        load_engine(CaptionSettings(engine=name))


def test_a_factory_must_return_an_engine() -> None:
    with pytest.raises(ValueError, match="does not implement CaptionEngine"):
        load_engine(CaptionSettings(engine=f"{__name__}:not_an_engine"))


def not_an_engine(settings: CaptionSettings) -> object:
    """Returns something that is not an engine."""
    return object()


LOUD = "not callable"


def test_settings_from_the_environment() -> None:
    settings = load_settings(
        {
            "PEERCIRCLE_CAPTION_ENGINE": "whisper",
            "PEERCIRCLE_CAPTION_MODEL_PATH": "/models/small.en",
            "PEERCIRCLE_CAPTION_MAX_BACKLOG": "2",
            "PEERCIRCLE_CAPTION_SEGMENT_TIMEOUT_S": "4.5",
            "PEERCIRCLE_CAPTION_PARTIALS": "off",
            "PEERCIRCLE_CAPTION_OPT_API_URL": "http://127.0.0.1:9000",
        }
    ).captions
    assert settings.engine == "whisper" and settings.model_path == "/models/small.en"
    assert settings.max_backlog == 2 and settings.segment_timeout_s == 4.5
    assert settings.partials is False and settings.options == {"api_url": "http://127.0.0.1:9000"}
