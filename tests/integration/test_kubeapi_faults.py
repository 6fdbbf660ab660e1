"""The in-process kube-apiserver's failures, as the real client meets them: compaction (410),
reset watch connections, an outage on the same port, auth, injected errors, slow lists; and the
harness at scale, and served from a thread to another process. See test_kubeapi.py's docstring
for what these show of kubernetes_asyncio.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import orjson
import pytest
import yaml
from kubernetes_asyncio import client, watch
from kubernetes_asyncio.client.exceptions import ApiException
from tests.integration.kubeapi import KubeAPI, pod, run_in_thread
from tests.integration.test_kubeapi import EXPIRED_CONTINUE, connected, line, seed

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    # kubernetes_asyncio's session trusts the environment: no proxy for 127.0.0.1
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


@pytest.fixture
async def kube() -> AsyncIterator[KubeAPI]:
    async with KubeAPI() as api:
        yield api


@pytest.fixture
async def core(kube: KubeAPI, tmp_path: Path) -> AsyncIterator[client.CoreV1Api]:
    async with connected(kube.kubeconfig(tmp_path / "kubeconfig")) as api_client:
        yield client.CoreV1Api(api_client)


async def test_watch_from_a_compacted_rv_gets_one_error_event(
    kube: KubeAPI, core: client.CoreV1Api
) -> None:
    kube.add("pods", pod("a", "one"))
    rv = str(kube.resource_version)
    kube.add("pods", pod("a", "two"))
    compacted = kube.compact()
    async with asyncio.timeout(10):
        resp = await core.list_pod_for_all_namespaces(
            watch=True, resource_version=rv, _preload_content=False
        )
        assert resp.status == 200  # as the real server: 200, then the error as an event
        assert await line(resp) == {"type": "ERROR", "object": {
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": f"too old resource version: {rv} ({compacted})", "reason": "Expired",
            "code": 410,
        }}  # fmt: skip
        assert await resp.content.readline() == b""
        resp.release()
        kube.reset_calls()
        for kwargs, watches in (({"timeout_seconds": 5}, 1), ({}, 2)):
            async with watch.Watch() as w:
                with pytest.raises(ApiException) as e:
                    async for _ in w.stream(
                        core.list_pod_for_all_namespaces, resource_version=rv, **kwargs
                    ):
                        pass
            assert e.value.status == 410
            assert e.value.body is None
            assert "Expired: too old resource version" in e.value.reason
            # without timeout_seconds the client retries once, from the same (too old) RV
            assert [c.query["resourceVersion"] for c in kube.calls("watch")] == [rv] * watches
            kube.reset_calls()
        # from the compaction point on, the log is whole again
        fresh = await core.list_pod_for_all_namespaces(
            watch=True, resource_version=str(compacted), timeout_seconds=1, _preload_content=False
        )
        kube.delete("pods", "a", "one")
        assert (await line(fresh))["type"] == "DELETED"
        fresh.release()


async def test_an_expired_continue_token_is_410(kube: KubeAPI, core: client.CoreV1Api) -> None:
    seed(kube, 3)
    async with asyncio.timeout(10):
        first = await core.list_pod_for_all_namespaces(limit=1)
        second = await core.list_pod_for_all_namespaces(limit=1, _continue=first.metadata._continue)
        kube.compact()
        with pytest.raises(ApiException) as e:
            await core.list_pod_for_all_namespaces(limit=1, _continue=second.metadata._continue)
    assert e.value.status == 410
    assert json.loads(e.value.body) == EXPIRED_CONTINUE


async def test_dropped_streams_raise_payload_errors(kube: KubeAPI, core: client.CoreV1Api) -> None:
    rv = str(kube.resource_version)
    async with asyncio.timeout(10):
        raw = await core.list_pod_for_all_namespaces(
            watch=True, resource_version=rv, _preload_content=False
        )
        outcomes: list[BaseException] = []

        async def follow(**kwargs: object) -> None:
            async with watch.Watch() as w:
                try:
                    async for _ in w.stream(
                        core.list_pod_for_all_namespaces, resource_version=rv, **kwargs
                    ):
                        pass
                except aiohttp.ClientError as e:
                    outcomes.append(e)

        followers = [asyncio.create_task(follow(timeout_seconds=30)), asyncio.create_task(follow())]
        await kube.wait_watching("pods", 3)
        assert kube.drop_streams() == 3
        with pytest.raises(aiohttp.ClientPayloadError):
            await raw.content.readline()
        raw.release()
        await asyncio.gather(*followers)
    # a reset is not retried by Watch, even without timeout_seconds
    assert [type(e) for e in outcomes] == [aiohttp.ClientPayloadError] * 2
    assert kube.watchers() == 0
    assert kube.count("watch") == 3


async def test_timeout_seconds_ends_the_stream_cleanly(
    kube: KubeAPI, core: client.CoreV1Api
) -> None:
    async with asyncio.timeout(10):
        started = time.monotonic()
        raw = await core.list_node(
            watch=True,
            resource_version=str(kube.resource_version),
            timeout_seconds=1,
            _preload_content=False,
        )
        assert await raw.content.readline() == b""  # the final chunk, no error
        raw.release()
        async with watch.Watch() as w:
            events = [e async for e in w.stream(core.list_node, timeout_seconds=1)]
        assert events == []
        assert 2 <= time.monotonic() - started < 5
    assert kube.watchers() == 0


async def test_stop_and_start_on_the_same_port(kube: KubeAPI, core: client.CoreV1Api) -> None:
    kube.add("pods", pod("a", "one"))
    port = kube.port
    async with asyncio.timeout(15):
        assert len((await core.list_pod_for_all_namespaces()).items) == 1
        open_watch = await core.list_pod_for_all_namespaces(watch=True, _preload_content=False)
        assert (await line(open_watch))["type"] == "ADDED"
        await kube.stop()
        with pytest.raises(aiohttp.ClientPayloadError):
            await open_watch.content.readline()
        open_watch.release()
        with pytest.raises(aiohttp.ClientConnectorError):
            await core.list_pod_for_all_namespaces()
        kube.add("pods", pod("a", "two"))  # the store outlives the outage, as etcd does
        await kube.start()
        assert kube.port == port
        after = await core.list_pod_for_all_namespaces()
        assert [p.metadata.name for p in after.items] == ["one", "two"]
        assert after.metadata.resource_version == str(kube.resource_version)


async def test_a_token_is_required_when_set(tmp_path: Path) -> None:
    async with KubeAPI(token="s3cret") as kube, asyncio.timeout(10):
        good = kube.kubeconfig(tmp_path / "good")
        doc = yaml.safe_load(good.read_text())
        assert doc["users"][0]["user"] == {"token": "s3cret"}
        doc["users"][0]["user"] = {}
        bad = tmp_path / "bad"
        bad.write_text(yaml.safe_dump(doc))
        async with connected(good) as ac:
            assert (await client.CoreV1Api(ac).list_node()).items == []
        async with connected(bad) as ac:
            core = client.CoreV1Api(ac)
            with pytest.raises(ApiException) as e:
                await core.list_node()
            assert e.value.status == 401
            assert json.loads(e.value.body) == {
                "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": "Unauthorized", "reason": "Unauthorized", "code": 401,
            }  # fmt: skip
            # a Watch reads the Status as a line without type/object and raises its code
            async with watch.Watch() as w:
                with pytest.raises(ApiException) as e:
                    async for _ in w.stream(core.list_node, timeout_seconds=1):
                        pass
            assert e.value.status == 401
    assert [c.status for c in kube.calls()] == [200, 401, 401]


async def test_injected_errors_and_slow_lists(kube: KubeAPI, core: client.CoreV1Api) -> None:
    kube.fail_next(2, code=503, verb="list", kind="pods")
    async with asyncio.timeout(10):
        for _ in range(2):
            with pytest.raises(ApiException) as e:
                await core.list_pod_for_all_namespaces()
            assert e.value.status == 503
            assert json.loads(e.value.body)["reason"] == "ServiceUnavailable"
        assert (await core.list_node()).items == []
        assert (await core.list_pod_for_all_namespaces()).items == []
        kube.set_list_delay(1.0)
        with pytest.raises(asyncio.TimeoutError):
            await core.list_node(_request_timeout=0.2)
        kube.set_list_delay(0)
    assert [c.status for c in kube.calls("list", "pods")] == [503, 503, 200]


@pytest.mark.timeout(180)
async def test_fifty_thousand_pods_in_pages_of_500_then_churn(
    kube: KubeAPI, core: client.CoreV1Api
) -> None:
    started = time.monotonic()
    seed(kube, 50_000, namespaces=40)
    seeded = time.monotonic()
    names, token, rvs = 0, None, set()
    async with asyncio.timeout(120):
        while True:
            resp = await core.list_pod_for_all_namespaces(
                limit=500, _continue=token, _preload_content=False
            )
            doc = orjson.loads(await resp.read())
            names += len(doc["items"])
            rvs.add(doc["metadata"]["resourceVersion"])
            token = doc["metadata"].get("continue")
            if not token:
                break
        listed = time.monotonic()
        assert names == 50_000
        assert rvs == {str(kube.resource_version)}
        stream = await core.list_pod_for_all_namespaces(
            watch=True, resource_version=rvs.pop(), _preload_content=False
        )
        await kube.wait_watching("pods")
        for i in range(5_000):
            kube.modify("pods", pod(f"ns-{i % 40}", f"p-{i}", ip=f"10.2.{i // 250}.{i % 250}"))
        got = [
            int((await line(stream))["object"]["metadata"]["resourceVersion"]) for _ in range(5_000)
        ]
        stream.release()
    assert got == list(range(got[0], got[0] + 5_000))
    assert kube.count("list", "pods") == 100
    # generous bounds for a loaded 2-core machine; measured ~2 s, ~5 s and ~2 s
    assert seeded - started < 20
    assert listed - seeded < 40
    assert time.monotonic() - listed < 40


def test_served_from_a_thread_to_another_process(tmp_path: Path) -> None:
    script = (
        "import asyncio, json\n"
        "from kubernetes_asyncio import client, config\n"
        "async def main():\n"
        "    await config.load_kube_config()\n"
        "    async with client.ApiClient() as ac:\n"
        "        pods = await client.CoreV1Api(ac).list_pod_for_all_namespaces(limit=1)\n"
        "        print(json.dumps([pods.metadata.resource_version, pods.items[0].metadata.name]))\n"
        "asyncio.run(main())\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("KUBERNETES_")}
    with run_in_thread(token="t0k") as kube:
        kube.api.add("pods", pod("a", "one"))  # from this thread while the server's loop serves
        env |= {"KUBECONFIG": str(kube.kubeconfig(tmp_path / "kc")), "NO_PROXY": "127.0.0.1"}

        def child() -> list[str]:
            out = subprocess.run(
                [sys.executable, "-c", script],
                env=env,
                capture_output=True,
                text=True,
                timeout=30,
                check=True,
            )
            return list(json.loads(out.stdout))

        assert child() == [str(kube.api.resource_version), "one"]
        port = kube.port
        kube.stop()
        refused = subprocess.run(
            [sys.executable, "-c", script],
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert refused.returncode != 0
        assert "Cannot connect to host" in refused.stderr
        kube.start()
        assert kube.port == port
        assert child()[1] == "one"
        assert kube.api.count("list", "pods") == 2


async def test_threaded_writes_reach_a_watch_on_another_loop(tmp_path: Path) -> None:
    with run_in_thread() as kube:
        async with connected(kube.kubeconfig(tmp_path / "kc")) as ac, asyncio.timeout(10):
            core = client.CoreV1Api(ac)
            rv = (await core.list_pod_for_all_namespaces()).metadata.resource_version
            resp = await core.list_pod_for_all_namespaces(
                watch=True, resource_version=rv, allow_watch_bookmarks=True, _preload_content=False
            )
            await asyncio.to_thread(kube.wait_watching, "pods")

            def churn() -> None:  # another thread again, neither the server's nor the client's
                for i in range(100):
                    kube.api.add("pods", pod("a", f"p-{i}"))
                kube.api.bookmark()

            await asyncio.to_thread(churn)
            events = [await line(resp) for _ in range(101)]
            # only now: a drop loses what is queued and not yet written, as a reset would
            assert await asyncio.to_thread(kube.api.drop_streams) == 1
            with pytest.raises(aiohttp.ClientPayloadError):
                await resp.content.readline()
            resp.release()
    assert [e["type"] for e in events] == ["ADDED"] * 100 + ["BOOKMARK"]
    assert [e["object"]["metadata"]["name"] for e in events[:3]] == ["p-0", "p-1", "p-2"]
