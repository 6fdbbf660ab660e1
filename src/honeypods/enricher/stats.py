"""The enricher's metrics: attributions, refusals, the history's size, and the top attacking
workloads as a bounded gauge.

``honeypods_enricher_workload_events`` has at most ``TOP`` series: one per workload among the
``TOP`` that sent the most alert events, so a dashboard can show who attacks without a series per
address or per pod. Its labels are ``source_namespace`` and ``source_workload``, as on the
alerts, so that they never collide with the ``namespace`` and ``pod`` labels of the scrape target.
The counts behind it are kept for at most ``TRACKED`` workloads (the least
active go first); workloads are the cluster's own objects, so an attacker cannot add names.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator
from typing import Any, Final

from prometheus_client import Counter
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from honeypods.core import metrics

TOP: Final = 10
TRACKED: Final = 10000

ATTRIBUTED: Final = Counter(
    "honeypods_enricher_events",
    "Decoy events attributed, by attribution: exact, ambiguous, node, none.",
    ["attribution"],
    registry=metrics.REGISTRY,
)
REJECTED: Final = Counter(
    "honeypods_enricher_rejected",
    "Requests or events refused: unauthorized, too_large, malformed, invalid_event.",
    ["reason"],
    registry=metrics.REGISTRY,
)
for _attribution in ("exact", "ambiguous", "node", "none"):
    ATTRIBUTED.labels(_attribution)
for _reason in ("unauthorized", "too_large", "malformed", "invalid_event"):
    REJECTED.labels(_reason)


class Workloads:
    """Alert events per (namespace, workload), bounded."""

    def __init__(self) -> None:
        self.counts: dict[tuple[str, str], int] = {}

    def add(self, namespace: str, workload: str) -> None:
        key = (namespace, workload)
        if key not in self.counts and len(self.counts) >= TRACKED:
            del self.counts[min(self.counts, key=self.counts.__getitem__)]
        self.counts[key] = self.counts.get(key, 0) + 1

    def top(self) -> list[tuple[tuple[str, str], int]]:
        return heapq.nlargest(TOP, self.counts.items(), key=lambda item: item[1])


class HistoryCollector(Collector):
    """Reads the live sizes at scrape time, so nothing on the hot path updates a gauge."""

    def __init__(self, read: Callable[[], dict[str, Any]], workloads: Workloads) -> None:
        self.read = read
        self.workloads = workloads

    def collect(self) -> Iterator[Any]:
        state = self.read()
        yield GaugeMetricFamily(
            "honeypods_enricher_spans", "Address spans held.", value=state["spans"]
        )
        yield GaugeMetricFamily(
            "honeypods_enricher_pods", "Pods currently known.", value=state["pods"]
        )
        evicted = CounterMetricFamily(
            "honeypods_enricher_evicted",
            "Spans dropped: horizon (older than the horizon), cap (over the span cap).",
            labels=["reason"],
        )
        for reason in ("horizon", "cap"):
            evicted.add_metric([reason], state["evicted"].get(reason, 0))
        yield evicted
        top = GaugeMetricFamily(
            "honeypods_enricher_workload_events",
            f"Alert events from each of the {TOP} workloads that sent the most (kind/name).",
            labels=["source_namespace", "source_workload"],
        )
        for (namespace, workload), count in self.workloads.top():
            top.add_metric([namespace, workload], count)
        yield top

    def describe(self) -> Iterator[Any]:
        return iter(())


_collector: HistoryCollector | None = None


def watch_history(read: Callable[[], dict[str, Any]], workloads: Workloads) -> None:
    """Publish this history's sizes (one per process; a new one replaces the last)."""
    global _collector  # noqa: PLW0603 - one collector in the process-wide registry
    if _collector is not None:
        metrics.REGISTRY.unregister(_collector)
    _collector = HistoryCollector(read, workloads)
    metrics.REGISTRY.register(_collector)
