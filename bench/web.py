"""Load benchmark of the web decoy, run through the real runner process with logging on.

    python bench/web.py [--duration 20] [--concurrency 50] [--out EVENTS.jsonl]

Measures, on loopback:
* idle RSS of ``python -m honeypods run web`` after start-up;
* requests/s with one request per new connection (``GET /``, read the whole response, close);
* requests/s on keep-alive connections (one connection per worker);
then counts the ``web.request`` events in the decoy's stdout to show that none was lost.

The machine is shared by the load generator and the decoy (and maybe by others): figures are a
lower bound of the decoy's capacity, comparable with the peers' figures measured the same way.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REQUEST = (
    b"GET / HTTP/1.1\r\nHost: dashboard.internal\r\nUser-Agent: bench/1.0\r\nAccept: */*\r\n\r\n"
)

sys.path.insert(0, str(Path(__file__).parent))
# common sets the load generator's event loop (uvloop), as for every benchmark.
__import__("common")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    await reader.readexactly(length)
    return int(head[9:12])


async def new_connections(port: int, deadline: float, counts: dict[str, int]) -> None:
    while time.monotonic() < deadline:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(REQUEST)
            status = await read_response(reader)
            writer.close()
            await writer.wait_closed()
        except (OSError, asyncio.IncompleteReadError):
            counts["errors"] += 1
            continue
        counts["ok" if status == 200 else "bad"] += 1


async def keep_alive(port: int, deadline: float, counts: dict[str, int]) -> None:
    # nginx (and the decoy) close a connection after 1000 requests: open the next one then.
    while time.monotonic() < deadline:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while time.monotonic() < deadline:
                writer.write(REQUEST)
                status = await read_response(reader)
                counts["ok" if status == 200 else "bad"] += 1
                if reader.at_eof():
                    break
        except (OSError, asyncio.IncompleteReadError):
            counts["reconnects"] += 1
        finally:
            writer.close()


async def run(mode: str, port: int, duration: float, concurrency: int) -> dict[str, float]:
    counts = {"ok": 0, "bad": 0, "errors": 0, "reconnects": 0}
    deadline = time.monotonic() + duration
    worker = new_connections if mode == "new" else keep_alive
    started = time.monotonic()
    await asyncio.gather(*(worker(port, deadline, counts) for _ in range(concurrency)))
    elapsed = time.monotonic() - started
    return {**counts, "seconds": round(elapsed, 2), "rps": round(counts["ok"] / elapsed, 1)}


# The floor of this machine at this moment: a bare asyncio server with a canned answer and no
# logging, measured with the same generator. Its figure says how much the shared box allows.
BASELINE = """
import asyncio, sys
ANSWER = b"HTTP/1.1 200 OK\\r\\nServer: x\\r\\nContent-Length: 2\\r\\n\\r\\nok"
class P(asyncio.Protocol):
    def connection_made(self, t): self.t = t
    def data_received(self, d): self.t.write(ANSWER)
async def main():
    await asyncio.get_running_loop().create_server(P, "127.0.0.1", int(sys.argv[1]))
    await asyncio.Event().wait()
asyncio.run(main())
"""


def baseline(duration: float, concurrency: int) -> dict[str, float]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", BASELINE, str(port)])
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        return asyncio.run(run("new", port, duration, concurrency))
    finally:
        proc.kill()
        proc.wait(10)


def count_requests(out: Path) -> int:
    n = 0
    with out.open() as f:
        for line in f:
            if '"web.request"' in line and json.loads(line)["event"]["action"] == "web.request":
                n += 1
    return n


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--out", help="where the decoy's stdout goes (a temporary file)")
    parser.add_argument(
        "--baseline", action="store_true", help="also measure a bare asyncio server first"
    )
    args = parser.parse_args()
    floor = baseline(args.duration, args.concurrency) if args.baseline else None
    port = free_port()
    out = Path(args.out or tempfile.mkstemp(prefix="honeypods-web-bench-", suffix=".jsonl")[1])
    env = {k: v for k, v in os.environ.items() if not k.startswith("HONEYPODS_")}
    env.update(
        {
            "HONEYPODS_WEB_PORT": str(port),
            "HONEYPODS_WEB_TLS_PORT": "0",
            "HONEYPODS_METRICS_PORT": str(free_port()),
            "HONEYPODS_SUMMARY_INTERVAL": "0",
        }
    )
    with out.open("wb") as stdout:
        proc = subprocess.Popen(
            [sys.executable, "-m", "honeypods", "run", "web"], stdout=stdout, env=env
        )
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        time.sleep(1.0)
        idle = rss_mib(proc.pid)
        results = {"idle_rss_mib": round(idle, 1)}
        for mode in ("new", "keepalive"):
            cpu = cpu_seconds(proc.pid)
            result = asyncio.run(run(mode, port, args.duration, args.concurrency))
            used = cpu_seconds(proc.pid) - cpu
            # CPU time the decoy spent per request: its capacity on one free core, whatever
            # else the shared machine was doing.
            result["decoy_cpu_us_per_request"] = round(used / max(result["ok"], 1) * 1e6, 1)
            result["decoy_cpu_share"] = round(used / result["seconds"], 2)
            results[mode] = result  # type: ignore[assignment]
        results["rss_after_mib"] = round(rss_mib(proc.pid), 1)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(15)
    sent = sum(results[m]["ok"] + results[m]["bad"] for m in ("new", "keepalive"))  # type: ignore[index]
    logged = count_requests(out)
    if floor is not None:
        results["bare_asyncio_new_connections"] = floor  # type: ignore[assignment]
    results["load_average"] = os.getloadavg()  # type: ignore[assignment]
    results["responses"] = sent
    results["web_request_events"] = logged
    print(json.dumps(results, indent=2))
    return 0 if logged >= sent else 1


if __name__ == "__main__":
    sys.exit(main())
