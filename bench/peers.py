"""Peer honeypots from PyPI (OpenCanary, Cowrie), run next to our decoys by bench/compare.py.

Each peer is pip-installed into its own throwaway venv under ``--peers-dir`` (default
``$TMPDIR/honeypods-peers``, never inside the repo), configured for one service on a fresh loopback
port with JSON logging to a file, started by PID pinned to CPU 0 like our decoys, and stopped by
that PID. As root the peers run as nobody:nogroup: Cowrie refuses root, and a honeypot from PyPI
has no business running as root on a shared machine. Their venvs use Debian's ``/usr/bin/python3``
when there is one, because a pyenv interpreter under /root is out of nobody's reach.

OpenCanary runs with its three opt-in logging knobs on (``mysql.log_connection_made``,
``http.log_redirect_request``, ``http.log_unimplemented_method_requests``): without them it logs
neither a MySQL connection that does not log in nor ``GET /``, and the comparison would be against
a peer that logs nothing. ``--peer-defaults`` in compare.py turns them off.

On its own, ``python bench/peers.py`` installs the peers and checks that each one starts and stops.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from common import free_port

# Pinned to the versions the README's peer table was measured with, so reruns compare
# against the same code.
PACKAGES = {"opencanary": "opencanary==0.9.10", "cowrie": "cowrie==3.1.4"}
# Which peer covers which service kind; Cowrie has no HTTP or MySQL.
PEERS = {"http": ("opencanary",), "ssh": ("opencanary", "cowrie"), "mysql": ("opencanary",)}
# Files a peer reads before ours and that would silently override it.
SYSTEM_CONFIGS = {
    "opencanary": Path("/etc/opencanaryd/opencanary.conf"),
    "cowrie": Path("/etc/cowrie/cowrie.cfg"),
}
NOBODY = 65534
OPENCANARY_OPT_IN = ("mysql.log_connection_made", "http.log_redirect_request")
OPENCANARY_OPT_IN_HTTP = "http.log_unimplemented_method_requests"


def default_dir() -> Path:
    return Path(tempfile.gettempdir()) / "honeypods-peers"


def _base_python() -> str:
    debian = "/usr/bin/python3"
    return debian if os.access(debian, os.X_OK) else sys.executable


def _own_dir(path: Path) -> None:
    """Create ``path`` or accept it only if we own it and nobody else can write to it (it is in /tmp)."""
    path.mkdir(mode=0o755, parents=True, exist_ok=True)
    st = path.stat()
    if st.st_uid != os.geteuid() or st.st_mode & 0o022:
        raise RuntimeError(f"{path} is not ours alone; remove it or pass another --peers-dir")


def install(root: Path, product: str) -> Path:
    """The venv holding ``product``, created on first use (later runs reuse it)."""
    _own_dir(root)
    venv = root / product
    marker = venv / ".installed"
    spec = PACKAGES[product]
    if marker.exists() and marker.read_text() == spec:
        return venv
    shutil.rmtree(venv, ignore_errors=True)
    print(f"installing {spec} into {venv} ...", flush=True)
    subprocess.run([_base_python(), "-m", "venv", str(venv)], check=True, timeout=300)
    subprocess.run(
        [
            str(venv / "bin/python"),
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            spec,
        ],
        check=True,
        timeout=1200,
        stdout=subprocess.DEVNULL,
    )
    marker.write_text(spec)
    return venv


def listening(pid: int, port: int) -> bool:
    """Is process ``pid`` listening on TCP ``port``? Read from /proc, so no probe lands in a log."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as f:
            next(f)
            for line in f:
                cols = line.split()
                if cols[3] == "0A" and int(cols[1].rsplit(":", 1)[1], 16) == port:
                    inodes.add(f"socket:[{cols[9]}]")
    if not inodes:
        return False
    # Someone else may hold the port (free_port() is a guess): the socket must be the peer's own.
    with contextlib.suppress(OSError):
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                if os.readlink(fd) in inodes:
                    return True
    return False


@dataclass
class Peer:
    """One peer honeypot process serving one service kind; its JSON log is ``log``."""

    product: str
    kind: str
    root: Path = field(default_factory=default_dir)
    opt_in: bool = True
    host: str = "127.0.0.1"
    port: int = field(default_factory=free_port)
    workdir: Path = field(init=False)
    log: Path = field(init=False)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def name(self) -> str:
        return f"{self.product}-{self.kind}"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self, cpu: int = 0, timeout: float = 90.0) -> None:
        if SYSTEM_CONFIGS[self.product].exists():
            raise RuntimeError(f"{SYSTEM_CONFIGS[self.product]} exists and would override ours")
        venv = install(self.root, self.product)
        self.workdir = Path(tempfile.mkdtemp(prefix=f"{self.name}-", dir=self.root))
        argv = self._opencanary(venv) if self.product == "opencanary" else self._cowrie(venv)
        user: dict[str, int] = {}
        if os.geteuid() == 0:
            user = {"user": NOBODY, "group": NOBODY}
            for path in [self.workdir, *self.workdir.rglob("*")]:
                os.chown(path, NOBODY, NOBODY)
        # The peers read COWRIE_* overrides from the environment: give them a clean one.
        env = {"PATH": "/usr/bin:/bin", "HOME": str(self.workdir), "LANG": "C.UTF-8"}
        prefix = ["taskset", "-c", str(cpu)] if shutil.which("taskset") else []
        self.proc = subprocess.Popen(
            [*prefix, *argv],
            cwd=self.workdir,
            env=env,
            stdout=(self.workdir / "stdout.log").open("wb"),
            stderr=subprocess.STDOUT,
            extra_groups=[] if user else None,
            **user,  # type: ignore[call-overload]  # user/group only when we can switch
        )
        deadline = time.monotonic() + timeout
        while not listening(self.proc.pid, self.port):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                out = (self.workdir / "stdout.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"{self.name} did not start listening:\n{out}")
            time.sleep(0.1)

    def _opencanary(self, venv: Path) -> list[str]:
        self.log = self.workdir / "opencanary.json"
        sample = next(venv.glob("lib/python*/site-packages/opencanary/data/settings.json"))
        settings = json.loads(sample.read_text())
        for key in settings:
            if key.endswith(".enabled"):
                settings[key] = False
        settings.update(
            {
                "device.node_id": self.name,
                "device.listen_addr": self.host,
                f"{self.kind}.enabled": True,
                f"{self.kind}.port": self.port,
                "ssh.key_path": str(self.workdir),
                "logger": {
                    "class": "PyLogger",
                    "kwargs": {
                        "formatters": {"plain": {"format": "%(message)s"}},
                        "handlers": {
                            "file": {
                                "class": "logging.FileHandler",
                                "filename": str(self.log),
                                "formatter": "plain",
                            }
                        },
                    },
                },
            }
        )
        for knob in (*OPENCANARY_OPT_IN, OPENCANARY_OPT_IN_HTTP):
            settings[knob] = self.opt_in
        # Read from ~ (HOME is the work dir) ahead of the current directory, with no warning.
        (self.workdir / ".opencanary.conf").write_text(json.dumps(settings, indent=1))
        return [
            str(venv / "bin/python"),
            str(venv / "bin/twistd"),
            "-n",
            "--pidfile=",
            "-y",
            str(venv / "bin/opencanary.tac"),
        ]

    def _cowrie(self, venv: Path) -> list[str]:
        if self.kind != "ssh":
            raise ValueError("Cowrie serves SSH (and Telnet) only")
        # The state directory `cowrie init` would create; defaults come from the bundled .dist.
        for sub in ("etc", "var/log/cowrie", "var/lib/cowrie/downloads", "var/lib/cowrie/tty"):
            (self.workdir / sub).mkdir(parents=True, exist_ok=True)
        (self.workdir / "var/run").mkdir(exist_ok=True)
        self.log = self.workdir / "var/log/cowrie/cowrie.json"
        (self.workdir / "etc/cowrie.cfg").write_text(
            "[ssh]\n"
            f"listen_endpoints = tcp:{self.port}:interface={self.host}\n"
            "[telnet]\nenabled = false\n"
            "[output_jsonlog]\nenabled = true\n"
            f"logfile = {self.log}\n"
        )
        return [
            str(venv / "bin/python"),
            str(venv / "bin/twistd"),
            "--umask=0022",
            "-n",
            "--pidfile=var/run/cowrie.pid",
            "--logger",
            "cowrie.python.logfile.logger",
            "cowrie",
        ]

    def stop(self) -> int:
        if self.proc is None:
            return -1
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(10)

    def cleanup(self) -> None:
        if hasattr(self, "workdir"):  # not set if the install failed
            shutil.rmtree(self.workdir, ignore_errors=True)

    def event_ports(self) -> list[int]:
        """One entry per logged per-connection event, in log order: the client's source port."""
        if not self.log.exists():
            return []
        ports: list[int] = []
        sessions: dict[str, int] = {}
        with self.log.open(errors="replace") as f:
            for line in f:
                try:
                    event = json.loads(line)
                except ValueError:
                    continue
                if self.product == "opencanary":
                    # Below 2000 are OpenCanary's own boot and status messages.
                    if int(event.get("logtype", 0)) >= 2000:
                        ports.append(int(event.get("src_port", 0)))
                elif "session" in event:
                    # Cowrie puts the port on cowrie.session.connect only; the rest carry the session.
                    if "src_port" in event:
                        sessions[event["session"]] = int(event["src_port"])
                    ports.append(sessions.get(event["session"], 0))
        return ports


def main() -> int:
    parser = argparse.ArgumentParser(description="Install the peers and check each one starts.")
    parser.add_argument("--peers-dir", type=Path, default=default_dir())
    args = parser.parse_args()
    for kind, products in PEERS.items():
        for product in products:
            peer = Peer(product, kind, root=args.peers_dir)
            t0 = time.monotonic()
            peer.start()
            print(
                f"{peer.name}: listening on {peer.host}:{peer.port} in {time.monotonic() - t0:.1f} s"
            )
            print(f"{peer.name}: exit code {peer.stop()} on SIGTERM")
            peer.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
