"""Configuration: environment parsing, validation with clear messages, defaults."""

from __future__ import annotations

import pytest

from honeypods.core import registry, settingsdocs
from honeypods.core import settings as config
from honeypods.core.settings import ConfigError, load


def test_defaults_are_local_and_valid() -> None:
    s = load([], env={})
    assert s.decoys == registry.NAMES
    assert s.common.host == "127.0.0.1"
    assert s.configs["portscan"].scan_threshold == 4
    assert all(p >= 1024 for p in s.configs["portscan"].ports)
    assert s.limits["portscan"].idle_timeout == 30.0


def test_environment_and_overrides() -> None:
    env = {
        "HONEYPODS_HOST": "0.0.0.0",
        "HONEYPODS_PORTSCAN_PORTS": "22, 80,8000-8002",
        "HONEYPODS_IDLE_TIMEOUT": "5",
        "HONEYPODS_MYSQL_IDLE_TIMEOUT": "7.5",
    }
    s = load(["portscan", "mysql"], env=env, overrides={"HONEYPODS_PORTSCAN_SCAN_THRESHOLD": "6"})
    assert s.common.host == "0.0.0.0"
    assert s.configs["portscan"].ports == (22, 80, 8000, 8001, 8002)
    assert s.configs["portscan"].scan_threshold == 6
    assert s.limits["portscan"].idle_timeout == 5.0  # shared value beats the decoy default
    assert s.limits["mysql"].idle_timeout == 7.5  # per-decoy value beats the shared one


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"HONEYPODS_PORTSCAN_PORTS": "80,abc"}, "HONEYPODS_PORTSCAN_PORTS"),
        ({"HONEYPODS_PORTSCAN_PORTS": "70000"}, "0-65535"),
        ({"HONEYPODS_PORTSCAN_PORTS": "90-80"}, "backwards"),
        ({"HONEYPODS_HOST": "example.com"}, "IP address"),
        ({"HONEYPODS_IDLE_TIMEOUT": "-1"}, "IDLE_TIMEOUT must be positive"),
        ({"HONEYPODS_IDLE_TIMEOUT": "nan"}, "finite"),
        ({"HONEYPODS_PORTSCAN_SENSOR": "maybe"}, "off or on"),
        ({"HONEYPODS_PORTSCAN_SCAN_THRESHOLD": "1"}, "at least 2"),
        ({"HONEYPODS_PORTSCAN_PORTS": "9478"}, "already used by HONEYPODS_METRICS_PORT"),
        ({"HONEYPODS_LOG_LEVEL": "loud"}, "HONEYPODS_LOG_LEVEL"),
        ({"HONEYPODS_EVENT_LOOP": "trio"}, "uvloop or asyncio"),
        ({"HONEYPODS_PORTSCAN_THRESHOLD": "4"}, "unknown setting"),
    ],
)
def test_bad_values_name_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load(["portscan"], env=env)


def test_unknown_decoy() -> None:
    with pytest.raises(ConfigError, match="unknown decoy 'ftp'"):
        load(["ftp"], env={})


def test_every_setting_has_a_documented_variable() -> None:
    names = config.known_names()
    assert "HONEYPODS_PORTSCAN_SCAN_WINDOW" in names
    assert "HONEYPODS_SSH_MAX_CONNECTIONS" in names
    assert "HONEYPODS_MAX_PER_SOURCE" in names


def test_committed_docs_match_the_settings() -> None:
    assert settingsdocs.DOCS_PATH.read_text() == settingsdocs.markdown(), "run `make docs`"
    for name in config.known_names():
        if "_MAX_" in name or name.endswith(("_TIMEOUT", "_DEADLINE", "_BYTES_IN", "_BYTES_OUT")):
            continue  # limits are documented once, as a table
        assert f"`{name}`" in settingsdocs.DOCS_PATH.read_text(), name
