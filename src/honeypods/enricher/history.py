"""Who held an address when: per-address time spans of pods and nodes, and the lookup over them.

Rules this module keeps:

* Sans-IO and clock-free: every method that changes or reads history takes the time (epoch
  seconds) from its caller, so tests replay any timeline and nothing here sleeps or reads a clock.
* A span is ``[start, end)``: an event at ``at`` is attributed to the spans with
  ``start <= at < end`` (``end`` None while the span is open). A span starts at the pod's
  ``status.startTime`` for the addresses it is first seen with, else when an address first
  appears, but never before the seen end of an earlier pod's span of that address (startTime is
  to the second, and precedes the address); it ends when the address goes, the pod is deleted, finishes (``Succeeded``/``Failed``:
  the address returns to the pool while the object stays, and nothing reopens it), or a relist no
  longer shows it. Ends are never moved before their start.
* A host-network pod's addresses are its node's: they make node spans, never pod spans, since
  every host-network pod on a node looks the same from the wire.
* Replays are harmless: the same ADDED twice changes nothing, a MODIFIED of an unknown pod is its
  first sight, a DELETED of an unknown pod is ignored.
* Memory is bounded: ended spans older than ``horizon`` are dropped (``evicted["horizon"]``), and
  beyond ``max_spans`` the oldest ended spans go first, then the oldest open ones
  (``evicted["cap"]``); a pod whose open span was evicted stays known, that address unattributed.
  Each step is amortised O(log n): ended spans wait in a deque in end order (callers' times only
  move forward, near enough), open ones in a heap by start, cleaned lazily.
* A lookup costs O(spans of that address), never of the whole history.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from dataclasses import dataclass
from typing import Any, Final

from honeypods.enricher.pods import NodeRecord, Owners, PodRecord, PodRef, normalise_ip

FINISHED: Final = frozenset({"Succeeded", "Failed"})
RELIST_KINDS: Final = ("pods", "nodes")
MAX_CANDIDATES: Final = 10
_PREFIX: Final = "source.kubernetes."


@dataclass(frozen=True, slots=True)
class Attribution:
    """The answer for one address at one time."""

    attribution: str  # exact | ambiguous | node | none
    pod: PodRef | None = None
    workload: tuple[str, str] | None = None
    node: str = ""
    candidates: tuple[str, ...] = ()

    def fields(self) -> dict[str, Any]:
        """The ``source.kubernetes.*`` fields of an enriched event, as dotted keys."""
        out: dict[str, Any] = {_PREFIX + "attribution": self.attribution}
        pod = self.pod
        if self.attribution == "exact" and pod is not None:
            workload = self.workload or (pod.owner_kind, pod.owner_name)
            out[_PREFIX + "namespace"] = pod.namespace
            out[_PREFIX + "pod.name"] = pod.name
            out[_PREFIX + "pod.uid"] = pod.uid
            out[_PREFIX + "service_account"] = pod.service_account
            out[_PREFIX + "node.name"] = pod.node
            out[_PREFIX + "workload.kind"] = workload[0]
            out[_PREFIX + "workload.name"] = workload[1]
            if pod.app:
                out[_PREFIX + "app"] = pod.app
        elif self.attribution == "ambiguous":
            out[_PREFIX + "candidates"] = list(self.candidates)
        elif self.attribution == "node":
            out[_PREFIX + "node.name"] = self.node
        return out


NONE: Final = Attribution("none")


class _Holder:
    """A live pod or node: what it is and its open spans (one per address, a pod has one or two)."""

    __slots__ = ("done", "node", "ref", "spans", "stamp")

    def __init__(self, ref: PodRef | None, node: str, stamp: int) -> None:
        self.ref = ref  # None for a node
        self.node = node
        self.spans: list[_Span] = []
        self.stamp = stamp  # generation of its last upsert, for relists
        self.done = False  # a finished pod: its spans stay ended whatever the API sends next


class _Span:
    __slots__ = ("end", "holder", "ip", "node", "pod", "start", "workload")

    def __init__(
        self, ip: str, pod: PodRef | None, node: str, start: float, holder: _Holder
    ) -> None:
        self.ip = ip
        self.pod = pod  # None for a node span
        self.node = node
        self.start = start
        self.end: float | None = None
        self.holder: _Holder | None = holder  # while open: to take an evicted span off it
        self.workload: tuple[str, str] | None = None  # memo, once resolved past the raw owner

    # The open-span heap orders by start alone.
    def __lt__(self, other: _Span) -> bool:
        return self.start < other.start


class History:
    """Per-address spans of pods and nodes, and ``lookup(ip, at)`` over them.

    Args:
        horizon: seconds an ended span is kept.
        max_spans: most spans kept, open and ended together.
        owners: resolves a pod's owner to its workload at lookup time.
    """

    def __init__(self, horizon: float, max_spans: int, owners: Owners) -> None:
        if horizon < 0 or max_spans < 1:
            raise ValueError("horizon must be >= 0 and max_spans >= 1")
        self.horizon = horizon
        self.max_spans = max_spans
        self.owners = owners
        self.evicted: dict[str, int] = {"horizon": 0, "cap": 0}
        self._by_ip: dict[str, list[_Span]] = {}
        self._pods: dict[str, _Holder] = {}  # uid -> live pod
        self._nodes: dict[str, _Holder] = {}  # name -> live node
        self._ended: deque[_Span] = deque()
        self._open: list[_Span] = []  # heap by start; spans that have ended since are stale
        self._open_count = 0
        self._generation = 0
        self._marks: dict[tuple[str, str | None], int] = {}

    @property
    def spans(self) -> int:
        """Spans held, open and ended."""
        return self._open_count + len(self._ended)

    @property
    def pods(self) -> int:
        """Live pods (finished ones included, until deleted)."""
        return len(self._pods)

    @property
    def nodes(self) -> int:
        """Live nodes."""
        return len(self._nodes)

    # -- Changes ---------------------------------------------------------------------------------

    def upsert_pod(self, rec: PodRecord, now: float) -> None:
        """A pod as listed or watched (ADDED or MODIFIED)."""
        ref = rec.ref
        holder = self._pods.get(ref.uid)
        first = holder is None
        if holder is None:
            holder = self._pods[ref.uid] = _Holder(ref, ref.node, self._generation)
        else:
            holder.stamp = self._generation
            if holder.ref != ref:  # new spans name it as it is now; old ones as it was
                holder.ref, holder.node = ref, ref.node
        if holder.done:
            return
        if rec.phase in FINISHED:
            holder.done = True
            self._end_all(holder, now)
            self._after(now)
            return
        # A host-network pod not yet on a node has no address worth naming.
        ips = rec.ips if ref.node or not rec.host_network else ()
        start = rec.start if first and rec.start is not None and rec.start <= now else now
        self._reconcile(holder, ips, start, now, None if rec.host_network else holder.ref)

    def delete_pod(self, uid: str, now: float) -> None:
        """A pod deleted: its spans end and it is forgotten."""
        holder = self._pods.pop(uid, None)
        if holder is not None:
            self._end_all(holder, now)
            self._after(now)

    def upsert_node(self, rec: NodeRecord, now: float) -> None:
        """A node as listed or watched: its addresses resolve to it."""
        holder = self._nodes.get(rec.name)
        start = now
        if holder is None:
            holder = self._nodes[rec.name] = _Holder(None, rec.name, self._generation)
            if rec.start is not None and rec.start <= now:
                start = rec.start
        else:
            holder.stamp = self._generation
        self._reconcile(holder, rec.addresses, start, now, None)

    def delete_node(self, name: str, now: float) -> None:
        """A node deleted: its spans end and it is forgotten."""
        holder = self._nodes.pop(name, None)
        if holder is not None:
            self._end_all(holder, now)
            self._after(now)

    def begin_relist(self, kind: str, namespace: str | None = None) -> None:
        """Mark the start of a list of ``kind`` ("pods" or "nodes"), in ``namespace`` or all."""
        if kind not in RELIST_KINDS:
            raise ValueError(f"relist of {kind!r}: pods or nodes")
        self._generation += 1
        self._marks[(kind, namespace)] = self._generation

    def end_relist(self, kind: str, now: float, namespace: str | None = None) -> int:
        """End and forget every pod (of ``namespace``) or node not upserted since the begin.

        Returns:
            How many pods or nodes were missing; 0 without a matching ``begin_relist``.
        """
        if kind not in RELIST_KINDS:
            raise ValueError(f"relist of {kind!r}: pods or nodes")
        mark = self._marks.pop((kind, namespace), None)
        if mark is None:
            return 0
        table = self._pods if kind == "pods" else self._nodes
        missing = [
            key
            for key, holder in table.items()
            if holder.stamp < mark
            and (
                namespace is None or (holder.ref is not None and holder.ref.namespace == namespace)
            )
        ]
        for key in missing:
            self._end_all(table.pop(key), now)
        self._after(now)
        return len(missing)

    def prune(self, now: float) -> int:
        """Drop the spans that ended more than ``horizon`` seconds before ``now``.

        Returns:
            How many were dropped.
        """
        cutoff = now - self.horizon
        ended = self._ended
        count = 0
        # Ends come in the callers' order of time; one a little out of order waits its turn.
        while ended and ended[0].end is not None and ended[0].end < cutoff:
            self._unlink(ended.popleft())
            count += 1
        self.evicted["horizon"] += count
        return count

    # -- Lookup ----------------------------------------------------------------------------------

    def lookup(self, ip: str, at: float) -> Attribution:
        """Who held ``ip`` at ``at``: one pod, several, a node, or nothing known."""
        if math.isnan(at):  # NaN compares false with every bound, so it would fall in every span
            return NONE
        # The address comes from an event body: a list there must not reach the dict as a key.
        spans = self._by_ip.get(ip) if isinstance(ip, str) else None
        if spans is None:
            canonical = normalise_ip(ip)
            if canonical is None or canonical == ip:
                return NONE
            spans = self._by_ip.get(canonical)
            if spans is None:
                return NONE
        hit: _Span | None = None
        others: dict[str, PodRef] | None = None
        node: _Span | None = None
        for span in spans:
            if span.start > at or (span.end is not None and at >= span.end):
                continue
            pod = span.pod
            if pod is None:
                if node is None or span.start > node.start:  # the newest node claim wins
                    node = span
            elif hit is None:
                hit = span
            elif others is not None:
                others[pod.uid] = pod
            elif hit.pod is not None and pod.uid != hit.pod.uid:
                others = {hit.pod.uid: hit.pod, pod.uid: pod}
        if others is not None:
            names = sorted({f"{p.namespace}/{p.name}" for p in others.values()})
            return Attribution("ambiguous", candidates=tuple(names[:MAX_CANDIDATES]))
        if hit is not None and hit.pod is not None:
            return Attribution("exact", hit.pod, self._workload(hit, hit.pod), hit.pod.node)
        if node is not None:
            return Attribution("node", node=node.node)
        return NONE

    def _workload(self, span: _Span, pod: PodRef) -> tuple[str, str]:
        if span.workload is not None:
            return span.workload
        raw = (pod.owner_kind, pod.owner_name)
        workload = self.owners.resolve(pod.namespace, *raw)
        if workload != raw:
            # The ReplicaSet may be gone by the next lookup; the Deployment it named is not.
            span.workload = workload
        return workload

    # -- Span bookkeeping ------------------------------------------------------------------------

    def _reconcile(
        self,
        holder: _Holder,
        ips: tuple[str, ...],
        start: float,
        now: float,
        pod: PodRef | None,
    ) -> None:
        """End the holder's spans of addresses it no longer has, open spans for new ones."""
        have: list[str] = []
        if holder.spans:
            keep: list[_Span] = []
            for span in holder.spans:
                if span.ip in ips:
                    keep.append(span)
                    have.append(span.ip)
                else:
                    self._end(span, now)
            holder.spans = keep
        for ip in ips:
            if ip not in have:
                self._start(holder, ip, start, pod)
                have.append(ip)
        self._after(now)

    def _start(self, holder: _Holder, ip: str, start: float, pod: PodRef | None) -> None:
        same_ip = self._by_ip.get(ip)
        if same_ip:
            ip = same_ip[0].ip  # one string per address, however many spans it has
            if pod is not None:
                # startTime has one-second resolution and comes before the sandbox gets its
                # address: a span may not reach back over an earlier holder's seen end.
                ended = [s.end for s in same_ip if s.pod is not None and s.end is not None]
                if ended:
                    start = max(start, *ended)
        span = _Span(ip, pod, holder.node, start, holder)
        if same_ip is None:
            self._by_ip[ip] = [span]
        else:
            same_ip.append(span)
        holder.spans.append(span)
        heapq.heappush(self._open, span)
        self._open_count += 1

    def _end(self, span: _Span, now: float) -> None:
        span.end = now if now > span.start else span.start
        span.holder = None
        self._open_count -= 1
        self._ended.append(span)

    def _end_all(self, holder: _Holder, now: float) -> None:
        for span in holder.spans:
            self._end(span, now)
        holder.spans = []

    def _unlink(self, span: _Span) -> None:
        """Take a span off its address (it is already off the deque or the heap)."""
        same_ip = self._by_ip.get(span.ip)
        if same_ip is None:
            return
        same_ip.remove(span)
        if not same_ip:
            del self._by_ip[span.ip]

    def _after(self, now: float) -> None:
        """After a change: drop what is past the horizon, then hold the cap."""
        if self._ended:
            self.prune(now)
        over = self.spans - self.max_spans
        if over > 0:
            self._evict(over)
        # Ended spans stay in the heap until popped; rebuild it before they outnumber the rest.
        if len(self._open) > 2 * self._open_count + 1024:
            self._open = [span for span in self._open if span.end is None]
            heapq.heapify(self._open)

    def _evict(self, count: int) -> None:
        ended, heap = self._ended, self._open
        for _ in range(count):
            if ended:
                self._unlink(ended.popleft())
            else:
                while heap and heap[0].end is not None:
                    heapq.heappop(heap)
                if not heap:
                    break
                span = heapq.heappop(heap)
                holder = span.holder
                if holder is not None:
                    holder.spans.remove(span)
                span.holder = None
                self._open_count -= 1
                self._unlink(span)
            self.evicted["cap"] += 1
