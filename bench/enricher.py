"""The enricher with 50,000 pods: idle RSS, RSS with the pods, attribution latency at 1,000
events/s and its throughput.

The enricher runs through the real runner (``python -m honeypods run enricher``) pinned to CPU 0,
reading an in-process API server (tests/integration/kubeapi.py, kube-apiserver's wire protocol)
through a kubeconfig, as it would a cluster's. This process, pinned to CPU 1, serves that API and
posts decoy events the way decoys do (``{"events": [...]}``), each from a random pod's address at
the current time, and afterwards checks that every event was written, attributed ``exact``.

    python bench/enricher.py --duration 10
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp

# The API server the tests use stands in for a cluster's; common is this folder's harness.
sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))

from tests.integration.kubeapi import pod, run_in_thread

from common import Decoy, free_port, pin_self, rss_mib

PODS = 50_000


def address(i: int) -> str:
    return f"10.{64 + i // 65536}.{i // 256 % 256}.{i % 256}"


def event(ip: str) -> dict[str, Any]:
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return {
        "@timestamp": now,
        "log": {"level": "info"},
        "event": {"action": "session.connect", "kind": "alert", "dataset": "honeypods.web"},
        "honeypod": {"decoy": "web", "schema": "1", "session": uuid.uuid4().hex, "active": 1},
        "host": {"name": "internal-dashboard-5d8b4"},
        "rule": {"name": "honeypod.fake.svc"},
        "source": {"ip": ip, "port": 40000},
        "destination": {"ip": "10.96.0.20", "port": 8080},
        "network": {"transport": "tcp"},
    }


async def paced(url: str, rate: int, batch: int, duration: float) -> list[float]:
    """``rate`` events/s in requests of ``batch`` events; per-request latency in seconds."""
    latencies: list[float] = []
    interval = batch / rate
    async with aiohttp.ClientSession() as http:
        start = time.monotonic()
        sent = 0
        while time.monotonic() - start < duration:
            body = {"events": [event(address(random.randrange(PODS))) for _ in range(batch)]}
            t0 = time.perf_counter()
            async with http.post(url, json=body) as r:
                assert r.status == 200, await r.text()
                await r.read()
            latencies.append(time.perf_counter() - t0)
            sent += 1
            delay = start + sent * interval - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
    return latencies


async def flood(url: str, batch: int, duration: float, concurrency: int = 4) -> int:
    """As fast as it goes, ``concurrency`` requests in flight; returns events accepted."""
    accepted = 0
    stop = time.monotonic() + duration
    bodies = [
        json.dumps({"events": [event(address(random.randrange(PODS))) for _ in range(batch)]})
        for _ in range(20)
    ]

    async def worker(http: aiohttp.ClientSession) -> None:
        nonlocal accepted
        n = 0
        while time.monotonic() < stop:
            headers = {"Content-Type": "application/json"}
            async with http.post(url, data=bodies[n % len(bodies)], headers=headers) as r:
                accepted += (await r.json())["accepted"]
            n += 1

    async with aiohttp.ClientSession() as http:
        await asyncio.gather(*(worker(http) for _ in range(concurrency)))
    return accepted


def pct(data: list[float], q: float) -> float:
    data = sorted(data)
    return data[min(len(data) - 1, int(q * len(data)))] * 1000


async def wait_exact(base: str, ip: str, timeout: float = 300.0) -> float:
    start = time.monotonic()
    async with aiohttp.ClientSession() as http:
        while time.monotonic() - start < timeout:
            async with http.get(f"{base}/attribution", params={"ip": ip}) as r:
                if (await r.json())["kubernetes"]["attribution"] == "exact":
                    return time.monotonic() - start
            await asyncio.sleep(0.2)
    raise RuntimeError(f"{ip} not attributed in {timeout} s")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=float, default=10.0)
    args = parser.parse_args()
    pin_self(1)
    with run_in_thread() as kube, tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        enricher = Decoy(
            ["enricher"],
            {
                "KUBECONFIG": str(kube.kubeconfig(Path(tmp) / "kubeconfig")),
                "HONEYPODS_ENRICHER_PORT": str(port),
            },
        )
        enricher.start(cpu=0, timeout=60)
        base = f"http://127.0.0.1:{port}"
        try:
            time.sleep(2)
            idle = rss_mib(enricher.pid)[0]
            kube.api.add_many(
                "pods",
                (pod(f"ns-{i % 100}", f"app-{i}", ip=address(i), owner=("ReplicaSet", f"app-{i % 500}"),
                     labels={"app.kubernetes.io/name": f"app-{i % 500}"}) for i in range(PODS)),
            )  # fmt: skip
            synced = asyncio.run(wait_exact(base, address(PODS - 1)))
            time.sleep(2)
            loaded = rss_mib(enricher.pid)[0]
            url = f"{base}/events"
            single = asyncio.run(paced(url, 1000, 1, args.duration))
            batched = asyncio.run(paced(url, 1000, 50, args.duration))
            t0 = time.monotonic()
            accepted = asyncio.run(flood(url, 50, args.duration))
            throughput = accepted / (time.monotonic() - t0)
            peak = rss_mib(enricher.pid)
        finally:
            enricher.stop()
        counts = enricher.actions()
        exact = 0
        with enricher.log.open() as f:
            for line in f:
                doc = json.loads(line)
                kubernetes = doc.get("source", {}).get("kubernetes")
                if kubernetes and kubernetes["attribution"] == "exact":
                    exact += 1
        posted = len(single) + 50 * len(batched) + accepted
    print("| figure | measured |")
    print("| --- | --- |")
    print(f"| idle RSS (no pods) | {idle:.1f} MiB |")
    print(f"| RSS with {PODS:,} pods (history and owners) | {loaded:.1f} MiB |")
    print(f"| {PODS:,} pods created, until the last is attributed | {synced:.1f} s |")
    print(
        f"| 1,000 events/s, one per request: latency p50 / p99 | "
        f"{pct(single, 0.5):.2f} / {pct(single, 0.99):.2f} ms |"
    )
    print(
        f"| 1,000 events/s, 50 per request (as decoys send): latency p50 / p99 per request | "
        f"{pct(batched, 0.5):.2f} / {pct(batched, 0.99):.2f} ms |"
    )
    print(f"| throughput, 50 per request, 4 in flight | {throughput:,.0f} events/s |")
    print(f"| peak RSS | {peak[1]:.1f} MiB |")
    print(f"| events written / posted, attributed exact | {counts['session.connect']:,} / "
          f"{posted:,}, {exact:,} |")  # fmt: skip
    return 0 if counts["session.connect"] == posted == exact else 1


if __name__ == "__main__":
    sys.exit(main())
