"""Configuration: environment variables (and ``--set`` flags) into frozen dataclasses.

Rules this module keeps:

* Every setting is a dataclass field with its default here, and nowhere else; the chart's
  values.yaml repeats the defaults and a test checks they agree.
* A field ``foo`` of the shared ``Common`` settings is read from ``HONEYPODS_FOO``. A field ``foo``
  of a decoy's settings is read from ``HONEYPODS_<DECOY>_FOO``. Connection limits (``Limits``) are
  read per decoy first (``HONEYPODS_MYSQL_IDLE_TIMEOUT``), then shared (``HONEYPODS_IDLE_TIMEOUT``),
  then the decoy's own default.
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
from pathlib import Path
from typing import Any, Final

from honeypods.guard import Limits

DECOYS: Final = ("portscan", "web", "mysql", "ssh")


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
    # Extra labels on alerts posted to Alertmanager: name=value, comma-separated.
    alert_labels: tuple[str, ...] = ()
    # Alert events waiting to be posted, per destination; beyond it the oldest are dropped.
    alert_queue_size: int = 10000
    # Seconds one request to the Alertmanager or webhook may take.
    alert_timeout: float = 5.0


@dataclass(frozen=True)
class PortscanConfig:
    """IP enumeration / port-scan responder."""

    # Ports to listen on: commonly probed services and Kubernetes components. Ranges (a-b) allowed.
    ports: tuple[int, ...] = (
        2375, 2376, 2379, 2380, 5000, 5432, 5601, 5900, 6379, 6443, 8000, 8081, 8888, 9000,
        9200, 10250, 10255, 10256, 11211, 15672, 27017,
    )  # fmt: skip
    # Distinct ports from one source within the window that make a port scan (Calico's was 4).
    scan_threshold: int = 4
    # Window in seconds; one scan event per source per window (Calico looked back 10 minutes).
    scan_window: float = 600.0
    # After the threshold is crossed, wait this long to collect the rest of the scan's ports.
    scan_report_delay: float = 2.0
    # Sources tracked at once by the detector; the oldest is forgotten beyond this.
    scan_max_sources: int = 10000
    # First bytes recorded per connection.
    capture_bytes: int = 4096
    # Seconds after the first byte before what arrived so far is logged.
    capture_timeout: float = 5.0
    # Packet sensor, `on` or `off`: with CAP_NET_RAW it sees pings and SYNs to closed ports.
    sensor: str = "off"


@dataclass(frozen=True)
class WebConfig:
    """Fake internal dashboard behind an nginx persona."""

    # Plain HTTP port.
    port: int = 8080
    # HTTPS port; 0 turns HTTPS off.
    tls_port: int = 8443
    # The persona: exactly what nginx of this version sends in Server and its error pages.
    server_version: str = "1.22.1"
    # Title of the login page.
    title: str = "Internal Operations Dashboard"
    # Product name shown on the login page.
    product: str = "OpsConsole"
    # PEM files for HTTPS (a Secret in the chart); when unset, a self-signed pair is made at start.
    tls_cert: str = ""
    # PEM private key matching the certificate.
    tls_key: str = ""
    # Common name of the generated certificate.
    tls_common_name: str = "dashboard.internal"
    # DNS names of the generated certificate.
    tls_sans: tuple[str, ...] = ("dashboard.internal", "localhost")
    # Seconds before a failed login answers, as a real password check would take.
    login_delay: float = 0.4


@dataclass(frozen=True)
class MysqlConfig:
    """MySQL wire-protocol stub."""

    # Port to listen on.
    port: int = 3306
    # Version the greeting and SELECT VERSION() report.
    server_version: str = "8.0.36"
    # Logins let in, user:password, comma-separated; an empty password is written `root:`.
    accept: tuple[str, ...] = ("root:", "root:root", "root:password", "root:123456", "admin:admin")
    # Plugin the accounts use: caching_sha2_password (MySQL 8.0's default) or mysql_native_password.
    # Clients that answer the greeting with the other plugin are switched to this one.
    auth_plugin: str = "caching_sha2_password"
    # Largest packet accepted from a client before the connection is refused.
    max_packet_size: int = 1 << 20
    # Offer TLS like MySQL 8.0 does by default, with its style of auto-generated certificate.
    tls: bool = True
    # Seconds a client has to log in before the server hangs up silently (MySQL's connect_timeout).
    connect_timeout: float = 10.0


@dataclass(frozen=True)
class SshConfig:
    """SSH lure with an OpenSSH persona."""

    # Port to listen on.
    port: int = 2222
    # Identification string sent first, without the trailing CR LF. The algorithm lists are those
    # of this build (ssh_persona.py); change the version only within OpenSSH 8.4.
    server_version: str = "SSH-2.0-OpenSSH_8.4p1 Debian-5+deb11u3"
    # Directory holding ssh_host_{rsa,ecdsa,ed25519}_key; empty or missing keys are generated.
    host_key_dir: str = ""
    # Credentials let in (user:password); empty refuses everyone, as a lure should by default.
    accept: tuple[str, ...] = ()
    # Authentication attempts per connection before disconnecting (OpenSSH MaxAuthTries).
    max_auth_tries: int = 6
    # Seconds to authenticate before disconnecting (OpenSSH LoginGraceTime).
    login_grace_time: float = 120.0
    # Unauthenticated connections before new ones are dropped: sshd's MaxStartups start:rate:full.
    max_startups: str = "10:30:100"
    # Offer keyboard-interactive (PAM's "Password: " prompt), as KbdInteractiveAuthentication yes.
    keyboard_interactive: bool = False
    # Seconds a failed password waits before the answer, as pam_unix does; 0 for none.
    password_fail_delay: float = 2.0


# Connection limits that differ from the shared defaults, per decoy: what the real service does.
LIMIT_DEFAULTS: Final[Mapping[str, Mapping[str, Any]]] = {
    "portscan": {"idle_timeout": 30.0, "deadline": 60.0, "max_bytes_in": 65536},
    # nginx: client_header_timeout 60 s; a 1 MiB body (client_max_body_size) plus its head must
    # reach nginx's 413 page rather than the byte cap.
    "web": {"idle_timeout": 60.0, "deadline": 300.0, "max_bytes_in": 8 << 20},
    "mysql": {"idle_timeout": 120.0, "deadline": 900.0},
    "ssh": {"idle_timeout": 120.0, "deadline": 600.0},  # LoginGraceTime 120s
}

DECOY_CONFIGS: Final[Mapping[str, type]] = {
    "portscan": PortscanConfig,
    "web": WebConfig,
    "mysql": MysqlConfig,
    "ssh": SshConfig,
}


@dataclass(frozen=True)
class Settings:
    """Everything one process runs with."""

    common: Common
    decoys: tuple[str, ...]
    configs: Mapping[str, Any] = field(default_factory=dict)
    limits: Mapping[str, Limits] = field(default_factory=dict)


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
    values: dict[str, Any] = dict(LIMIT_DEFAULTS.get(decoy, {}))
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
_OWN_LABELS: Final = frozenset({"alertname", "decoy", "pod", "severity", "source_ip"})


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
    if not 1 <= c.alert_queue_size <= 1_000_000:
        raise ConfigError("HONEYPODS_ALERT_QUEUE_SIZE: 1 to 1000000")
    if not 0 < c.alert_timeout <= 60:
        raise ConfigError("HONEYPODS_ALERT_TIMEOUT: more than 0, at most 60 seconds")


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
        upper = decoy.upper()
        if isinstance(cfg, PortscanConfig):
            if not cfg.ports:
                raise ConfigError("HONEYPODS_PORTSCAN_PORTS: at least one port")
            for port in cfg.ports:
                claim("HONEYPODS_PORTSCAN_PORTS", port)
            if cfg.scan_threshold < 2:
                raise ConfigError("HONEYPODS_PORTSCAN_SCAN_THRESHOLD must be at least 2")
            if cfg.sensor not in ("off", "on"):
                raise ConfigError(f"HONEYPODS_PORTSCAN_SENSOR={cfg.sensor!r}: off or on")
            for name in ("scan_window", "scan_report_delay", "capture_timeout"):
                if getattr(cfg, name) <= 0:
                    raise ConfigError(f"HONEYPODS_PORTSCAN_{name.upper()} must be positive")
            if cfg.capture_bytes <= 0 or cfg.scan_max_sources <= 0:
                raise ConfigError("HONEYPODS_PORTSCAN capture_bytes/scan_max_sources: positive")
        else:
            claim(f"HONEYPODS_{upper}_PORT", cfg.port)
        if isinstance(cfg, WebConfig):
            claim("HONEYPODS_WEB_TLS_PORT", cfg.tls_port)
            if bool(cfg.tls_cert) != bool(cfg.tls_key):
                raise ConfigError("HONEYPODS_WEB_TLS_CERT and HONEYPODS_WEB_TLS_KEY go together")
            for name in (cfg.tls_cert, cfg.tls_key):
                if name and not Path(name).is_file():
                    raise ConfigError(f"HONEYPODS_WEB_TLS_CERT/KEY: no file {name}")
        if isinstance(cfg, MysqlConfig | SshConfig):
            for cred in cfg.accept:
                if ":" not in cred:
                    raise ConfigError(f"HONEYPODS_{upper}_ACCEPT: {cred!r} is not user:password")
        if isinstance(cfg, MysqlConfig):
            if cfg.auth_plugin not in ("caching_sha2_password", "mysql_native_password"):
                raise ConfigError(
                    "HONEYPODS_MYSQL_AUTH_PLUGIN: caching_sha2_password or mysql_native_password"
                )
            if cfg.connect_timeout <= 0:
                raise ConfigError("HONEYPODS_MYSQL_CONNECT_TIMEOUT must be positive")
            if not 1024 <= cfg.max_packet_size <= 1 << 30:
                raise ConfigError("HONEYPODS_MYSQL_MAX_PACKET_SIZE: 1024 to 1073741824 bytes")
        if isinstance(cfg, SshConfig):
            _validate_ssh(cfg)


def parse_max_startups(value: str) -> tuple[int, int, int]:
    """sshd's MaxStartups: ``start:rate:full`` or a single number (start = full).

    Raises:
        ValueError: the value is malformed.
    """
    parts = value.split(":")
    if len(parts) == 1:
        start = full = int(parts[0], 10)
        rate = 100
    elif len(parts) == 3:
        start, rate, full = (int(p, 10) for p in parts)
    else:
        raise ValueError("expected start:rate:full or a number")
    if not (0 < start <= full and 0 < rate <= 100):
        raise ValueError("need 0 < start <= full and 0 < rate <= 100")
    return start, rate, full


def _validate_ssh(cfg: SshConfig) -> None:
    version = cfg.server_version
    if not version.startswith("SSH-2.0-") or len(version) > 253 or not version.isprintable():
        raise ConfigError("HONEYPODS_SSH_SERVER_VERSION: SSH-2.0-..., printable, at most 253")
    if not version.isascii():
        raise ConfigError("HONEYPODS_SSH_SERVER_VERSION must be ASCII")
    if cfg.max_auth_tries < 1:
        raise ConfigError("HONEYPODS_SSH_MAX_AUTH_TRIES must be at least 1")
    if cfg.login_grace_time <= 0 or cfg.password_fail_delay < 0:
        raise ConfigError("HONEYPODS_SSH_LOGIN_GRACE_TIME > 0, PASSWORD_FAIL_DELAY >= 0")
    try:
        parse_max_startups(cfg.max_startups)
    except ValueError as exc:
        raise ConfigError(f"HONEYPODS_SSH_MAX_STARTUPS={cfg.max_startups!r}: {exc}") from None
    if cfg.host_key_dir and not Path(cfg.host_key_dir).is_dir():
        raise ConfigError(f"HONEYPODS_SSH_HOST_KEY_DIR: no directory {cfg.host_key_dir}")
    for name in ("ssh_host_rsa_key", "ssh_host_ecdsa_key", "ssh_host_ed25519_key"):
        path = Path(cfg.host_key_dir or "/nonexistent", name)
        if not path.is_file():
            continue
        try:
            with path.open("rb") as key:
                head = key.read(11)
        except OSError as exc:
            raise ConfigError(f"HONEYPODS_SSH_HOST_KEY_DIR: {path}: {exc.strerror}") from None
        if head != b"-----BEGIN ":
            raise ConfigError(f"HONEYPODS_SSH_HOST_KEY_DIR: {path} is not a PEM/OpenSSH key")


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
    chosen = tuple(decoys) or DECOYS
    for decoy in chosen:
        if decoy not in DECOYS:
            raise ConfigError(f"unknown decoy {decoy!r}; choose from {', '.join(DECOYS)}")
    _reject_unknown(merged)
    settings = Settings(
        common=_fill(Common, "HONEYPODS_", merged),
        decoys=tuple(dict.fromkeys(chosen)),
        configs=types.MappingProxyType(
            {d: _fill(DECOY_CONFIGS[d], f"HONEYPODS_{d.upper()}_", merged) for d in chosen}
        ),
        limits=types.MappingProxyType({d: _limits(d, merged) for d in chosen}),
    )
    _validate(settings)
    return settings


def known_names() -> set[str]:
    """Every HONEYPODS_* variable this version understands."""
    names = {f"HONEYPODS_{f.name.upper()}" for f in dataclasses.fields(Common)}
    names |= {f"HONEYPODS_{f.name.upper()}" for f in dataclasses.fields(Limits)}
    for decoy, cls in DECOY_CONFIGS.items():
        names |= {f"HONEYPODS_{decoy.upper()}_{f.name.upper()}" for f in dataclasses.fields(cls)}
        names |= {f"HONEYPODS_{decoy.upper()}_{f.name.upper()}" for f in dataclasses.fields(Limits)}
    return names


def _reject_unknown(env: Mapping[str, str]) -> None:
    # A misspelt variable silently ignored is a decoy running with settings nobody chose.
    known = known_names()
    for name in env:
        if name.startswith("HONEYPODS_") and name not in known:
            raise ConfigError(f"{name}: unknown setting")


# -- documentation ----------------------------------------------------------------------------------


def _field_comments(cls: type) -> dict[str, str]:
    """The comment lines above each field in the class body: the one place settings are explained."""
    import inspect

    comments: dict[str, str] = {}
    pending: list[str] = []
    for raw in inspect.getsource(cls).splitlines()[1:]:
        line = raw.strip()
        if line.startswith("#"):
            pending.append(line.lstrip("# ").rstrip())
        elif ":" in line and not line.startswith(('"', "'")) and "=" in line:
            name = line.split(":", 1)[0].strip()
            trailing = line.split("#", 1)[1].strip() if "  # " in line else ""
            comments[name] = " ".join([*pending, trailing]).strip().replace("|", "\\|")
            pending = []
        elif not line.startswith(("2", ")")):
            pending = []
    return comments


def _default_text(value: Any) -> str:
    if isinstance(value, tuple):
        return ",".join(str(v) for v in value) if value else "(empty)"
    return str(value) if value != "" else "(empty)"


def markdown() -> str:
    """docs/configuration.md, generated from the dataclasses and their comments."""
    out = [
        "# Configuration",
        "",
        "<!-- Generated by `python -m honeypods.config`; edit src/honeypods/config.py instead. -->",
        "",
        "Every setting is an environment variable, read once at start. A malformed value or an",
        "unknown `HONEYPODS_*` name stops the process with exit status 2 and a message naming the",
        "variable. `--set NAME=VALUE` on the command line overrides the environment.",
        "",
        "The defaults are for trying the decoys locally (loopback, unprivileged ports); the images",
        "and the Helm chart set real addresses and ports.",
        "",
    ]
    sections: list[tuple[str, type, str]] = [("Shared", Common, "HONEYPODS_")]
    sections += [(d, DECOY_CONFIGS[d], f"HONEYPODS_{d.upper()}_") for d in DECOYS]
    for title, cls, prefix in sections:
        doc = (cls.__doc__ or "").strip()
        out += [
            f"## {title}",
            "",
            doc,
            "",
            "| variable | default | meaning |",
            "| --- | --- | --- |",
        ]
        comments = _field_comments(cls)
        for f in dataclasses.fields(cls):
            out.append(
                f"| `{prefix}{f.name.upper()}` | `{_default_text(f.default)}` | "
                f"{comments.get(f.name, '')} |"
            )
        out.append("")
    out += [
        "## Connection limits",
        "",
        "Each limit is read as `HONEYPODS_<DECOY>_<LIMIT>`, then `HONEYPODS_<LIMIT>`, then the",
        "decoy's default below. A connection over a cap is still logged (`session.connect`), then",
        "closed with `session.closed` and the reason.",
        "",
        "| limit | default | " + " | ".join(DECOYS) + " | meaning |",
        "| --- | --- | " + " | ".join("---" for _ in DECOYS) + " | --- |",
    ]
    meanings = {
        "max_connections": "connections open at once; more are closed with `over_capacity`",
        "max_per_source": "the same, per source IP",
        "idle_timeout": "seconds without a byte from the peer; then `idle_timeout`",
        "deadline": "seconds a connection may live; then `deadline`",
        "max_bytes_in": "bytes the peer may send; then `limit`",
        "max_bytes_out": "bytes the decoy may send; then `limit`",
    }
    for f in dataclasses.fields(Limits):
        per = [_default_text(LIMIT_DEFAULTS.get(d, {}).get(f.name, f.default)) for d in DECOYS]
        out.append(
            f"| `{f.name.upper()}` | `{f.default}` | "
            + " | ".join(per)
            + f" | {meanings[f.name]} |"
        )
    out.append("")
    return "\n".join(out)


DOCS_PATH: Final = Path(__file__).parents[2] / "docs" / "configuration.md"


if __name__ == "__main__":
    DOCS_PATH.write_text(markdown())
    print(f"wrote {DOCS_PATH}")
