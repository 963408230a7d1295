"""Settings: defaults in code, PEERCIRCLE_* overrides, explicit overrides last."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from server.config import IceServer, Settings, load_settings


def test_defaults_without_environment() -> None:
    settings = load_settings(env={})
    assert settings.host == "127.0.0.1"
    assert settings.port == 8080
    assert settings.store == "memory"
    assert settings.ice_servers == ()
    assert settings.reconnect_grace_s == 30.0
    assert settings.max_participants == 30
    assert settings.admin_key == ""
    assert settings.base_url == "http://127.0.0.1:8080"


@pytest.mark.parametrize(
    ("variable", "raw", "attribute", "value"),
    [
        ("HOST", "0.0.0.0", "host", "0.0.0.0"),
        ("PORT", "9001", "port", 9001),
        ("PUBLIC_URL", "https://circle.example/", "public_url", "https://circle.example/"),
        ("ADMIN_KEY", "k" * 24, "admin_key", "k" * 24),
        ("TOKEN_SECRET", "s" * 32, "token_secret", "s" * 32),
        ("TOKEN_AUDIENCE", "clinic-a", "token_audience", "clinic-a"),
        ("TOKEN_TTL_S", "600", "token_ttl_s", 600),
        ("STORE", "redis", "store", "redis"),
        ("REDIS_URL", "redis://127.0.0.1:7000/2", "redis_url", "redis://127.0.0.1:7000/2"),
        ("LOG_LEVEL", "DEBUG", "log_level", "DEBUG"),
        ("MAX_PARTICIPANTS", "12", "max_participants", 12),
        ("RECONNECT_GRACE_S", "2.5", "reconnect_grace_s", 2.5),
        ("ICE_LOOPBACK", "false", "offer_loopback_candidates", False),
        ("ICE_LOOPBACK", "0", "offer_loopback_candidates", False),
        ("ICE_LOOPBACK", "yes", "offer_loopback_candidates", True),
        ("DEMO", "1", "demo", True),
        ("DEMO", "no", "demo", False),
    ],
)
def test_environment_overrides(variable: str, raw: str, attribute: str, value: Any) -> None:
    settings = load_settings(env={f"PEERCIRCLE_{variable}": raw})
    assert getattr(settings, attribute) == value
    assert type(getattr(settings, attribute)) is type(value)


def test_empty_variables_keep_the_defaults() -> None:
    settings = load_settings(env={"PEERCIRCLE_PORT": "", "PEERCIRCLE_STORE": ""})
    assert (settings.port, settings.store) == (8080, "memory")


def test_ice_servers_from_json() -> None:
    raw = json.dumps(
        [
            {"urls": "stun:stun.example.org:3478"},
            {"urls": ["turn:turn.example.org:3478"], "username": "u", "credential": "c"},
        ]
    )
    settings = load_settings(env={"PEERCIRCLE_ICE_SERVERS": raw})
    assert settings.ice_servers == (
        IceServer(urls=("stun:stun.example.org:3478",)),
        IceServer(urls=("turn:turn.example.org:3478",), username="u", credential="c"),
    )


def test_explicit_overrides_win_over_the_environment() -> None:
    settings = load_settings(env={"PEERCIRCLE_PORT": "9001"}, port=9002)
    assert settings.port == 9002


def test_public_url_is_the_base_url_without_trailing_slash() -> None:
    settings = load_settings(env={"PEERCIRCLE_PUBLIC_URL": "https://circle.example/"})
    assert settings.base_url == "https://circle.example"
    assert load_settings(env={"PEERCIRCLE_PORT": "9001"}).base_url == "http://127.0.0.1:9001"


@pytest.mark.parametrize("store", ["postgres", "Redis", "memory "])
def test_bad_store_is_refused(store: str) -> None:
    with pytest.raises(ValueError, match="PEERCIRCLE_STORE"):
        load_settings(env={"PEERCIRCLE_STORE": store})


@pytest.mark.parametrize(
    ("variable", "raw"),
    [("PORT", "eighty"), ("RECONNECT_GRACE_S", "soon"), ("ICE_SERVERS", "[{")],
)
def test_unparsable_values_are_refused(variable: str, raw: str) -> None:
    with pytest.raises(ValueError):
        load_settings(env={f"PEERCIRCLE_{variable}": raw})


def test_missing_token_secret_gets_a_random_one_per_process() -> None:
    first, second = load_settings(env={}), load_settings(env={})
    assert len(first.token_secret) >= 32
    assert first.token_secret != second.token_secret


def test_settings_are_frozen() -> None:
    settings = load_settings(env={})
    assert isinstance(settings, Settings)
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.port = 1  # type: ignore[misc]


def test_one_loader_reads_every_part_and_names_a_bad_value() -> None:
    settings = load_settings(
        {
            "PEERCIRCLE_PORT": "9000",
            "PEERCIRCLE_CAPTION_CPU_THREADS": "2",
            "PEERCIRCLE_SPEAKING_HANGOVER_S": "0.25",
        }
    )
    assert settings.port == 9000
    assert settings.captions.cpu_threads == 2
    assert settings.speaking.hangover_s == 0.25
    with pytest.raises(ValueError, match="PEERCIRCLE_SPEAKING_NOISE_MEMORY_FRAMES"):
        load_settings({"PEERCIRCLE_SPEAKING_NOISE_MEMORY_FRAMES": "lots"})
