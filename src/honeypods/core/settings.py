"""Settings: environment variables (and ``--set`` flags) into frozen dataclasses.

Rules this module keeps:

* Every setting is a dataclass field with its default in its class, and nowhere else: the shared
  ones in ``Common`` here, each decoy's in the class its registry entry names (``<decoy>/config.py``).
  The chart's values.yaml repeats the defaults and a test checks they agree.
* A decoy's class provides ``listens()``, the (variable, port) pairs it binds, checked here for
  clashes, and ``check()``, which raises ``ConfigError`` for a value out of range.
* A field ``foo`` of the shared ``Common`` settings is read from ``HONEYPODS_FOO``. A field ``foo``
  of a decoy's settings is read from ``HONEYPODS_<DECOY>_FOO``. Connection limits (``Limits``) are
  read per decoy first (``HONEYPODS_MYSQL_IDLE_TIMEOUT``), then shared (``HONEYPODS_IDLE_TIMEOUT``),
  then the decoy's own default. PROXY protocol settings (``ProxyProtocol``) are per decoy only,
  ``HONEYPODS_<DECOY>_PROXY_<SETTING>``, for the decoys whose registry entry accepts them.
* Everything is parsed and validated at start. A bad value raises ``ConfigError`` naming the
  variable; the runner logs it and exits with status 2.
* The embedded defaults are for trying the suite locally: loopback, unprivileged ports. Images and
  the chart set the real addresses and ports through the environment.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import math
import os
import re
import types
import typing
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from honeypods.core import registry
from honeypods.core.limits import Limits, ProxyProtocol


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names it."""


@dataclass(frozen=True)
class Common:
    """Settings shared by every decoy in the process."""

    # Address the decoys bind; 0.0.0.0 or :: in a container.
    host: str = "127.0.0.1"
    # Address of /metrics, /healthz and /readyz.
    metrics_host: str = "127.0.0.1"
    # Port of /metrics, /healthz and /readyz; never a decoy port; 0 turns the endpoint off.
    metrics_port: int = 9478
    # Pod or host name recorded in every event (set from the Downward API in the chart).
    host_name: str = ""
    # Level of library diagnostics routed into the stream: debug, info, warning, error.
    log_level: str = "warning"
    # Seconds between honeypods.summary events with exact counts; 0 turns them off.
    summary_interval: float = 300.0
    # Event loop: `uvloop` (faster; asyncio's is used when uvloop is not installed) or `asyncio`.
    event_loop: str = "uvloop"
    # Direct alerting, for clusters without Prometheus: an Alertmanager base URL
    # (http://alertmanager.monitoring:9093) whose API v2 gets every alert event. Empty: off.
    alertmanager_url: str = ""
    # Direct alerting: a URL that gets alert events POSTed as JSON {"events": [...]}. Empty: off.
    webhook_url: str = ""
    # Sent as `Authorization: Bearer <token>` with every webhook post (the enricher's
    # HONEYPODS_ENRICHER_TOKEN). Empty: no header.
    webhook_token: str = ""
    # Extra labels on alerts posted to Alertmanager: name=value, comma-separated.
    alert_labels: tuple[str, ...] = ()
    # Alert events waiting to be posted, per destination; beyond it the oldest are dropped.
    alert_queue_size: int = 10000
    # Seconds one request to the Alertmanager or webhook may take.
    alert_timeout: float = 5.0
    # Seed of this install's persona choices (the MySQL accounts' passwords) and of its
    # honeytokens (docs/honeytokens.md): give every replica of one install the same value, kept
    # across upgrades (the chart generates one and keeps it). Empty: one kept in state_dir, else
    # a random one per start; logged in the decoys' honeypods.start events either way.
    persona_seed: str = ""
    # Where the decoys plant honeytokens, comma-separated: `dashboard` (the web decoy's leaked
    # files), `database` (a MySQL table); the Secret placement is HONEYPODS_HONEYTOKEN_SECRET.
    honeytoken_placements: tuple[str, ...] = ("dashboard", "database")
    # namespace/name of the decoy Kubernetes Secret the chart planted honeytokens in. Empty: none.
    honeytoken_secret: str = ""
    # host:port of the MySQL decoy as the dashboard's leaked files name it (its Service).
    honeytoken_mysql_address: str = "internal-backend:3306"
    # Folder for what must outlive a restart (the web decoy's issued certificate), created if
    # missing; `make run` uses .state/ in the checkout. Empty: nothing is kept (images, the chart).
    state_dir: str = ""


@dataclass(frozen=True)
class Settings:
    """Everything one process runs with."""

    common: Common
    decoys: tuple[str, ...]
    configs: Mapping[str, Any] = field(default_factory=dict)
    limits: Mapping[str, Limits] = field(default_factory=dict)
    # For the decoys that accept a PROXY protocol header, whether and from whom.
    proxies: Mapping[str, ProxyProtocol] = field(default_factory=dict)


# -- parsing ----------------------------------------------------------------------------------------


def _parse(name: str, raw: str, kind: Any) -> Any:
    origin = typing.get_origin(kind)
    try:
        if kind is bool:
            low = raw.strip().lower()
            if low in ("1", "true", "yes", "on"):
                return True
            if low in ("0", "false", "no", "off"):
                return False
            raise ValueError("expected true or false")
        if kind is int:
            return int(raw.strip(), 0)
        if kind is float:
            value = float(raw.strip())
            if not math.isfinite(value):
                raise ValueError("expected a finite number")
            return value
        if kind is str:
            return raw.strip()
        if origin is tuple:
            (item,) = {a for a in typing.get_args(kind) if a is not Ellipsis}
            parts = [p.strip() for p in raw.split(",") if p.strip()]
            if item is int:
                return tuple(_ports(parts))
            return tuple(parts)
    except ValueError as exc:
        raise ConfigError(f"{name}={raw!r}: {exc}") from None
    raise ConfigError(f"{name}: unsupported type {kind!r}")  # pragma: no cover - programming error


def _ports(parts: list[str]) -> list[int]:
    out: list[int] = []
    for part in parts:
        lo, _, hi = part.partition("-")
        first, last = int(lo, 10), int(hi or lo, 10)
        if first > last:
            raise ValueError(f"range {part} is backwards")
        out.extend(range(first, last + 1))
    return sorted(set(out))


def _fill(cls: type, prefix: str, env: Mapping[str, str]) -> Any:
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        name = f"{prefix}{f.name.upper()}"
        if name in env:
            values[f.name] = _parse(name, env[name], hints[f.name])
    return cls(**values)


def _limits(decoy: str, env: Mapping[str, str]) -> Limits:
    hints = typing.get_type_hints(Limits)
    values: dict[str, Any] = dict(registry.get(decoy).limits)
    for f in dataclasses.fields(Limits):
        for name in (f"HONEYPODS_{decoy.upper()}_{f.name.upper()}", f"HONEYPODS_{f.name.upper()}"):
            if name in env:
                values[f.name] = _parse(name, env[name], hints[f.name])
                break
    limits = Limits(**values)
    for f in dataclasses.fields(Limits):
        if getattr(limits, f.name) <= 0:
            raise ConfigError(f"HONEYPODS_{decoy.upper()}_{f.name.upper()} must be positive")
    return limits


def _proxy_prefix(decoy: str) -> str:
    return f"HONEYPODS_{decoy.upper()}_PROXY_"


def _check_proxy(decoy: str, proxy: ProxyProtocol) -> None:
    prefix = _proxy_prefix(decoy)
    for item in proxy.trusted:
        try:
            ipaddress.ip_network(item)
        except ValueError:
            raise ConfigError(
                f"{prefix}TRUSTED: {item!r} is not an address or CIDR with its host bits zero"
            ) from None
    if proxy.protocol and not proxy.trusted:
        raise ConfigError(f"{prefix}TRUSTED: needed with {prefix}PROTOCOL=true (whose header?)")
    if not 0 < proxy.timeout <= 60:
        raise ConfigError(f"{prefix}TIMEOUT: more than 0, at most 60 seconds")


def _check_port(name: str, port: int) -> None:
    if not 0 <= port <= 65535:
        raise ConfigError(f"{name}={port}: a port is 0-65535")


def _check_host(name: str, host: str) -> None:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise ConfigError(f"{name}={host!r}: expected an IP address such as 0.0.0.0") from None


# Prometheus label names; the alerting module sets these itself.
_LABEL_NAME: Final = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_OWN_LABELS: Final = frozenset(
    {"alertname", "decoy", "pod", "severity", "source_ip", "source_namespace", "source_workload"}
)


def _check_url(name: str, url: str) -> None:
    if not url:
        return
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ConfigError(f"{name}: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{name}: an http:// or https:// URL with a host")
    if port == 0 or parts.fragment or any(c.isspace() for c in url):
        raise ConfigError(f"{name}: malformed URL")


def _check_alerting(c: Common) -> None:
    _check_url("HONEYPODS_ALERTMANAGER_URL", c.alertmanager_url)
    _check_url("HONEYPODS_WEBHOOK_URL", c.webhook_url)
    for item in c.alert_labels:
        label, sep, value = item.partition("=")
        if not sep or not _LABEL_NAME.match(label) or label.startswith("__") or not value:
            raise ConfigError(f"HONEYPODS_ALERT_LABELS: {item!r} is not name=value")
        if label in _OWN_LABELS:
            raise ConfigError(f"HONEYPODS_ALERT_LABELS: {label} is set by the decoy itself")
    if c.webhook_token and (
        not c.webhook_token.isascii() or any(ch.isspace() for ch in c.webhook_token)
    ):
        raise ConfigError("HONEYPODS_WEBHOOK_TOKEN: printable ASCII without spaces")
    if not 1 <= c.alert_queue_size <= 1_000_000:
        raise ConfigError("HONEYPODS_ALERT_QUEUE_SIZE: 1 to 1000000")
    if not 0 < c.alert_timeout <= 60:
        raise ConfigError("HONEYPODS_ALERT_TIMEOUT: more than 0, at most 60 seconds")


_HOST_NAME: Final = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9.]{0,251}[A-Za-z0-9])?")
_SECRET_REF: Final = re.compile(
    r"[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?/[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?"
)


def _check_honeytokens(c: Common) -> None:
    for place in c.honeytoken_placements:
        if place not in ("dashboard", "database"):
            raise ConfigError(
                f"HONEYPODS_HONEYTOKEN_PLACEMENTS: {place!r} is not dashboard or database"
            )
    if c.honeytoken_secret and not _SECRET_REF.fullmatch(c.honeytoken_secret):
        raise ConfigError("HONEYPODS_HONEYTOKEN_SECRET: namespace/name of a Kubernetes Secret")
    host, sep, port = c.honeytoken_mysql_address.rpartition(":")
    if not sep or not port.isdigit() or not _HOST_NAME.fullmatch(host):
        raise ConfigError("HONEYPODS_HONEYTOKEN_MYSQL_ADDRESS: host:port, such as db.internal:3306")
    if c.persona_seed and (len(c.persona_seed) < 16 or not c.persona_seed.isprintable()):
        raise ConfigError("HONEYPODS_PERSONA_SEED: at least 16 printable characters")


def alert_labels(c: Common) -> dict[str, str]:
    """HONEYPODS_ALERT_LABELS as a mapping."""
    return dict(item.partition("=")[::2] for item in c.alert_labels)


def _validate(settings: Settings) -> None:
    c = settings.common
    _check_host("HONEYPODS_HOST", c.host)
    _check_host("HONEYPODS_METRICS_HOST", c.metrics_host)
    _check_port("HONEYPODS_METRICS_PORT", c.metrics_port)
    if c.log_level not in ("debug", "info", "warning", "error"):
        raise ConfigError(
            f"HONEYPODS_LOG_LEVEL={c.log_level!r}: one of debug, info, warning, error"
        )
    if c.event_loop not in ("uvloop", "asyncio"):
        raise ConfigError(f"HONEYPODS_EVENT_LOOP={c.event_loop!r}: uvloop or asyncio")
    if c.summary_interval < 0:
        raise ConfigError("HONEYPODS_SUMMARY_INTERVAL must be 0 (off) or positive")
    _check_alerting(c)
    _check_honeytokens(c)
    used: dict[int, str] = {}
    if c.metrics_port:
        used[c.metrics_port] = "HONEYPODS_METRICS_PORT"

    def claim(name: str, port: int) -> None:
        _check_port(name, port)
        if port and port in used and c.metrics_host == c.host:
            raise ConfigError(f"{name}={port}: already used by {used[port]}")
        if port:
            used[port] = name

    for decoy in settings.decoys:
        cfg = settings.configs[decoy]
        for name, port in cfg.listens():
            claim(name, port)
        cfg.check()
    for decoy, proxy in settings.proxies.items():
        _check_proxy(decoy, proxy)


def load(
    decoys: tuple[str, ...] | list[str],
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, str] | None = None,
) -> Settings:
    """Read and validate the settings for the named decoys.

    Args:
        decoys: which decoys to run; an empty list means all of them.
        env: the environment (``os.environ`` by default).
        overrides: ``NAME=VALUE`` pairs from the command line; they win over ``env``.

    Raises:
        ConfigError: a decoy name or a setting is invalid.
    """
    merged = dict(os.environ if env is None else env)
    if overrides:
        for name in overrides:
            if not name.startswith("HONEYPODS_"):
                raise ConfigError(f"--set {name}: settings are named HONEYPODS_*")
        merged.update(overrides)
    chosen = tuple(decoys) or registry.NAMES
    for decoy in chosen:
        if decoy not in registry.ALL:
            names = ", ".join(registry.ALL)
            raise ConfigError(f"unknown decoy {decoy!r}; choose from {names}")
    _reject_unknown(merged)
    settings = Settings(
        common=_fill(Common, "HONEYPODS_", merged),
        decoys=tuple(dict.fromkeys(chosen)),
        configs=types.MappingProxyType(
            {d: _fill(registry.get(d).config, registry.get(d).prefix, merged) for d in chosen}
        ),
        limits=types.MappingProxyType({d: _limits(d, merged) for d in chosen}),
        proxies=types.MappingProxyType(
            {
                d: _fill(ProxyProtocol, _proxy_prefix(d), merged)
                for d in chosen
                if registry.get(d).proxy_protocol
            }
        ),
    )
    _validate(settings)
    return settings


def known_names() -> set[str]:
    """Every HONEYPODS_* variable this version understands."""
    names = {f"HONEYPODS_{f.name.upper()}" for f in dataclasses.fields(Common)}
    names |= {f"HONEYPODS_{f.name.upper()}" for f in dataclasses.fields(Limits)}
    for decoy in registry.every():
        names |= {f"{decoy.prefix}{f.name.upper()}" for f in dataclasses.fields(decoy.config)}
        if decoy.name in registry.NAMES:  # services are not behind the connection guard
            names |= {f"{decoy.prefix}{f.name.upper()}" for f in dataclasses.fields(Limits)}
        if decoy.proxy_protocol:
            prefix = _proxy_prefix(decoy.name)
            names |= {f"{prefix}{f.name.upper()}" for f in dataclasses.fields(ProxyProtocol)}
    return names


def _reject_unknown(env: Mapping[str, str]) -> None:
    # A misspelt variable silently ignored is a decoy running with settings nobody chose.
    known = known_names()
    for name in env:
        if name.startswith("HONEYPODS_") and name not in known:
            raise ConfigError(f"{name}: unknown setting")
