"""The state behind tests/integration/kubeapi.py: objects, one revision counter, the event log.

It is etcd plus the apiserver's watch cache, as far as a list/watch client can tell them apart:

* One integer revision shared by every kind; each write takes the next one and becomes that
  object's ``metadata.resourceVersion``.
* Objects are kept serialised (orjson bytes without ``kind``/``apiVersion``, as list items are),
  so a page of 500 of 50,000 pods is a byte join, and a caller's dict is never aliased.
* The event log holds every write since the last compaction; a watch from revision N replays the
  entries after N, then takes live ones from its queue. ``compact()`` writes a revision of its own
  (as the apiserver's compactor does, through its compaction key) and forgets all before it.
* A paged list is a snapshot: its first page fixes the revision and the sorted items; continue
  tokens (the apiserver's own format) name that revision and the key to resume after.

Every method takes one lock, so tests may write from any thread while the server's loop reads.
Watch queues belong to the server's loop and are fed with ``call_soon_threadsafe``, in revision
order, because every push happens under the lock.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import bisect
import contextlib
import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import orjson
from tests.integration.kubeapi_objects import timestamp


@dataclass(frozen=True)
class Kind:
    name: str
    api_version: str
    plural: str
    namespaced: bool

    @property
    def group_path(self) -> str:
        return "/api/v1" if self.api_version == "v1" else f"/apis/{self.api_version}"

    @property
    def prefix(self) -> bytes:
        """A watch object's opening: kind and apiVersion come first, as the apiserver writes."""
        return f'{{"kind":"{self.name}","apiVersion":"{self.api_version}",'.encode()


KINDS = {
    k.plural: k
    for k in (
        Kind("Pod", "v1", "pods", namespaced=True),
        Kind("ReplicaSet", "apps/v1", "replicasets", namespaced=True),
        Kind("Job", "batch/v1", "jobs", namespaced=True),
        Kind("Node", "v1", "nodes", namespaced=False),
    )
}
_ALIASES = {a: k for k in KINDS.values() for a in (k.name.lower(), k.plural)}
SNAPSHOTS = 64  # paged lists in flight at once; an older one's token gets 410, as if compacted


def resolve(kind: str | Kind) -> Kind:
    """``"Pod"``, ``"pod"`` or ``"pods"`` (any case) to its Kind."""
    if isinstance(kind, Kind):
        return kind
    try:
        return _ALIASES[kind.lower()]
    except KeyError:
        raise ValueError(f"unknown kind {kind!r}; known: {sorted(KINDS)}") from None


def status_body(code: int, reason: str, message: str) -> dict[str, Any]:
    """A ``Status`` as kube-apiserver answers errors with."""
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }


class APIError(Exception):
    """An answer other than 200, carried to the HTTP layer as a Status."""

    def __init__(self, code: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.body = status_body(code, reason, message)
        self.code = code


EXPIRED_CONTINUE = (
    "The provided continue parameter is too old to display a consistent list result. "
    "You can start a new list without the continue parameter."
)


def event_line(kind: Kind, type_: str, item: bytes) -> bytes:
    return b'{"type":"%s","object":%s%s}\n' % (type_.encode(), kind.prefix, item[1:])


def bookmark_line(kind: Kind, rv: int, annotations: dict[str, str] | None = None) -> bytes:
    """An empty object of the watched kind but for its resourceVersion, as the watch cache sends."""
    meta: dict[str, Any] = {"resourceVersion": str(rv), "creationTimestamp": None}
    if annotations:
        meta["annotations"] = annotations
    body: dict[str, Any] = {"metadata": meta}
    if kind.name == "Pod":
        body |= {"spec": {"containers": None}, "status": {}}
    return event_line(kind, "BOOKMARK", orjson.dumps(body))


@dataclass(eq=False)
class Subscriber:
    """One open watch: what it selects, and the queue its handler writes out from."""

    kind: Kind
    namespace: str | None
    bookmarks: bool
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[bytes | None] = field(default_factory=asyncio.Queue)

    def push(self, line: bytes | None) -> None:
        # None ends the stream; a loop already closed has no stream left to feed
        with contextlib.suppress(RuntimeError):
            self.loop.call_soon_threadsafe(self.queue.put_nowait, line)

    def wants(self, kind: Kind, namespace: str | None) -> bool:
        return kind is self.kind and self.namespace in (None, namespace)


@dataclass(frozen=True)
class Logged:
    rv: int
    kind: Kind
    namespace: str | None
    type: str
    item: bytes


class Store:
    def __init__(self, first_rv: int = 1000) -> None:
        self.lock = threading.RLock()
        self.rv = first_rv
        self.compacted = first_rv  # a watch from an RV below this gets 410
        self._tables: dict[str, dict[str, bytes]] = {p: {} for p in KINDS}
        self._sorted: dict[str, list[str] | None] = dict.fromkeys(KINDS)
        self._log: list[Logged] = []
        self._subs: set[Subscriber] = set()
        self._snapshots: OrderedDict[tuple[str, str | None, int], tuple[list[str], list[bytes]]]
        self._snapshots = OrderedDict()

    # ---- writes -------------------------------------------------------------------------------

    def put(self, kind: Kind, obj: dict[str, Any], *, create: bool) -> dict[str, Any]:
        meta = dict(obj.get("metadata") or {})
        name = meta.get("name")
        namespace = meta.get("namespace") if kind.namespaced else None
        if not name or (kind.namespaced and not namespace):
            raise ValueError(
                f"a {kind.name} needs metadata.name" + " and .namespace" * kind.namespaced
            )
        key = f"{namespace}/{name}" if kind.namespaced else name
        body = {k: v for k, v in obj.items() if k not in ("kind", "apiVersion")}
        with self.lock:
            table = self._tables[kind.plural]
            old = table.get(key)
            if create and old is not None:
                raise ValueError(f'{kind.plural} "{key}" already exists')
            if not create and old is None:
                raise KeyError(f'{kind.plural} "{key}" not found')
            if old is not None:
                # immutable on a real server: an update keeps the object's identity, so a test
                # may modify with a freshly built object (which has a new uid of its own)
                kept = orjson.loads(old)["metadata"]
                meta["uid"], meta["creationTimestamp"] = kept["uid"], kept["creationTimestamp"]
            else:
                meta.setdefault("uid", str(uuid.uuid4()))
                meta.setdefault("creationTimestamp", timestamp())
            self.rv += 1
            meta["resourceVersion"] = str(self.rv)
            body["metadata"] = meta
            item = orjson.dumps(body)
            if old is None:
                self._sorted[kind.plural] = None
            table[key] = item
            self._record(kind, namespace, "ADDED" if create else "MODIFIED", item)
        return {"kind": kind.name, "apiVersion": kind.api_version, **body}

    def delete(self, kind: Kind, namespace: str | None, name: str) -> dict[str, Any]:
        key = f"{namespace}/{name}" if kind.namespaced else name
        with self.lock:
            old = self._tables[kind.plural].pop(key, None)
            if old is None:
                raise KeyError(f'{kind.plural} "{key}" not found')
            self._sorted[kind.plural] = None
            self.rv += 1
            # DELETED carries the last state stamped with the deletion's revision
            body = orjson.loads(old)
            body["metadata"]["resourceVersion"] = str(self.rv)
            item = orjson.dumps(body)
            self._record(kind, namespace if kind.namespaced else None, "DELETED", item)
        return {"kind": kind.name, "apiVersion": kind.api_version, **body}

    def _record(self, kind: Kind, namespace: str | None, type_: str, item: bytes) -> None:
        self._log.append(Logged(self.rv, kind, namespace, type_, item))
        line = None
        for sub in self._subs:
            if sub.wants(kind, namespace):
                line = line or event_line(kind, type_, item)
                sub.push(line)

    def compact(self) -> int:
        """Take a revision and forget everything before it; returns the compaction revision."""
        with self.lock:
            self.rv += 1
            self.compacted = self.rv
            self._log.clear()
            for key in [k for k in self._snapshots if k[2] < self.compacted]:
                del self._snapshots[key]
            return self.compacted

    # ---- reads --------------------------------------------------------------------------------

    def get(self, kind: Kind, namespace: str | None, name: str) -> dict[str, Any] | None:
        key = f"{namespace}/{name}" if kind.namespaced else name
        with self.lock:
            item = self._tables[kind.plural].get(key)
        if item is None:
            return None
        return {"kind": kind.name, "apiVersion": kind.api_version, **orjson.loads(item)}

    def count(self, kind: Kind) -> int:
        with self.lock:
            return len(self._tables[kind.plural])

    def _keys(self, kind: Kind, namespace: str | None) -> list[str]:
        keys = self._sorted[kind.plural]
        if keys is None:
            keys = self._sorted[kind.plural] = sorted(self._tables[kind.plural])
        if namespace is None:
            return keys
        lo = bisect.bisect_left(keys, f"{namespace}/")
        hi = bisect.bisect_left(keys, f"{namespace}0")  # "0" is the character after "/"
        return keys[lo:hi]

    def page(self, kind: Kind, namespace: str | None, limit: int, token: str | None) -> bytes:
        """A list body; ``limit`` 0 means all. Raises APIError 410 for an expired token."""
        with self.lock:
            if token:
                rv, start = _decode_continue(token)
                snap = self._snapshots.get((kind.plural, namespace, rv))
                if rv < self.compacted or snap is None:
                    raise APIError(410, "Expired", EXPIRED_CONTINUE)
                self._snapshots.move_to_end((kind.plural, namespace, rv))
                keys, items = snap
                first = bisect.bisect_left(keys, start)
            else:
                rv, first = self.rv, 0
                keys = self._keys(kind, namespace)
                table = self._tables[kind.plural]
                items = [table[k] for k in keys]
            end = len(keys) if limit <= 0 else min(len(keys), first + limit)
            meta: dict[str, Any] = {"resourceVersion": str(rv)}
            if end < len(keys):
                meta["continue"] = _encode_continue(rv, keys[end - 1] + "\x00")
                meta["remainingItemCount"] = len(keys) - end
                if not token:
                    self._snapshots[(kind.plural, namespace, rv)] = (keys, items)
                    while len(self._snapshots) > SNAPSHOTS:
                        self._snapshots.popitem(last=False)
            page = items[first:end]
        head = orjson.dumps({"kind": f"{kind.name}List", "apiVersion": kind.api_version})
        return b'%s,"metadata":%s,"items":[%s]}' % (
            head[:-1],
            orjson.dumps(meta),
            b",".join(page),
        )

    # ---- watches ------------------------------------------------------------------------------

    def subscribe(
        self,
        sub: Subscriber,
        resource_version: str | None,
        *,
        initial_events: bool = False,
    ) -> tuple[list[bytes], bool]:
        """Register ``sub``; returns what its stream starts with (replay, state, or one ERROR),
        and whether it was registered: if not (410), the stream ends after those lines."""
        kind = sub.kind
        with self.lock:
            if initial_events or resource_version in (None, "", "0"):
                # "any"/"most recent" start: the current state as ADDED, which a client
                # must treat as a fresh list (a relist), then live events
                table = self._tables[kind.plural]
                lines = [
                    event_line(kind, "ADDED", table[k]) for k in self._keys(kind, sub.namespace)
                ]
                if initial_events and sub.bookmarks:
                    marker = {"k8s.io/initial-events-end": "true"}
                    lines.append(bookmark_line(kind, self.rv, marker))
            else:
                try:
                    since = int(resource_version)
                except ValueError:
                    raise APIError(
                        400, "BadRequest", f"invalid resource version: {resource_version!r}"
                    ) from None
                if since < self.compacted:
                    error = status_body(
                        410, "Expired", f"too old resource version: {since} ({self.compacted})"
                    )
                    return [orjson.dumps({"type": "ERROR", "object": error}) + b"\n"], False
                start = bisect.bisect_right(self._log, since, key=lambda e: e.rv)
                lines = [
                    event_line(e.kind, e.type, e.item)
                    for e in self._log[start:]
                    if sub.wants(e.kind, e.namespace)
                ]
            self._subs.add(sub)
            return lines, True

    def unsubscribe(self, sub: Subscriber) -> None:
        with self.lock:
            self._subs.discard(sub)

    def subscribers(self, kind: Kind | None = None) -> list[Subscriber]:
        with self.lock:
            return [s for s in self._subs if kind is None or s.kind is kind]

    def bookmark(self, sub: Subscriber | None = None) -> None:
        """Queue a BOOKMARK at the current revision for ``sub``, or for each watch that allows them.

        Under the lock, so the bookmark follows every event already queued with a lower revision.
        """
        with self.lock:
            for s in [sub] if sub is not None else list(self._subs):
                if s.bookmarks and s in self._subs:
                    s.push(bookmark_line(s.kind, self.rv))


def _encode_continue(rv: int, start: str) -> str:
    raw = orjson.dumps({"v": "meta.k8s.io/v1", "rv": rv, "start": start})
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_continue(token: str) -> tuple[int, str]:
    try:
        doc = orjson.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if doc.get("v") != "meta.k8s.io/v1":
            raise ValueError(f"continue key version {doc.get('v')!r} is not supported")
        return int(doc["rv"]), str(doc["start"])
    except (ValueError, KeyError, TypeError, AttributeError, binascii.Error) as e:
        raise APIError(400, "BadRequest", f"continue key is not valid: {e}") from None
