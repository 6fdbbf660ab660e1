"""An in-process kube-apiserver for list/watch clients: the real wire protocol on 127.0.0.1.

It serves what the enricher reads, pods, replicasets, jobs and nodes, at the apiserver's own
paths (``/api/v1/pods``, ``/api/v1/namespaces/{ns}/pods``, ``/apis/apps/v1/replicasets``, ...),
so the real kubernetes_asyncio client talks to it unchanged, through a kubeconfig it writes:

* Lists: ``{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":...},"items":[...]}``,
  items without kind/apiVersion, sorted by namespace/name; ``limit``/``continue`` page one
  snapshot, and a token older than the last ``compact()`` answers 410 ``Expired``.
* Watches (``watch=true``): 200, chunked, one ``{"type":..., "object":...}`` line per event.
  From ``resourceVersion=N`` the events after N are replayed, then live ones follow; N older than
  the compaction gets one ERROR event with the 410 Status, then the stream ends, as the real
  watch cache answers. With no resourceVersion or ``"0"`` the stream starts with an ADDED per
  current object (for the client that is a relist). ``allowWatchBookmarks`` lets ``bookmark()``
  (and ``bookmark_interval``) send BOOKMARKs; ``timeoutSeconds`` ends the stream cleanly.
* One revision counter for every kind (kubeapi_store.py), optional bearer-token auth (401 Status).

Control (tests): ``add``/``modify``/``delete``/``get`` objects built by kubeapi_objects,
``compact()``, ``bookmark()``, ``drop_streams()`` (abort open watches like a reset connection),
``stop()``/``start()`` on the same port (an outage), ``fail_next()`` (error answers),
``set_list_delay()``, and ``calls()``/``count()`` of what clients asked. The writes and reads are
safe from any thread; ``start``/``stop`` are coroutines on the loop that serves. ``run_in_thread()``
serves from a loop in a thread of its own, for a client in another process (``KUBECONFIG``)::

    async with KubeAPI(token="t") as kube:
        kube.add("pods", pod("shop", "cart-1", ip="10.244.1.5", owner=("ReplicaSet", "cart-7d9f")))
        path = kube.kubeconfig(tmp_path / "kubeconfig")  # load_kube_config(config_file=path)

    with run_in_thread() as kube:  # kube.api is the KubeAPI; start/stop are plain calls here
        subprocess.run([...], env={**os.environ, "KUBECONFIG": str(kube.kubeconfig(p))})
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import yaml
from aiohttp import web
from tests.integration.kubeapi_http import Call, Wire
from tests.integration.kubeapi_objects import job, node, pod, replicaset, stable_uid
from tests.integration.kubeapi_store import resolve

__all__ = [
    "Call",
    "KubeAPI",
    "ThreadedKubeAPI",
    "job",
    "node",
    "pod",
    "replicaset",
    "run_in_thread",
    "stable_uid",
]


class KubeAPI(Wire):
    """The server. ``await start()`` binds 127.0.0.1 (port 0: ephemeral, then kept for restarts)."""

    def __init__(
        self,
        *,
        token: str | None = None,
        port: int = 0,
        watch_timeout: float = 1800.0,
        bookmark_interval: float | None = None,
        first_rv: int = 1000,
    ) -> None:
        super().__init__(
            token=token,
            port=port,
            watch_timeout=watch_timeout,
            bookmark_interval=bookmark_interval,
            first_rv=first_rv,
        )
        self._runner: web.AppRunner | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self._runner is not None

    # ---- lifecycle (coroutines on the serving loop) -------------------------------------------

    async def start(self) -> None:
        if self._runner is not None:
            return
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.handle)
        # handler_cancellation: a watch whose client went away ends at once, not at its timeout
        runner = web.AppRunner(
            app, access_log=None, handler_cancellation=True, shutdown_timeout=1.0
        )
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", self.port, reuse_address=True)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self.port = int(runner.addresses[0][1])
        self._runner = runner
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()

    async def stop(self) -> None:
        """Close the port and every connection, watches aborted: clients see an outage."""
        runner, self._runner = self._runner, None
        if runner is None:
            return
        self._drop()
        await runner.cleanup()

    async def __aenter__(self) -> KubeAPI:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ---- control (any thread) -----------------------------------------------------------------

    def add(self, kind: str, obj: dict[str, Any]) -> dict[str, Any]:
        """Create ``obj``; returns it as stored (uid, creationTimestamp, resourceVersion set)."""
        return self.store.put(resolve(kind), obj, create=True)

    def add_many(self, kind: str, objs: Iterable[dict[str, Any]]) -> int:
        """Create many under one lock (50,000 pods in a few seconds); returns the last RV."""
        k = resolve(kind)
        with self.store.lock:
            for obj in objs:
                self.store.put(k, obj, create=True)
            return self.store.rv

    def modify(self, kind: str, obj: dict[str, Any]) -> dict[str, Any]:
        """Replace the object of the same namespace/name (KeyError if there is none).

        Its uid and creationTimestamp stay the stored ones, as the apiserver keeps them.
        """
        return self.store.put(resolve(kind), obj, create=False)

    def delete(self, kind: str, namespace: str | None, name: str) -> dict[str, Any]:
        """Delete; returns the DELETED event's object (last state, the deletion's RV)."""
        return self.store.delete(resolve(kind), namespace, name)

    def get(self, kind: str, namespace: str | None, name: str) -> dict[str, Any] | None:
        return self.store.get(resolve(kind), namespace, name)

    @property
    def resource_version(self) -> int:
        return self.store.rv

    def compact(self) -> int:
        """Forget the event log and list snapshots: any RV or continue token from before now
        gets 410 (open watches go on, as they do on a real server). Returns the new RV."""
        return self.store.compact()

    def bookmark(self) -> None:
        """A BOOKMARK at the current RV on every open watch that allowed them."""
        self.store.bookmark()

    def drop_streams(self) -> int:
        """Abort every open watch connection (no final chunk), like a reset TCP connection.

        Events queued for a stream but not yet written are lost with it, as on a real reset.
        Returns how many were dropped. From another thread it waits until they are.
        """
        return self._on_loop(self._drop, 0)

    def set_list_delay(self, seconds: float) -> None:
        """Hold every list answer (each page) this long, like a loaded apiserver."""
        self.list_delay = seconds

    def watchers(self, kind: str | None = None) -> int:
        """Watches open now (of ``kind``)."""
        return len(self.store.subscribers(resolve(kind) if kind else None))

    async def wait_watching(self, kind: str, count: int = 1, timeout: float = 10.0) -> None:
        async with asyncio.timeout(timeout):
            while self.watchers(kind) < count:
                await asyncio.sleep(0.01)

    def kubeconfig(self, path: str | Path) -> Path:
        """Write a kubeconfig for this server (its token as the user's) and return its path."""
        user: dict[str, Any] = {"token": self.token} if self.token else {}
        doc = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "kubeapi", "cluster": {"server": self.url}}],
            "users": [{"name": "kubeapi", "user": user}],
            "contexts": [{"name": "kubeapi", "context": {"cluster": "kubeapi", "user": "kubeapi"}}],
            "current-context": "kubeapi",
            "preferences": {},
        }
        path = Path(path)
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
        return path

    # ---- internals ----------------------------------------------------------------------------

    def _on_loop(self, fn: Callable[[], int], default: int) -> int:
        # transports belong to the serving loop: from another thread, hand the call over to it
        loop = self._loop
        if loop is None or loop.is_closed():
            return default
        if threading.get_ident() == self._loop_thread:
            return fn()

        async def call() -> int:
            return fn()

        return asyncio.run_coroutine_threadsafe(call(), loop).result(timeout=10)


class ThreadedKubeAPI:
    """A KubeAPI served from its own loop in a daemon thread; ``api`` for the control methods."""

    def __init__(self, **kwargs: Any) -> None:
        self.api = KubeAPI(**kwargs)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True, name="kubeapi")
        self._thread.start()

    def _run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=30)

    @property
    def port(self) -> int:
        return self.api.port

    @property
    def url(self) -> str:
        return self.api.url

    def start(self) -> None:
        self._run(self.api.start())

    def stop(self) -> None:
        self._run(self.api.stop())

    def kubeconfig(self, path: str | Path) -> Path:
        return self.api.kubeconfig(path)

    def wait_watching(self, kind: str, count: int = 1, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while self.api.watchers(kind) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"fewer than {count} {kind} watches after {timeout} s")
            time.sleep(0.01)

    def close(self) -> None:
        if self._thread.is_alive():
            self.stop()
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
            self._loop.close()


@contextlib.contextmanager
def run_in_thread(**kwargs: Any) -> Iterator[ThreadedKubeAPI]:
    """``with run_in_thread(token="t") as kube: kube.kubeconfig(p); kube.api.add(...)``."""
    kube = ThreadedKubeAPI(**kwargs)
    try:
        kube.start()
        yield kube
    finally:
        kube.close()
