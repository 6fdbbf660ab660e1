"""How long a failed password takes to be refused: Debian's real sshd against the SSH lure.

Starts Debian's ``/usr/sbin/sshd`` (openssh-server) on a loopback port with a config and host key
of its own in a temporary directory (no system file is read or changed but the privilege
separation directory ``/run/sshd`` it needs, created when missing), then the lure through the
real runner with its default delays, and times the same tries against each with paramiko: the
time from the USERAUTH_REQUEST to its answer, as a brute-forcing client sees it. Each connection
makes up to ``MaxAuthTries - 1`` tries, so no try ends in the DISCONNECT; tries run from several
connections at once, as sshd forks per connection and the lure serves them concurrently.

Cases: a password for root (PermitRootLogin prohibit-password: PAM checks a bad password in its
place), for a user that does not exist (the same), and an empty password for each (refused by
PermitEmptyPasswords before PAM). sshd's DEBUG3 log also gives its per-user minimum delay
(``user specific delay``) and its own waits (``ensure_minimum_time_since``), which the lure's model
in ``honeypods.ssh.policy`` follows.

Usage: ``python bench/ssh_timing.py [--tries 40] [--parallel 8] [--only sshd|lure]``. Needs root
(sshd checks passwords through PAM as root). sshd and the lure are started and stopped by PID.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import paramiko

sys.path.insert(0, str(Path(__file__).parent))

from common import Decoy, free_port
from honeypods.ssh import timing

CASES = (
    ("root", "wrong-password"),
    ("nosuchuser", "wrong-password"),
    ("root", ""),
    ("nosuchuser", ""),
)
TRIES_PER_CONNECTION = 5  # MaxAuthTries 6: the sixth failure is a DISCONNECT, not a FAILURE


def time_tries(
    port: int, user: str, password: str, tries: int, parallel: int
) -> list[tuple[int, float, int]]:
    """(try number on its connection, seconds from the request to its refusal, Unix second it was
    sent in), ``tries`` times."""
    out: list[tuple[int, float, int]] = []
    lock = threading.Lock()
    left = [tries]

    def take(n: int) -> int:
        with lock:
            got = min(n, left[0])
            left[0] -= got
            return got

    def worker() -> None:
        while n := take(TRIES_PER_CONNECTION):
            transport = paramiko.Transport(("127.0.0.1", port))
            try:
                transport.start_client(timeout=30)
                for i in range(n):
                    sent, t0 = int(time.time()), time.perf_counter()
                    try:
                        transport.auth_password(user, password, fallback=False)
                    except paramiko.AuthenticationException:
                        pass
                    else:
                        raise SystemExit(f"{user!r} got in")
                    with lock:
                        out.append((i, time.perf_counter() - t0, sent))
            finally:
                transport.close()

    threads = [threading.Thread(target=worker) for _ in range(parallel)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(600)
    return out


def summary(values: list[float]) -> dict[str, object]:
    data = sorted(values)
    q = statistics.quantiles(data, n=10) if len(data) > 1 else data * 9
    # The distinct answers, to 10 ms: sshd's are a few values per user, not a spread.
    modes = Counter(round(v, 2) for v in data).most_common(6)
    return {
        "n": len(data),
        "min_ms": round(data[0] * 1000, 1),
        "p10_ms": round(q[0] * 1000, 1),
        "median_ms": round(statistics.median(data) * 1000, 1),
        "p90_ms": round(q[-1] * 1000, 1),
        "max_ms": round(data[-1] * 1000, 1),
        "modes_s": [[v, c] for v, c in modes],
    }


def measure(port: int, tries: int, parallel: int, seconds: list[int]) -> dict[str, object]:
    results: dict[str, object] = {}
    for user, password in CASES:
        n = tries if password else max(10, tries // 2)
        name = f"{user}/{'empty' if not password else 'wrong'}"
        timed = time_tries(port, user, password, n, parallel)
        if password:
            seconds += [sent for _i, _t, sent in timed]
        # A connection's first try also pays for the client's service request and sshd's
        # per-connection setup (getpwnam, PAM): kept apart from the later tries.
        results[name] = {
            "first_try": summary([t for i, t, _s in timed if i == 0]),
            "later_tries": summary([t for i, t, _s in timed if i > 0]),
        }
    return results


def run_sshd(tries: int, parallel: int) -> dict[str, object]:
    sshd = shutil.which("sshd") or "/usr/sbin/sshd"
    if not Path(sshd).exists():
        raise SystemExit("needs Debian's openssh-server (scripts/install-deps.sh)")
    if os.geteuid() != 0:
        raise SystemExit("sshd checks passwords through PAM as root: run as root")
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bench-sshd-") as tmp:
        key = Path(tmp, "ssh_host_ed25519_key")
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
        port = free_port()
        config = Path(tmp, "sshd_config")
        # Debian's defaults where they matter (UsePAM, KbdInteractiveAuthentication no), on
        # loopback with room for the parallel connections.
        config.write_text(
            f"Port {port}\nListenAddress 127.0.0.1\nHostKey {key}\nPidFile none\n"
            "UsePAM yes\nKbdInteractiveAuthentication no\nPasswordAuthentication yes\n"
            "MaxStartups 100\nMaxAuthTries 6\nLogLevel DEBUG3\n"
        )
        log = Path(tmp, "sshd.log")
        with log.open("wb") as err:
            proc = subprocess.Popen([sshd, "-D", "-e", "-f", str(config)], stderr=err)
        try:
            deadline = time.monotonic() + 20
            while b"Server listening" not in log.read_bytes():
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"sshd did not start: {log.read_text()[-2000:]}")
                time.sleep(0.1)
            version = subprocess.run(
                [sshd, "-V"], check=False, capture_output=True, text=True
            ).stderr.strip()
            results: dict[str, object] = {"server": version}
            seconds: list[int] = []
            results.update(measure(port, tries, parallel, seconds))
        finally:
            proc.terminate()
            proc.wait(10)
        text = log.read_text(errors="replace")
        if os.environ.get("BENCH_KEEP_LOG"):
            shutil.copy(log, os.environ["BENCH_KEEP_LOG"])
    waits = re.findall(r"elapsed ([\d.]+)ms, delaying ([\d.]+)ms \(requested ([\d.]+)ms\)", text)
    # The per-user minimum, before its doubling: one value per user name.
    results["sshd_user_delays_ms"] = sorted({float(r) for _e, _d, r in waits})
    # (elapsed, then the minimum it was scaled to): the doubling in ensure_minimum_time_since.
    pam = sorted(float(e) for e, _d, _r in waits if float(e) > 100)
    if pam:
        # What PAM took for a wrong password (its randomised fail delay), before the scaling.
        results["sshd_pam_elapsed"] = summary([ms / 1000 for ms in pam])
        # The model's PAM delay for the second each wrong password was sent in, against what
        # sshd logged, both sorted: the differences are pam_unix's own work (and a try whose
        # check began in the next second).
        model = sorted(timing.pam_delay(timing.PAM_UNIX_DELAY, s) * 1000 for s in seconds)
        if len(model) == len(pam):
            diffs = sorted(o - m for o, m in zip(pam, model, strict=True))
            results["sshd_pam_minus_model_ms"] = {
                "median": round(statistics.median(diffs), 1),
                "min": round(diffs[0], 1),
                "max": round(diffs[-1], 1),
            }
    results["sshd_minimum_waits_ms"] = Counter(
        round(float(e) + float(d)) for e, d, _r in waits
    ).most_common(8)
    return results


def run_lure(tries: int, parallel: int) -> dict[str, object]:
    port = free_port()
    decoy = Decoy(["ssh"], {"HONEYPODS_SSH_PORT": str(port), "HONEYPODS_SSH_MAX_STARTUPS": "100"})
    decoy.start()
    try:
        results: dict[str, object] = {"server": "honeypods ssh"}
        results.update(measure(port, tries, parallel, []))
    finally:
        decoy.stop()
    return results


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tries", type=int, default=40, help="tries per wrong-password case")
    parser.add_argument("--parallel", type=int, default=8)
    parser.add_argument("--only", choices=("sshd", "lure"), default="")
    args = parser.parse_args()
    tries, parallel = min(args.tries, 400), min(args.parallel, 32)
    out: dict[str, object] = {"load_before": os.getloadavg()}
    if args.only != "lure":
        out["sshd"] = run_sshd(tries, parallel)
    if args.only != "sshd":
        out["lure"] = run_lure(tries, parallel)
    out["load_after"] = os.getloadavg()
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
