"""Shared fixtures: event capture validated against the schema, real decoy processes, tools.

Every event a test produces, in process or from a subprocess's stdout, is validated against the
committed JSON Schema when the test ends; a test that makes an invalid event fails.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, Final

import jsonschema
import pytest

from honeypods.core import eventdocs, events

ROOT = Path(__file__).resolve().parents[1]
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
_SCHEMA = json.loads(eventdocs.SCHEMA_PATH.read_text())
_VALIDATOR = jsonschema.Draft202012Validator(_SCHEMA)
# One validator per event id: the branch of the schema's allOf that applies, checked directly
# (the full schema tries every branch's condition, which is slow over tens of thousands of lines).
_BY_ACTION = {
    action: jsonschema.Draft202012Validator(sub) for action, sub in _SCHEMA["$defs"].items()
}


def validate_event(doc: Mapping[str, Any]) -> None:
    """Raise if ``doc`` (a parsed JSON line) does not match the schema."""
    action = doc.get("event", {}).get("action") if isinstance(doc, Mapping) else None
    validator = _BY_ACTION.get(action, _VALIDATOR) if isinstance(action, str) else _VALIDATOR
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
    if errors:
        detail = "; ".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:5])
        raise AssertionError(f"event does not match the schema: {detail}\n{json.dumps(doc)}")


def require_tool(name: str) -> str:
    """Path of an external tool; a missing one skips locally and fails under CI=true."""
    path = shutil.which(name) or shutil.which(name, path=str(ROOT / ".tools" / "bin"))
    if path:
        return path
    message = f"{name} is not installed (make deps installs it)"
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


def require_root() -> None:
    if os.geteuid() != 0:
        if IN_CI:
            pytest.fail("this test needs root (CI runs as root)")
        pytest.skip("needs root")


class Captured:
    """Events emitted in this process, as flat dicts (dotted keys) and as rendered documents."""

    def __init__(self) -> None:
        self.flat: list[dict[str, Any]] = []

    def __call__(self, flat: Mapping[str, Any]) -> None:
        self.flat.append(dict(flat))

    def of(self, action: str) -> list[dict[str, Any]]:
        return [e for e in self.flat if e["event.action"] == action]

    def docs(self) -> list[dict[str, Any]]:
        return [json.loads(events.render(e)) for e in self.flat]

    async def wait_for(
        self, predicate: Callable[[list[dict[str, Any]]], bool], timeout: float = 10.0
    ) -> None:
        deadline = time.monotonic() + timeout
        while not predicate(self.flat):
            if time.monotonic() > deadline:
                raise AssertionError(f"condition not met in {timeout}s; {len(self.flat)} events")
            await asyncio.sleep(0.02)


@pytest.fixture
def captured() -> Iterator[Captured]:
    """Collect in-process events; validate each against the schema at the end."""
    cap = Captured()
    events.add_observer(cap)
    try:
        yield cap
    finally:
        events.remove_observer(cap)
    for doc in cap.docs():
        validate_event(doc)


# The MySQL persona and names of the tests that read the data by name (every install before
# personas existed): the seed picks no build and no names for them.
MYSQL_REFERENCE: Final = {
    "HONEYPODS_MYSQL_PERSONA": "mysql-8.0.36",
    "HONEYPODS_MYSQL_DATABASES": "app_prod,billing",
    "HONEYPODS_MYSQL_TABLES": "users,customers,api_keys,sessions,payment_methods,invoices",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class DecoyProcess:
    """``python -m honeypods`` in a subprocess, its stdout in a file, parsed on demand."""

    def __init__(self, args: list[str], env: Mapping[str, str], out: Path, prefix: list[str]):
        self.out = out
        self.stdout = out.open("wb")
        self.stderr_path = out.with_suffix(".err")
        self.stderr_file = self.stderr_path.open("wb")
        self._validated: list[dict[str, Any]] = []
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("HONEYPODS_")}
        full_env.update(env)
        full_env.setdefault("HONEYPODS_SUMMARY_INTERVAL", "0")
        self.proc = subprocess.Popen(
            [*prefix, sys.executable, "-m", "honeypods", *args],
            stdout=self.stdout,
            stderr=self.stderr_file,
            env=full_env,
        )

    def lines(self) -> list[str]:
        """The complete lines so far: a reader can catch the decoy in the middle of a write."""
        text = self.out.read_text(errors="strict")
        return text[: text.rfind("\n") + 1].splitlines()

    def events(self) -> list[dict[str, Any]]:
        """Every stdout line, parsed and validated (each line once)."""
        lines = self.lines()
        for line in lines[len(self._validated) :]:
            doc = json.loads(line)
            validate_event(doc)
            self._validated.append(doc)
        return list(self._validated)

    def of(self, action: str) -> list[dict[str, Any]]:
        return [e for e in self.events() if e["event"]["action"] == action]

    def wait_for(
        self, predicate: Callable[[list[dict[str, Any]]], bool], timeout: float = 15.0
    ) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while True:
            docs = [json.loads(line) for line in self.lines() if line.endswith("}")]
            if predicate(docs):
                return docs
            if self.proc.poll() is not None:
                raise AssertionError(f"decoy exited {self.proc.returncode}: {self.stderr()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"condition not met in {timeout}s; {len(docs)} events")
            time.sleep(0.05)

    def wait_ready(self, timeout: float = 15.0) -> None:
        """Until every requested decoy has logged honeypods.start."""
        self.wait_for(
            lambda docs: (
                any(
                    d["event"]["action"] == "honeypods.start" and d["honeypod"]["decoy"] != "runner"
                    for d in docs
                )
                and sum(
                    d["event"]["action"] == "honeypods.start" and d["honeypod"]["decoy"] != "runner"
                    for d in docs
                )
                >= self.expected
            ),
            timeout,
        )

    expected = 1

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def stop(self, timeout: float = 10.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.stdout.close()
        self.stderr_file.close()
        return self.proc.returncode


def refused_at_start(
    start: Callable[..., DecoyProcess], decoy: str, settings: Mapping[str, str], message: str
) -> None:
    """The decoy, given ``settings`` as ``--set`` flags, must refuse to start: exit status 2 and
    ``message`` both on stderr and in one ``honeypods.config_error`` event."""
    args = [decoy]
    for name, value in settings.items():
        args += ["--set", f"{name}={value}"]
    proc = start(args, wait=False)
    assert proc.proc.wait(20) == 2
    assert message in proc.stderr()
    errors = proc.of("honeypods.config_error")
    assert len(errors) == 1
    assert message in errors[0]["error"]["message"]


@pytest.fixture
def decoy_process(tmp_path: Path) -> Iterator[Callable[..., DecoyProcess]]:
    """Factory: ``decoy_process(["portscan"], {"HONEYPODS_...": ...})`` starts and waits ready.

    At the end the process gets SIGTERM and every line it wrote is validated.
    """
    started: list[DecoyProcess] = []

    def start(
        decoys: list[str],
        env: Mapping[str, str] | None = None,
        *,
        prefix: list[str] | None = None,
        wait: bool = True,
    ) -> DecoyProcess:
        env = dict(env or {})
        env.setdefault("HONEYPODS_METRICS_PORT", str(free_port()))
        out = tmp_path / f"decoy{len(started)}.jsonl"
        proc = DecoyProcess(["run", *decoys], env, out, prefix or [])
        proc.expected = len(decoys)
        started.append(proc)
        if wait:
            proc.wait_ready()
        return proc

    yield start
    for proc in started:
        proc.stop()
        proc.events()


@pytest.fixture
def mysql_decoy(
    decoy_process: Callable[..., DecoyProcess],
) -> Callable[..., tuple[DecoyProcess, int]]:
    """Factory: the MySQL decoy under its reference names, ``root`` with an empty password and
    ``admin:admin`` (one password per account, as on MySQL; a test pins others with ``env``)."""

    def start(**env: str) -> tuple[DecoyProcess, int]:
        port = free_port()
        accept = {"HONEYPODS_MYSQL_ACCEPT": "root:,admin:admin"}
        full = {"HONEYPODS_MYSQL_PORT": str(port), **MYSQL_REFERENCE, **accept, **env}
        return decoy_process(["mysql"], full), port

    return start
