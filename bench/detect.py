"""What a honeypot detector scores: Debian's stock nginx and the web decoy, each on its own IP.

    python bench/detect.py [--minimal | --seed-only]

Runs ``tests/detector.py`` (rules from honeydet, potsnitch, nuclei and Shodan's Honeyscore) twice
on each target with a restart between, as tests/integration/test_detectability.py does, and
prints both scores with the rules that fired. The decoy is ``python -m honeypods run web`` as
the chart runs it; ``--minimal`` gives it only its host and ports, for older checkouts without
the TLS server-name and state settings (``PYTHONPATH=/old/src python bench/detect.py --minimal``
scores another version of the decoy); ``--seed-only`` runs it as a ``docker run`` with a seed and
no volume does, its certificate derived from the seed instead of kept in a state directory.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests import detector  # noqa: E402 - after the path set-up

from common import free_port  # noqa: E402 - after the path set-up

CONF = ROOT / "tests" / "integration" / "nginx" / "nginx-stock.conf"
WELCOME = Path("/var/www/html/index.nginx-debian.html")


def _wait(host: str, port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 20
    while True:
        try:
            socket.create_connection((host, port), timeout=1).close()
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"{proc.args[0]} did not start on {host}:{port}") from None
            time.sleep(0.05)
        else:
            return


def _scan(target: detector.Target, start: Callable[[], subprocess.Popen[bytes]]) -> str:
    proc = start()
    first = detector.observe(target)
    proc.terminate()
    proc.wait(10)
    proc = start()
    try:
        points, fired = detector.evaluate(detector.observe(target), first)
    finally:
        proc.terminate()
        proc.wait(10)
    return f"{points:3d}  {', '.join(fired) or '-'}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minimal", action="store_true", help="decoy with host and ports only")
    parser.add_argument("--seed-only", action="store_true", help="no state directory")
    parser.add_argument("--nginx-ip", default="127.0.0.21")
    parser.add_argument("--decoy-ip", default="127.0.0.22")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="honeypods-detect-"))
    try:
        root = work / "nginx"
        for sub in ("html", "body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (root / sub).mkdir(parents=True)
        shutil.copy2(WELCOME, root / "html" / WELCOME.name)
        subprocess.run(
            ["openssl", "req", "-new", "-x509", "-days", "3650", "-nodes", "-sha256",
             "-newkey", "rsa:2048", "-subj", "/CN=web01.corp.internal",
             "-keyout", str(root / "snakeoil.key"), "-out", str(root / "snakeoil.pem")],
            check=True, capture_output=True,
        )  # fmt: skip
        port, tls_port = free_port(), free_port()
        text = CONF.read_text()
        for key, value in {"{dir}": str(root), "{host}": args.nginx_ip, "{port}": str(port),
                           "{tls_port}": str(tls_port)}.items():  # fmt: skip
            text = text.replace(key, value)
        (root / "nginx.conf").write_text(text)

        def nginx() -> subprocess.Popen[bytes]:
            proc = subprocess.Popen(
                ["nginx", "-p", str(root), "-c", str(root / "nginx.conf"), "-g",
                 f"daemon off; pid {root}/nginx.pid; error_log stderr;"],
                stderr=subprocess.DEVNULL,
            )  # fmt: skip
            _wait(args.nginx_ip, tls_port, proc)
            return proc

        nginx_target = detector.Target(args.nginx_ip, port, tls_port, "web01.corp.internal")
        dport, dtls = free_port(), free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("HONEYPODS_")}
        env |= {"HONEYPODS_HOST": args.decoy_ip, "HONEYPODS_WEB_PORT": str(dport),
                "HONEYPODS_WEB_TLS_PORT": str(dtls), "HONEYPODS_METRICS_PORT": str(free_port()),
                "HONEYPODS_SUMMARY_INTERVAL": "0"}  # fmt: skip
        if not args.minimal:
            env |= {"HONEYPODS_WEB_TLS_REJECT_HANDSHAKE": "true",
                    "HONEYPODS_WEB_TLS_SERVER_NAMES": "dashboard-internal-service,dashboard.internal",
                    "HONEYPODS_STATE_DIR": str(work / "state"),
                    "HONEYPODS_PERSONA_SEED": "bench-detect-seed-000001"}  # fmt: skip
            if args.seed_only:
                del env["HONEYPODS_STATE_DIR"]

        def decoy() -> subprocess.Popen[bytes]:
            proc = subprocess.Popen(
                [sys.executable, "-m", "honeypods", "run", "web"],
                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            _wait(args.decoy_ip, dtls, proc)
            return proc

        decoy_target = detector.Target(args.decoy_ip, dport, dtls, "dashboard.internal")
        print(f"{'target':<22}points  fired rules")
        print(f"{'nginx (stock Debian)':<22}{_scan(nginx_target, nginx)}")
        print(f"{'web decoy':<22}{_scan(decoy_target, decoy)}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
