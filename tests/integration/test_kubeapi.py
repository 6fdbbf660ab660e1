"""The in-process kube-apiserver (kubeapi.py), driven only through the real kubernetes_asyncio.

What these tests pin down about the client, since the enricher is written against it:

* ``_preload_content=False`` returns the bare ``aiohttp.ClientResponse`` and checks nothing:
  a 401 or 410 comes back as a response with that status, not as an ApiException.
* ``watch.Watch`` raises ``ApiException(status=410)`` for an ERROR event (``e.body`` is None,
  the Status is only in ``e.reason``). Without ``timeout_seconds`` it first retries once with
  the same resourceVersion, which cannot succeed: two watch requests, then the exception.
* A watch connection that is reset raises ``aiohttp.ClientPayloadError`` out of the stream, with
  or without ``timeout_seconds``; only a clean end (the final chunk) is retried by a Watch
  without ``timeout_seconds``, and with one it ends the iteration.
* A server that is down raises ``aiohttp.ClientConnectorError``, not an ApiException.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from kubernetes_asyncio import client, config, watch
from tests.integration.kubeapi import KubeAPI, job, node, pod, replicaset

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

EXPIRED_CONTINUE = {
    "kind": "Status",
    "apiVersion": "v1",
    "metadata": {},
    "status": "Failure",
    "message": "The provided continue parameter is too old to display a consistent list result. "
    "You can start a new list without the continue parameter.",
    "reason": "Expired",
    "code": 410,
}


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    # kubernetes_asyncio's session trusts the environment: a proxy variable must not route
    # traffic for 127.0.0.1 off the machine
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


@contextlib.asynccontextmanager
async def connected(kubeconfig: Path) -> AsyncIterator[client.ApiClient]:
    cfg = client.Configuration()
    await config.load_kube_config(config_file=str(kubeconfig), client_configuration=cfg)
    async with client.ApiClient(cfg) as api_client:
        yield api_client


@pytest.fixture
async def kube() -> AsyncIterator[KubeAPI]:
    async with KubeAPI() as api:
        yield api


@pytest.fixture
async def api_client(kube: KubeAPI, tmp_path: Path) -> AsyncIterator[client.ApiClient]:
    async with connected(kube.kubeconfig(tmp_path / "kubeconfig")) as api_client:
        yield api_client


@pytest.fixture
def core(api_client: client.ApiClient) -> client.CoreV1Api:
    return client.CoreV1Api(api_client)


async def line(resp: aiohttp.ClientResponse) -> dict[str, Any]:
    raw = await resp.content.readline()
    assert raw.endswith(b"\n"), f"stream ended: {raw!r}"
    doc: dict[str, Any] = json.loads(raw)
    return doc


def seed(kube: KubeAPI, count: int, namespaces: int = 7) -> list[str]:
    made = (
        pod(f"ns-{i % namespaces}", f"p-{i}", ip=f"10.1.{i // 250}.{i % 250}") for i in range(count)
    )
    kube.add_many("pods", made)
    return sorted(f"ns-{i % namespaces}/p-{i}" for i in range(count))


async def test_paged_list_is_one_snapshot_at_the_lists_resource_version(
    kube: KubeAPI, core: client.CoreV1Api
) -> None:
    keys = seed(kube, 1234)
    async with asyncio.timeout(30):
        first = await core.list_pod_for_all_namespaces(limit=100)
        rv = first.metadata.resource_version
        assert rv == str(kube.resource_version)
        assert first.metadata.remaining_item_count == 1134
        # writes after the first page are not in the pages that follow
        kube.add("pods", pod("ns-0", "late"))
        kube.delete("pods", "ns-0", "p-0")
        seen, page = [], first
        while True:
            assert page.metadata.resource_version == rv
            seen += [f"{p.metadata.namespace}/{p.metadata.name}" for p in page.items]
            if not page.metadata._continue:
                break
            page = await core.list_pod_for_all_namespaces(
                limit=100, _continue=page.metadata._continue
            )
        assert seen == keys  # every item once, in the apiserver's key order
        assert page.metadata.remaining_item_count is None
        fresh = await core.list_pod_for_all_namespaces()
        assert len(fresh.items) == 1234
        assert int(fresh.metadata.resource_version) == int(rv) + 2
        namespaced = await core.list_namespaced_pod("ns-3", limit=50)
        assert {p.metadata.namespace for p in namespaced.items} == {"ns-3"}
    lists = kube.calls("list", "pods")
    assert [c.fresh for c in lists] == [True] + [False] * 12 + [True, True]
    assert lists[1].query["limit"] == "100"
    assert lists[-1].namespace == "ns-3"


async def test_raw_list_is_an_unchecked_aiohttp_response(
    kube: KubeAPI, core: client.CoreV1Api
) -> None:
    seed(kube, 3)
    async with asyncio.timeout(10):
        resp = await core.list_pod_for_all_namespaces(limit=2, _preload_content=False)
        assert isinstance(resp, aiohttp.ClientResponse)
        assert (resp.status, resp.content_type) == (200, "application/json")
        doc = await resp.json()
        assert (doc["kind"], doc["apiVersion"]) == ("PodList", "v1")
        assert doc["metadata"]["remainingItemCount"] == 1
        assert all("kind" not in i and "apiVersion" not in i for i in doc["items"])
        assert doc["items"][0]["status"]["podIPs"] == [{"ip": "10.1.0.0"}]
        kube.compact()
        # no ApiException here: the caller has to look at the status itself
        expired = await core.list_pod_for_all_namespaces(
            limit=2, _continue=doc["metadata"]["continue"], _preload_content=False
        )
        assert expired.status == 410
        assert await expired.json() == EXPIRED_CONTINUE


async def test_owners_and_nodes_through_their_own_apis(
    kube: KubeAPI, api_client: client.ApiClient
) -> None:
    rs = kube.add(
        "replicasets", replicaset("web", "frontend-5d8f", owner=("Deployment", "frontend"))
    )
    jb = kube.add("jobs", job("batch", "nightly-2900", owner=("CronJob", "nightly")))
    nd = kube.add("nodes", node("node-1", addresses=[("InternalIP", "10.0.0.5")]))
    pd = kube.add(
        "pods",
        pod("web", "frontend-5d8f-x2x", ip="10.1.0.9", owner=("ReplicaSet", "frontend-5d8f")),
    )
    rvs = [int(o["metadata"]["resourceVersion"]) for o in (rs, jb, nd, pd)]
    assert rvs == sorted(rvs)
    assert len(set(rvs)) == 4
    apps, batch, core = (
        client.AppsV1Api(api_client),
        client.BatchV1Api(api_client),
        client.CoreV1Api(api_client),
    )
    async with asyncio.timeout(10):
        rs_list = await apps.list_replica_set_for_all_namespaces()
        assert rs_list.metadata.resource_version == str(rvs[-1])
        [rs_obj] = (await apps.list_namespaced_replica_set("web")).items
        assert (
            rs_obj.metadata.owner_references[0].kind,
            rs_obj.metadata.owner_references[0].name,
        ) == ("Deployment", "frontend")
        [job_obj] = (await batch.list_job_for_all_namespaces()).items
        assert job_obj.metadata.owner_references[0].kind == "CronJob"
        assert (await batch.list_namespaced_job("web")).items == []
        [node_obj] = (await core.list_node()).items
        assert [(a.type, a.address) for a in node_obj.status.addresses] == [
            ("InternalIP", "10.0.0.5"),
            ("Hostname", "node-1"),
        ]
        assert node_obj.metadata.uid == nd["metadata"]["uid"]
        [pod_obj] = (await core.list_pod_for_all_namespaces()).items
        assert pod_obj.metadata.owner_references[0].uid == rs_obj.metadata.uid
        assert pod_obj.spec.node_name == "node-1"
        assert pod_obj.status.pod_ip == "10.1.0.9"
        version = await client.VersionApi(api_client).get_code()
        assert version.git_version.startswith("v1.")
        assert (await client.CoreApi(api_client).get_api_versions()).versions == ["v1"]
    assert kube.count("list", "ReplicaSet") == 2
    assert kube.count("list", "job") == 2
    assert kube.count("list", "nodes") == 1
    assert kube.count("other") == 2


async def test_watch_from_the_list_rv_replays_then_streams_in_order(
    kube: KubeAPI, core: client.CoreV1Api
) -> None:
    one = kube.add("pods", pod("a", "one", ip="10.1.0.1"))
    rv = (await core.list_pod_for_all_namespaces()).metadata.resource_version
    kube.add("pods", pod("a", "two", ip="10.1.0.2"))
    kube.modify("pods", pod("a", "one", ip="10.1.0.3"))
    kube.add("nodes", node("node-9"))  # another kind: takes a revision, not an event here
    events = []
    async with asyncio.timeout(10), watch.Watch() as w:
        stream = w.stream(core.list_pod_for_all_namespaces, resource_version=rv, timeout_seconds=5)
        async for event in stream:
            events.append(event)
            if len(events) == 2:  # the replay is done: the next one is live
                kube.delete("pods", "a", "two")
            if len(events) == 3:
                break
    assert [(e["type"], e["object"].metadata.name) for e in events] == [
        ("ADDED", "two"), ("MODIFIED", "one"), ("DELETED", "two"),
    ]  # fmt: skip
    assert isinstance(events[0]["object"], client.V1Pod)
    assert events[1]["object"].status.pod_ip == "10.1.0.3"
    assert events[1]["object"].metadata.uid == one["metadata"]["uid"]  # an update keeps the uid
    assert all(
        (e["raw_object"]["kind"], e["raw_object"]["apiVersion"]) == ("Pod", "v1") for e in events
    )
    rvs = [int(e["object"].metadata.resource_version) for e in events]
    assert rvs == [int(rv) + 1, int(rv) + 2, int(rv) + 4]
    assert w.resource_version == str(rvs[-1])
    [call] = kube.calls("watch", "pods")
    assert call.query == {"resourceVersion": rv, "timeoutSeconds": "5", "watch": "True"}


async def test_bookmarks_only_when_allowed(kube: KubeAPI, core: client.CoreV1Api) -> None:
    kube.add("pods", pod("a", "one"))
    rv = str(kube.resource_version)
    async with asyncio.timeout(10):
        allowed = await core.list_namespaced_pod(
            "a", watch=True, resource_version=rv, allow_watch_bookmarks=True, _preload_content=False
        )
        plain = await core.list_namespaced_pod(
            "a", watch=True, resource_version=rv, _preload_content=False
        )
        await kube.wait_watching("pods", 2)
        kube.add("nodes", node("node-2"))
        kube.bookmark()
        mark = await line(allowed)
        assert mark["type"] == "BOOKMARK"
        assert mark["object"]["kind"] == "Pod"
        assert mark["object"]["metadata"]["resourceVersion"] == str(kube.resource_version)
        kube.add("pods", pod("a", "two"))
        assert (await line(plain))["type"] == "ADDED"  # no bookmark went to it
        allowed.release()
        plain.release()
        async with watch.Watch() as w:
            stream = w.stream(
                core.list_pod_for_all_namespaces,
                resource_version=rv,
                allow_watch_bookmarks=True,
                timeout_seconds=5,
            )
            async for event in stream:
                if event["type"] == "ADDED":
                    kube.bookmark()
                    continue
                assert event["type"] == "BOOKMARK"
                assert w.resource_version == str(kube.resource_version)
                break


async def test_periodic_bookmarks(tmp_path: Path) -> None:
    async with (
        KubeAPI(bookmark_interval=0.2) as kube,
        connected(kube.kubeconfig(tmp_path / "kc")) as ac,
    ):
        resp = await client.CoreV1Api(ac).list_node(
            watch=True,
            resource_version=str(kube.resource_version),
            allow_watch_bookmarks=True,
            _preload_content=False,
        )
        async with asyncio.timeout(5):
            assert (await line(resp))["type"] == "BOOKMARK"
            meta = {"resourceVersion": str(kube.resource_version), "creationTimestamp": None}
            assert (await line(resp))["object"] == {
                "kind": "Node",
                "apiVersion": "v1",
                "metadata": meta,
            }
        resp.release()


async def test_watch_with_no_resource_version_starts_from_the_current_state(
    kube: KubeAPI, core: client.CoreV1Api
) -> None:
    seed(kube, 3, namespaces=1)
    async with asyncio.timeout(10):
        for rv in (None, "0"):
            kwargs = {"resource_version": rv} if rv else {}
            resp = await core.list_pod_for_all_namespaces(
                watch=True, _preload_content=False, **kwargs
            )
            initial = [await line(resp) for _ in range(3)]
            assert [(e["type"], e["object"]["metadata"]["name"]) for e in initial] == [
                ("ADDED", "p-0"), ("ADDED", "p-1"), ("ADDED", "p-2"),
            ]  # fmt: skip
            kube.add("pods", pod("ns-0", f"live-{rv}"))
            live = await line(resp)
            assert live["object"]["metadata"]["name"] == f"live-{rv}"
            resp.release()
            kube.delete("pods", "ns-0", f"live-{rv}")
        # the streaming list (WatchList): the state, then a bookmark that marks its end
        resp = await core.list_pod_for_all_namespaces(
            watch=True, send_initial_events=True, resource_version_match="NotOlderThan",
            allow_watch_bookmarks=True, _preload_content=False,
        )  # fmt: skip
        assert [(await line(resp))["type"] for _ in range(3)] == ["ADDED"] * 3
        end = await line(resp)
        assert end["type"] == "BOOKMARK"
        assert end["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}
        resp.release()
