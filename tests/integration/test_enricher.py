"""The enricher against an API server speaking kube-apiserver's wire protocol, through the real
kubernetes_asyncio client: attribution in time, IP reuse, outages, 410 relists, its HTTP side."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from tests.conftest import Captured, DecoyProcess, free_port, refused_at_start
from tests.integration.kubeapi import KubeAPI, job, node, pod, replicaset

from honeypods.core import metrics
from honeypods.core.limits import Limits
from honeypods.enricher import server
from honeypods.enricher.config import EnricherConfig

pytestmark = pytest.mark.integration


def iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def contact(ip: str, at: float, decoy: str = "web") -> dict[str, Any]:
    """A decoy's session.connect exactly as it writes it on stdout and posts it."""
    return {
        "@timestamp": iso(at),
        "log": {"level": "info"},
        "event": {"action": "session.connect", "kind": "alert", "dataset": f"honeypods.{decoy}"},
        "honeypod": {"decoy": decoy, "schema": "1", "session": uuid.uuid4().hex, "active": 1},
        "host": {"name": "internal-dashboard-5d8b4"},
        "rule": {"name": "honeypod.fake.svc"},
        "source": {"ip": ip, "port": 40000},
        "destination": {"ip": "10.96.0.20", "port": 8080},
        "network": {"transport": "tcp"},
    }


class Running:
    def __init__(self, api: KubeAPI, enricher: server.Enricher, port: int) -> None:
        self.api = api
        self.enricher = enricher
        self.url = f"http://127.0.0.1:{port}"

    async def post(self, *docs: dict[str, Any], token: str = "") -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with (
            aiohttp.ClientSession() as http,
            http.post(f"{self.url}/events", json={"events": list(docs)}, headers=headers) as r,
        ):
            assert r.status == 200, await r.text()
            body: dict[str, Any] = await r.json()
            return body

    async def attribution(self, ip: str, at: float | None = None) -> dict[str, Any]:
        params = {"ip": ip} if at is None else {"ip": ip, "at": iso(at)}
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"{self.url}/attribution", params=params) as r,
        ):
            assert r.status == 200, await r.text()
            body: dict[str, Any] = await r.json()
            return body

    async def synced(self, *, lists: int = 1, timeout: float = 20.0) -> None:
        """Until the pods reflector has completed ``lists`` lists and watches again."""
        async with asyncio.timeout(timeout):
            while not (self.pod_lists() >= lists and self.api.watchers("pods") >= 1):
                await asyncio.sleep(0.02)

    def pod_lists(self) -> int:
        return sum(1 for c in self.api.calls("list", "pods") if c.fresh and c.status == 200)

    async def seen(self, ip: str, kind: str, timeout: float = 10.0) -> dict[str, Any]:
        async with asyncio.timeout(timeout):
            while True:
                found = (await self.attribution(ip))["kubernetes"]
                if found["attribution"] == kind:
                    return found
                await asyncio.sleep(0.02)


@contextlib.asynccontextmanager
async def enricher(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, api: KubeAPI, **settings: Any
) -> AsyncIterator[Running]:
    monkeypatch.setenv("KUBECONFIG", str(api.kubeconfig(tmp_path / "kubeconfig")))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    port = free_port()
    config = EnricherConfig(port=port, **settings)
    run = await server.start(config, limits=Limits(), host="127.0.0.1")
    try:
        yield Running(api, run, port)
    finally:
        await run.stop()


@pytest.fixture
async def kube() -> AsyncIterator[KubeAPI]:
    async with KubeAPI() as api:
        yield api


async def test_a_contact_names_the_pod_and_its_deployment(
    kube: KubeAPI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, captured: Captured
) -> None:
    kube.add("nodes", node("node-1", addresses=[("InternalIP", "10.0.0.5")]))
    kube.add("replicasets", replicaset("shop", "cart-7d9f", owner=("Deployment", "cart")))
    kube.add("jobs", job("ops", "backup-2912", owner=("CronJob", "backup")))
    made = kube.add(
        "pods",
        pod("shop", "cart-7d9f-x2x4q", ip="10.244.1.7", owner=("ReplicaSet", "cart-7d9f"),
            labels={"app.kubernetes.io/name": "cart"}, service_account="cart"),
    )  # fmt: skip
    async with enricher(tmp_path, monkeypatch, kube) as run:
        await run.synced()
        # The owner maps may arrive after the pods: attribution resolves them when asked.
        async with asyncio.timeout(10):
            while (await run.attribution("10.244.1.7"))["kubernetes"].get("workload", {}).get(
                "kind"
            ) != "Deployment":
                await asyncio.sleep(0.02)
        kube.add("pods", pod("ops", "backup-2912-abcde", ip="10.244.2.9",
                             owner=("Job", "backup-2912")))  # fmt: skip
        await run.seen("10.244.2.9", "exact")
        now = time.time()
        reply = await run.post(contact("10.244.1.7", now), contact("10.244.2.9", now),
                               contact("10.0.0.5", now), contact("192.0.2.1", now))  # fmt: skip
        assert reply == {"accepted": 4, "rejected": 0}
    written = [e for e in captured.of("session.connect") if "source.kubernetes.attribution" in e]
    by_ip = {e["source.ip"]: e for e in written}
    cart = by_ip["10.244.1.7"]
    assert cart["source.kubernetes.attribution"] == "exact"
    assert cart["source.kubernetes.namespace"] == "shop"
    assert cart["source.kubernetes.pod.name"] == "cart-7d9f-x2x4q"
    assert cart["source.kubernetes.pod.uid"] == made["metadata"]["uid"]
    assert cart["source.kubernetes.service_account"] == "cart"
    assert cart["source.kubernetes.node.name"] == "node-1"
    assert cart["source.kubernetes.app"] == "cart"
    assert (cart["source.kubernetes.workload.kind"], cart["source.kubernetes.workload.name"]) == (
        "Deployment",
        "cart",
    )
    backup = by_ip["10.244.2.9"]
    assert (
        backup["source.kubernetes.workload.kind"],
        backup["source.kubernetes.workload.name"],
    ) == (
        "CronJob",
        "backup",
    )
    assert by_ip["10.0.0.5"]["source.kubernetes.attribution"] == "node"
    assert by_ip["10.0.0.5"]["source.kubernetes.node.name"] == "node-1"
    assert by_ip["192.0.2.1"]["source.kubernetes.attribution"] == "none"
    # The decoy's own fields are kept as it wrote them.
    assert cart["host.name"] == "internal-dashboard-5d8b4"
    assert cart["honeypod.decoy"] == "web"


async def test_an_address_reused_by_another_pod_keeps_earlier_contacts_with_the_first(
    kube: KubeAPI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, captured: Captured
) -> None:
    kube.add("pods", pod("team-a", "first", ip="10.244.3.17"))
    async with enricher(tmp_path, monkeypatch, kube) as run:
        await run.synced()
        await run.seen("10.244.3.17", "exact")
        during_first = time.time()
        await asyncio.sleep(0.05)
        kube.delete("pods", "team-a", "first")
        await run.seen("10.244.3.17", "none")
        kube.add("pods", pod("team-b", "second", ip="10.244.3.17", start_time=datetime.now(UTC)))
        await run.seen("10.244.3.17", "exact")
        await asyncio.sleep(0.05)
        during_second = time.time()
        # The earlier contact arrives last: its own time decides, not its arrival.
        await run.post(contact("10.244.3.17", during_second))
        await run.post(contact("10.244.3.17", during_first))
    names = [
        (e["@timestamp"], e["source.kubernetes.namespace"], e["source.kubernetes.pod.name"])
        for e in captured.of("session.connect")
        if e.get("source.kubernetes.attribution") == "exact"
    ]
    assert names == [
        (iso(during_second), "team-b", "second"),
        (iso(during_first), "team-a", "first"),
    ]


async def test_after_an_outage_a_relist_catches_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, captured: Captured
) -> None:
    async with KubeAPI() as kube:
        kube.add("pods", pod("team-a", "gone", ip="10.244.4.4"))
        async with enricher(tmp_path, monkeypatch, kube) as run:
            await run.synced()
            await run.seen("10.244.4.4", "exact")
            held = time.time()
            await kube.stop()
            # What changes while the enricher cannot see: one pod goes, one comes.
            kube.delete("pods", "team-a", "gone")
            kube.add("pods", pod("team-c", "new", ip="10.244.4.5", start_time=datetime.now(UTC)))
            await asyncio.sleep(0.05)
            during = time.time()
            # A contact during the outage, from the new pod: nothing knows it yet.
            await run.post(contact("10.244.4.5", during))
            await asyncio.sleep(1.5)  # a few retries against the closed port
            await kube.start()
            await run.synced(lists=2)
            assert (await run.attribution("10.244.4.4"))["kubernetes"]["attribution"] == "none"
            found = (await run.attribution("10.244.4.5", at=during))["kubernetes"]
            assert (found["namespace"], found["pod"]["name"]) == ("team-c", "new")
            # Before the outage the old pod still held its address.
            before = (await run.attribution("10.244.4.4", at=held))["kubernetes"]
            assert before["pod"]["name"] == "gone"
    states = [(e["enricher.resource"], e["enricher.state"]) for e in captured.of("enricher.watch")]
    assert ("pods", "retrying") in states
    retries = [
        e["enricher.retry_in"]
        for e in captured.of("enricher.watch")
        if e["enricher.resource"] == "pods" and e["enricher.state"] == "retrying"
    ]
    assert retries[0] <= 1.0  # the first retry comes within a second
    assert max(retries) <= 10.0


async def test_an_expired_watch_relists_without_losing_history(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, captured: Captured
) -> None:
    # Watches end after 6 s, as the server's timeout ends them; the enricher resumes from its
    # version, which compaction has made too old meanwhile: an ERROR 410, then a new list.
    async with KubeAPI(watch_timeout=6.0) as kube:
        kube.add("pods", pod("team-a", "old", ip="10.244.5.5"))
        async with enricher(tmp_path, monkeypatch, kube) as run:
            await run.synced()
            await run.seen("10.244.5.5", "exact")
            held = time.time()
            kube.delete("pods", "team-a", "old")
            await run.seen("10.244.5.5", "none")
            kube.hold_watches = True
            async with asyncio.timeout(20):
                while not kube.held:  # the stream ended; the next watch waits
                    await asyncio.sleep(0.05)
            kube.add("pods", pod("team-a", "later", ip="10.244.5.7"))
            kube.compact()
            kube.hold_watches = False
            await run.synced(lists=2, timeout=30)
            await run.seen("10.244.5.7", "exact")
            found = (await run.attribution("10.244.5.5", at=held))["kubernetes"]
            assert found["pod"]["name"] == "old"  # history survives the relist
    reasons = [
        e.get("event.reason")
        for e in captured.of("enricher.watch")
        if e["enricher.resource"] == "pods" and e["enricher.state"] == "relisting"
    ]
    assert reasons == ["expired"]


async def test_a_dropped_stream_is_retried_within_a_second(
    kube: KubeAPI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, captured: Captured
) -> None:
    async with enricher(tmp_path, monkeypatch, kube) as run:
        await run.synced()
        kube.drop_streams()
        dropped = time.monotonic()
        await run.synced(lists=2)
        assert time.monotonic() - dropped < 5.0
        kube.add("pods", pod("team-a", "after", ip="10.244.6.6"))
        await run.seen("10.244.6.6", "exact")


async def test_fifty_thousand_pods_with_churn_stay_within_the_cap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with KubeAPI() as kube:
        kube.add_many(
            "pods",
            (pod(f"ns-{i % 50}", f"p-{i}", ip=f"10.{64 + i // 65536}.{i // 256 % 256}.{i % 256}")
             for i in range(50_000)),
        )  # fmt: skip
        async with enricher(tmp_path, monkeypatch, kube, max_spans=60_000) as run:
            await run.synced(timeout=120)
            history = run.enricher.history
            assert history.pods == 50_000
            # Churn: 20,000 pods replaced by new ones on new addresses.
            for i in range(20_000):
                kube.delete("pods", f"ns-{i % 50}", f"p-{i}")
                kube.add("pods", pod(f"ns-{i % 50}", f"q-{i}", ip=f"10.{100 + i // 65536}."
                                     f"{i // 256 % 256}.{i % 256}"))  # fmt: skip
            async with asyncio.timeout(120):
                while history.pods != 50_000 or history.evicted.get("cap", 0) == 0:
                    await asyncio.sleep(0.1)
            await run.seen("10.100.78.31", "exact", timeout=60)
            assert history.spans <= 60_000
            assert history.evicted["cap"] >= 10_000
            # The newest history is what stays: every live pod is still attributed.
            assert (await run.attribution("10.64.195.79"))["kubernetes"]["pod"]["name"] == "p-49999"


async def test_refusals_are_answered_logged_and_counted(
    kube: KubeAPI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, captured: Captured
) -> None:
    async with enricher(tmp_path, monkeypatch, kube, token="s3cret", max_body=4096) as run:
        await run.synced()
        async with aiohttp.ClientSession() as http:
            event = {"events": [contact("10.1.1.1", time.time())]}
            async with http.post(f"{run.url}/events", json=event) as r:
                assert r.status == 401
            bad = {"Authorization": "Bearer s3cre"}
            async with http.post(f"{run.url}/events", json=event, headers=bad) as r:
                assert r.status == 401
            auth = {"Authorization": "Bearer s3cret"}
            async with http.post(f"{run.url}/events", data=b"{" * 10, headers=auth) as r:
                assert r.status == 400
            async with http.post(f"{run.url}/events", data=b"x" * 5000, headers=auth) as r:
                assert r.status == 413

            async def chunks() -> AsyncIterator[bytes]:
                for _ in range(10):
                    yield b" " * 1000  # no length given: the limit is counted as it arrives

            async with http.post(f"{run.url}/events", data=chunks(), headers=auth) as r:
                assert r.status == 413
            forged = contact("10.1.1.1", time.time())
            forged["source"]["kubernetes"] = {"attribution": "exact", "namespace": "kube-system"}
            mixed = {"events": [forged, {"event": {"action": "no.such"}}, "x",
                                {**contact("10.1.1.1", time.time()), "@timestamp": "yesterday"}]}  # fmt: skip
            async with http.post(f"{run.url}/events", json=mixed, headers=auth) as r:
                assert r.status == 200
                assert await r.json() == {"accepted": 1, "rejected": 3}
            async with http.get(f"{run.url}/attribution", params={"ip": "10.1.1.1"}) as r:
                assert r.status == 401
            async with http.get(f"{run.url}/attribution", params={"ip": "nope"}, headers=auth) as r:
                assert r.status == 400
            async with http.get(f"{run.url}/attribution", params={"ip": "10.1.1.1"},
                                headers=auth) as r:  # fmt: skip
                body = await r.json()
                assert body["last_event"]["event.action"] == "session.connect"
                assert body["kubernetes"] == {"attribution": "none"}
    reasons = [e["event.reason"] for e in captured.of("enricher.rejected")]
    assert reasons == ["unauthorized", "unauthorized", "malformed", "too_large", "too_large",
                       "invalid_event", "unauthorized"]  # fmt: skip
    assert captured.of("enricher.rejected")[5]["honeypod.count"] == 3
    (written,) = [e for e in captured.of("session.connect") if "source.kubernetes.attribution" in e]
    assert written["source.kubernetes.attribution"] == "none"  # the forged one is replaced
    assert "source.kubernetes.namespace" not in written


async def test_readiness_waits_for_the_first_list_of_pods(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with KubeAPI() as kube:
        kube.set_list_delay(1.0)
        metrics.set_ready(True)
        try:
            async with enricher(tmp_path, monkeypatch, kube) as run:
                assert not metrics.ready()
                await run.synced()
                async with asyncio.timeout(10):
                    while not metrics.ready():
                        await asyncio.sleep(0.02)
        finally:
            metrics.set_ready(False)
            metrics.release("enricher")


def test_without_a_kubeconfig_it_refuses_to_start_naming_it(
    decoy_process: Callable[..., DecoyProcess], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing"))
    refused_at_start(decoy_process, "enricher", {}, f"no kubeconfig at {tmp_path / 'missing'}")
    refused_at_start(
        decoy_process,
        "enricher",
        {"HONEYPODS_ENRICHER_NAMESPACES": "team-a,Team_B"},
        "HONEYPODS_ENRICHER_NAMESPACES: 'Team_B' is no namespace",
    )
