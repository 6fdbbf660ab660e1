"""Who held an address when (enricher/history.py), fed with pod objects as the API sends them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from honeypods.enricher.history import History
from honeypods.enricher.pods import Owners, PodRecord, node_record, owner_record, pod_record

T0 = 1_796_205_600.0  # 2026-12-02T10:00:00Z


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def pod(
    name: str,
    ips: tuple[str, ...] = (),
    *,
    ns: str = "shop",
    uid: str | None = None,
    start: float | None = None,
    phase: str = "Running",
    host: bool = False,
    node: str = "worker-1",
    owner: tuple[str, str] | None = ("ReplicaSet", "frontend-7d9f8b6c5"),
    app: str = "",
) -> dict[str, Any]:
    """A pod object shaped as kube-apiserver sends it."""
    metadata: dict[str, Any] = {
        "name": name,
        "namespace": ns,
        "uid": uid or f"uid-{ns}-{name}",
        "resourceVersion": "1",
        "labels": {"app.kubernetes.io/name": app} if app else {},
    }
    if owner:
        metadata["ownerReferences"] = [
            {"apiVersion": "apps/v1", "kind": owner[0], "name": owner[1], "controller": True}
        ]
    status: dict[str, Any] = {"phase": phase}
    if ips:
        status["podIP"] = ips[0]
        status["podIPs"] = [{"ip": ip} for ip in ips]
    if start is not None:
        status["startTime"] = _iso(start)
    spec = {"nodeName": node, "serviceAccountName": "sa-" + name.split("-", maxsplit=1)[0]}
    if host:
        spec["hostNetwork"] = True  # type: ignore[assignment]
    return {"metadata": metadata, "spec": spec, "status": status}


def rec(name: str, ips: tuple[str, ...] = (), **kw: Any) -> PodRecord:
    """``pod(...)`` as the enricher's watch hands it over: through ``pod_record``."""
    return pod_record(pod(name, ips, **kw))


def node(name: str, *addresses: str) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "uid": f"uid-{name}"},
        "status": {"addresses": [{"type": "InternalIP", "address": a} for a in addresses]},
    }


def history(horizon: float = 3600, max_spans: int = 200_000) -> History:
    return History(horizon, max_spans, Owners())


# -- Attribution ----------------------------------------------------------------------------------


def test_exact_attribution_names_the_pod_and_its_deployment() -> None:
    h = history()
    h.owners.upsert(
        owner_record(
            "ReplicaSet",
            {
                "metadata": {
                    "name": "frontend-7d9f8b6c5",
                    "namespace": "shop",
                    "ownerReferences": [
                        {"kind": "Deployment", "name": "frontend", "controller": True}
                    ],
                }
            },
        )
    )
    p = pod("frontend-7d9f8b6c5-x2x4z", ("10.244.3.17", "fd00::11"), start=T0, app="frontend")
    h.upsert_pod(pod_record(p), T0 + 5)
    got = h.lookup("10.244.3.17", T0 + 1)  # from startTime on, though first seen at T0 + 5
    assert got.attribution == "exact"
    assert got.fields() == {
        "source.kubernetes.attribution": "exact",
        "source.kubernetes.namespace": "shop",
        "source.kubernetes.pod.name": "frontend-7d9f8b6c5-x2x4z",
        "source.kubernetes.pod.uid": "uid-shop-frontend-7d9f8b6c5-x2x4z",
        "source.kubernetes.service_account": "sa-frontend",
        "source.kubernetes.node.name": "worker-1",
        "source.kubernetes.workload.kind": "Deployment",
        "source.kubernetes.workload.name": "frontend",
        "source.kubernetes.app": "frontend",
    }
    assert h.lookup("fd00:0:0:0:0:0:0:11", T0 + 1).pod == got.pod
    assert h.lookup("::ffff:10.244.3.17", T0 + 1).pod == got.pod  # a decoy on :: sees this
    assert h.lookup("10.244.3.17", T0 - 1).attribution == "none"  # before it started


def test_no_app_label_no_app_field() -> None:
    h = history()
    h.upsert_pod(rec("probe", ("10.0.0.5",), ns="default", owner=None), T0)
    fields = h.lookup("10.0.0.5", T0).fields()
    assert "source.kubernetes.app" not in fields
    assert fields["source.kubernetes.workload.kind"] == "Pod"
    assert fields["source.kubernetes.workload.name"] == "probe"


@pytest.mark.parametrize("ip", ["10.9.9.9", "not-an-ip", "", "10.0.0.256"])
def test_nothing_known_is_none(ip: str) -> None:
    h = history()
    h.upsert_pod(rec("a", ("10.0.0.1",)), T0)
    got = h.lookup(ip, T0)
    assert got.attribution == "none"
    assert got.fields() == {"source.kubernetes.attribution": "none"}


@pytest.mark.parametrize("ip", [None, ["10.0.0.1"], {"ip": "10.0.0.1"}, 167772161])
def test_an_address_that_is_not_text_is_none(ip: Any) -> None:
    h = history()
    h.upsert_pod(rec("a", ("10.0.0.1",)), T0)
    assert h.lookup(ip, T0).attribution == "none"


def test_a_time_that_is_not_a_number_is_none() -> None:
    h = history()
    h.upsert_pod(rec("a", ("10.0.0.1",)), T0)
    assert h.lookup("10.0.0.1", float("nan")).attribution == "none"
    assert h.lookup("10.0.0.1", float("inf")).attribution == "exact"  # still open
    h.delete_pod("uid-shop-a", T0 + 1)
    assert h.lookup("10.0.0.1", float("inf")).attribution == "none"


def test_a_deleted_pods_address_reused_by_another() -> None:
    h = history()
    h.upsert_pod(rec("first", ("10.0.0.7",), start=T0), T0)
    h.delete_pod("uid-shop-first", T0 + 100)
    h.upsert_pod(rec("second", ("10.0.0.7",), start=T0 + 130), T0 + 131)
    assert h.lookup("10.0.0.7", T0 + 50).pod.name == "first"  # type: ignore[union-attr]
    assert h.lookup("10.0.0.7", T0 + 99.9).pod.name == "first"  # type: ignore[union-attr]
    assert h.lookup("10.0.0.7", T0 + 100).attribution == "none"  # the end is not in the span
    assert h.lookup("10.0.0.7", T0 + 140).pod.name == "second"  # type: ignore[union-attr]
    assert h.pods == 1


def test_overlapping_spans_are_ambiguous() -> None:
    h = history()
    h.upsert_pod(rec("old", ("10.0.0.7",), start=T0), T0)
    # The new pod started before the old one's deletion reached the enricher.
    h.upsert_pod(rec("new", ("10.0.0.7",), ns="other", start=T0 + 99), T0 + 99.5)
    h.delete_pod("uid-shop-old", T0 + 100)
    got = h.lookup("10.0.0.7", T0 + 99.2)
    assert got.attribution == "ambiguous"
    assert got.fields() == {
        "source.kubernetes.attribution": "ambiguous",
        "source.kubernetes.candidates": ["other/new", "shop/old"],
    }
    assert h.lookup("10.0.0.7", T0 + 98).pod.name == "old"  # type: ignore[union-attr]
    assert h.lookup("10.0.0.7", T0 + 100).pod.name == "new"  # type: ignore[union-attr]


def test_candidates_are_sorted_and_at_most_ten() -> None:
    h = history()
    for i in range(15):
        h.upsert_pod(rec(f"p{i:02}", ("10.0.0.7",)), T0)
    got = h.lookup("10.0.0.7", T0)
    assert got.candidates == tuple(f"shop/p{i:02}" for i in range(10))


def test_host_network_pods_and_node_addresses_resolve_to_the_node() -> None:
    h = history()
    h.upsert_node(node_record(node("worker-2", "172.18.0.3")), T0)
    proxy = pod("kube-proxy-8xk2p", ("172.18.0.4",), host=True, node="worker-3", start=T0 - 50)
    h.upsert_pod(pod_record(proxy), T0)
    assert h.lookup("172.18.0.3", T0 + 1).fields() == {
        "source.kubernetes.attribution": "node",
        "source.kubernetes.node.name": "worker-2",
    }
    got = h.lookup("172.18.0.4", T0 - 10)
    assert (got.attribution, got.node) == ("node", "worker-3")
    assert h.nodes == 1
    assert h.pods == 1
    # A pod span wins over a node span for the same address.
    h.upsert_pod(rec("odd", ("172.18.0.3",)), T0 + 2)
    assert h.lookup("172.18.0.3", T0 + 3).attribution == "exact"
    assert h.lookup("172.18.0.3", T0 + 1).attribution == "node"
    h.delete_node("worker-2", T0 + 10)
    h.delete_pod("uid-shop-odd", T0 + 10)
    assert h.lookup("172.18.0.3", T0 + 11).attribution == "none"
    assert h.lookup("172.18.0.3", T0 + 1).attribution == "node"


def test_a_host_network_pod_before_it_is_scheduled_holds_nothing() -> None:
    h = history()
    h.upsert_pod(rec("kp", ("172.18.0.4",), host=True, node=""), T0)
    assert h.lookup("172.18.0.4", T0).attribution == "none"
    assert h.spans == 0


def test_a_node_address_change() -> None:
    h = history()
    h.upsert_node(node_record(node("worker-2", "172.18.0.3")), T0)
    h.upsert_node(node_record(node("worker-2", "172.18.0.9")), T0 + 10)
    assert h.lookup("172.18.0.3", T0 + 5).node == "worker-2"
    assert h.lookup("172.18.0.3", T0 + 11).attribution == "none"
    assert h.lookup("172.18.0.9", T0 + 11).node == "worker-2"


# -- Spans over time ------------------------------------------------------------------------------


def test_a_finished_pod_gives_its_address_back_for_good() -> None:
    h = history()
    h.upsert_pod(rec("job-x", ("10.0.0.8",), start=T0, owner=("Job", "job")), T0)
    h.upsert_pod(rec("job-x", ("10.0.0.8",), phase="Succeeded", owner=("Job", "job")), T0 + 60)
    assert h.lookup("10.0.0.8", T0 + 30).attribution == "exact"
    assert h.lookup("10.0.0.8", T0 + 61).attribution == "none"
    # The object stays (a finished pod is not deleted) and a later MODIFIED reopens nothing,
    # even one that still lists the address or claims to run again.
    h.upsert_pod(rec("job-x", ("10.0.0.8",), phase="Succeeded", owner=("Job", "job")), T0 + 90)
    h.upsert_pod(rec("job-x", ("10.0.0.8",), phase="Running", owner=("Job", "job")), T0 + 95)
    assert h.lookup("10.0.0.8", T0 + 100).attribution == "none"
    assert h.pods == 1
    h.delete_pod("uid-shop-job-x", T0 + 200)
    assert h.pods == 0
    assert h.lookup("10.0.0.8", T0 + 30).attribution == "exact"


def test_a_failed_pod_too() -> None:
    h = history()
    h.upsert_pod(rec("crash", ("10.0.0.9",)), T0)
    h.upsert_pod(rec("crash", ("10.0.0.9",), phase="Failed"), T0 + 5)
    assert h.lookup("10.0.0.9", T0 + 6).attribution == "none"


def test_an_address_change_ends_one_span_and_starts_another() -> None:
    h = history()
    h.upsert_pod(rec("web", ("10.0.0.1", "fd00::1"), start=T0 - 100), T0)
    h.upsert_pod(rec("web", ("10.0.0.2", "fd00::1"), start=T0 - 100), T0 + 50)
    assert h.lookup("10.0.0.1", T0 + 49).attribution == "exact"
    assert h.lookup("10.0.0.1", T0 + 50).attribution == "none"
    # The new address starts when it was seen, not at the pod's startTime.
    assert h.lookup("10.0.0.2", T0 + 49).attribution == "none"
    assert h.lookup("10.0.0.2", T0 + 50).attribution == "exact"
    assert h.lookup("fd00::1", T0 - 99).attribution == "exact"


def test_a_pod_first_seen_without_address_starts_when_it_gets_one() -> None:
    h = history()
    h.upsert_pod(rec("web", (), start=T0, phase="Pending"), T0)
    h.upsert_pod(rec("web", ("10.0.0.1",), start=T0), T0 + 3)
    assert h.lookup("10.0.0.1", T0 + 1).attribution == "none"
    assert h.lookup("10.0.0.1", T0 + 3).attribution == "exact"


def test_a_start_time_in_the_future_starts_now() -> None:
    h = history()
    h.upsert_pod(rec("web", ("10.0.0.1",), start=T0 + 30), T0)  # the API server's clock is ahead
    assert h.lookup("10.0.0.1", T0).attribution == "exact"


def test_replays_change_nothing() -> None:
    h = history()
    rec = pod_record(pod("web", ("10.0.0.1",), start=T0))
    h.upsert_pod(rec, T0 + 1)
    h.upsert_pod(rec, T0 + 2)  # the same ADDED twice
    assert h.spans == 1
    h.delete_pod("uid-shop-web", T0 + 10)
    h.delete_pod("uid-shop-web", T0 + 11)  # and the same DELETED
    h.delete_pod("uid-never-seen", T0 + 11)
    assert h.spans == 1
    assert h.lookup("10.0.0.1", T0 + 10.5).attribution == "none"
    # A MODIFIED of a pod never seen is its first sight.
    h.upsert_pod(pod_record(pod("late", ("10.0.0.2",), start=T0 + 5)), T0 + 20)
    assert h.lookup("10.0.0.2", T0 + 6).pod.name == "late"  # type: ignore[union-attr]


def test_the_workload_is_remembered_after_its_replicaset_goes() -> None:
    h = history()
    rs = {
        "metadata": {
            "name": "api-5f6d",
            "namespace": "shop",
            "ownerReferences": [{"kind": "Deployment", "name": "api", "controller": True}],
        }
    }
    h.owners.upsert(owner_record("ReplicaSet", rs))
    h.upsert_pod(rec("api-5f6d-abcde", ("10.0.0.3",), owner=("ReplicaSet", "api-5f6d")), T0)
    assert h.lookup("10.0.0.3", T0).workload == ("Deployment", "api")
    h.delete_pod("uid-shop-api-5f6d-abcde", T0 + 10)
    h.owners.delete("ReplicaSet", "shop", "api-5f6d")
    assert h.lookup("10.0.0.3", T0 + 5).workload == ("Deployment", "api")
    # A pod looked up only after its ReplicaSet went keeps the raw owner: nothing else is known.
    h.upsert_pod(rec("api-5f6d-zzzzz", ("10.0.0.4",), owner=("ReplicaSet", "api-5f6d")), T0)
    assert h.lookup("10.0.0.4", T0).workload == ("ReplicaSet", "api-5f6d")


# -- Relists --------------------------------------------------------------------------------------


def test_a_relist_ends_the_pods_it_no_longer_shows() -> None:
    h = history()
    for name in ("a", "b", "c"):
        h.upsert_pod(rec(name, (f"10.0.0.{ord(name)}",)), T0)
    h.begin_relist("pods")
    h.upsert_pod(rec("a", ("10.0.0.97",)), T0 + 100)
    assert h.end_relist("pods", T0 + 101) == 2
    assert h.pods == 1
    assert h.lookup("10.0.0.98", T0 + 100.5).attribution == "exact"  # until the relist ended
    assert h.lookup("10.0.0.98", T0 + 101).attribution == "none"
    assert h.lookup("10.0.0.97", T0 + 101).attribution == "exact"
    assert h.end_relist("pods", T0 + 102) == 0  # no begin, nothing ends


def test_a_namespaced_relist_ends_only_its_namespace() -> None:
    h = history()
    h.upsert_pod(rec("a", ("10.0.1.1",), ns="team-a"), T0)
    h.upsert_pod(rec("gone", ("10.0.1.2",), ns="team-a"), T0)
    h.upsert_pod(rec("b", ("10.0.2.1",), ns="team-b"), T0)
    h.begin_relist("pods", "team-a")
    h.begin_relist("pods", "team-b")  # its own list runs at the same time
    h.upsert_pod(rec("a", ("10.0.1.1",), ns="team-a"), T0 + 10)
    assert h.end_relist("pods", T0 + 11, "team-a") == 1
    assert h.lookup("10.0.2.1", T0 + 20).attribution == "exact"
    assert h.lookup("10.0.1.2", T0 + 20).attribution == "none"
    h.upsert_pod(rec("b", ("10.0.2.1",), ns="team-b"), T0 + 12)
    assert h.end_relist("pods", T0 + 13, "team-b") == 0


def test_a_node_relist() -> None:
    h = history()
    h.upsert_node(node_record(node("w1", "172.18.0.2")), T0)
    h.upsert_node(node_record(node("w2", "172.18.0.3")), T0)
    h.begin_relist("nodes")
    h.upsert_node(node_record(node("w1", "172.18.0.2")), T0 + 5)
    assert h.end_relist("nodes", T0 + 6) == 1
    assert h.nodes == 1
    assert h.lookup("172.18.0.3", T0 + 7).attribution == "none"


def test_a_relist_of_anything_else_is_refused() -> None:
    with pytest.raises(ValueError, match="pods or nodes"):
        history().begin_relist("replicasets")


# -- Bounds ---------------------------------------------------------------------------------------


def test_ended_spans_older_than_the_horizon_go_and_are_counted() -> None:
    h = history(horizon=600)
    for i in range(10):
        h.upsert_pod(rec(f"p{i}", (f"10.0.0.{i}",)), T0)
    for i in range(5):
        h.delete_pod(f"uid-shop-p{i}", T0 + 10 + i)
    assert h.prune(T0 + 612.5) == 3  # ended at +10, +11, +12 (end < now - horizon); +13.. stay
    assert h.evicted == {"horizon": 3, "cap": 0}
    assert h.spans == 7
    assert h.lookup("10.0.0.0", T0 + 5).attribution == "none"
    assert h.lookup("10.0.0.4", T0 + 5).attribution == "exact"
    # Any later change prunes too, without a timer.
    h.upsert_pod(rec("late", ("10.0.1.1",)), T0 + 10_000)
    assert h.evicted["horizon"] == 5
    assert h.spans == 6


def test_the_cap_with_50000_pods_and_churn() -> None:
    cap = 60_000
    h = history(max_spans=cap)
    created = 0
    now = T0
    for i in range(50_000):
        h.upsert_pod(pod_record(pod(f"w-{i}", (f"10.{i >> 16}.{(i >> 8) & 255}.{i & 255}",))), now)
        created += 1
    assert (h.spans, h.pods, h.evicted["cap"]) == (50_000, 50_000, 0)
    # Churn: pods replaced one by one, each new one taking the address of the one that went.
    for i in range(30_000):
        now += 0.01
        h.delete_pod(f"uid-shop-w-{i}", now)
        ip = f"10.{i >> 16}.{(i >> 8) & 255}.{i & 255}"
        h.upsert_pod(pod_record(pod(f"n-{i}", (ip,))), now)
        created += 1
        assert h.spans <= cap
    assert h.spans == cap
    assert h.pods == 50_000
    assert h.evicted["cap"] == created - cap
    assert h.evicted["horizon"] == 0
    # The oldest ended spans went first: the newest history is all there.
    assert h.lookup("10.0.117.47", now).pod.name == "n-29999"  # type: ignore[union-attr]
    assert h.lookup("10.0.117.47", now - 0.001).pod.name == "w-29999"  # type: ignore[union-attr]
    assert h.lookup("10.0.0.0", T0 + 0.001).attribution == "none"  # w-0's span was evicted
    assert h.lookup("10.0.0.0", now).pod.name == "n-0"  # type: ignore[union-attr]


def test_the_cap_evicts_the_oldest_open_spans_when_nothing_has_ended() -> None:
    h = history(max_spans=3)
    for i in range(5):
        h.upsert_pod(rec(f"p{i}", (f"10.0.0.{i}",), start=T0 + i), T0 + 10)
    assert h.spans == 3
    assert h.pods == 5  # the pods stay known; their addresses do not
    assert h.evicted["cap"] == 2
    assert h.lookup("10.0.0.0", T0 + 11).attribution == "none"
    assert h.lookup("10.0.0.1", T0 + 11).attribution == "none"
    assert h.lookup("10.0.0.4", T0 + 11).attribution == "exact"
    # The pod whose span went can still be updated and deleted.
    h.upsert_pod(rec("p0", ("10.0.0.0",), start=T0), T0 + 20)
    h.delete_pod("uid-shop-p0", T0 + 30)
    h.delete_pod("uid-shop-p1", T0 + 30)
    assert h.spans <= 3
    assert h.pods == 3


# -- Property: any sequence of changes ------------------------------------------------------------

# Few addresses, so that pods meet on them (reuse, overlaps) and probes find them.
POOL = ["10.0.0.1", "10.0.0.2", "10.0.0.3", "fd00::1"]
NAMESPACES = ["a", "b"]

_upsert = st.tuples(
    st.just("upsert"),
    st.integers(0, 5),
    st.lists(st.sampled_from(POOL), max_size=2, unique=True),
    st.sampled_from(["Running", "Running", "Running", "Pending", "Succeeded", "Failed"]),
    st.sampled_from([False, False, False, True]),
)
_op = st.one_of(
    _upsert,
    _upsert,
    _upsert,
    _upsert,
    st.tuples(st.just("delete"), st.integers(0, 5)),
    st.tuples(st.just("relist"), st.sampled_from([None, *NAMESPACES]), st.sets(st.integers(0, 5))),
    st.tuples(st.just("node"), st.integers(0, 2), st.lists(st.sampled_from(POOL), max_size=2)),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.tuples(_op, st.floats(0, 50)), min_size=8, max_size=60),
    st.integers(1, 12),
    st.sampled_from([0.0, 30.0, 600.0, 1e9]),
    # Probed addresses, and times as a fraction of the timeline (a little before and after it).
    st.lists(
        st.tuples(st.sampled_from([*POOL, "::ffff:10.0.0.1", "junk"]), st.floats(-0.1, 1.1)),
        min_size=1,
        max_size=40,
    ),
)
def test_any_sequence_keeps_the_cap_and_answers_truthfully(
    ops: list[tuple[Any, float]], cap: int, horizon: float, probes: list[tuple[str, float]]
) -> None:
    h = History(horizon, cap, Owners())
    now = T0
    shown: dict[int, tuple[str, ...]] = {}  # what the API would list: each pod's last addresses
    for op, dt in ops:
        now += dt
        if op[0] == "upsert":
            _, i, ips, phase, host = op
            obj = pod(f"p{i}", tuple(ips), ns=NAMESPACES[i % 2], phase=phase, host=host)
            obj["status"]["startTime"] = _iso(now - 5)
            h.upsert_pod(pod_record(obj), now)
            shown[i] = tuple(ips)
        elif op[0] == "delete":
            h.delete_pod(f"uid-{NAMESPACES[op[1] % 2]}-p{op[1]}", now)
            shown.pop(op[1], None)
        elif op[0] == "relist":
            _, ns, listed = op
            h.begin_relist("pods", ns)
            for i in listed:
                if ns is None or NAMESPACES[i % 2] == ns:
                    h.upsert_pod(rec(f"p{i}", shown.get(i, ()), ns=NAMESPACES[i % 2]), now)
            h.end_relist("pods", now, ns)
        else:
            h.upsert_node(node_record(node(f"w{op[1]}", *op[2])), now)
        assert h.spans <= cap
        assert h.spans == sum(len(v) for v in h._by_ip.values())
    for ip, fraction in probes:
        at = T0 + fraction * (now - T0)
        got = h.lookup(ip, at)
        assert got.attribution in ("exact", "ambiguous", "node", "none")
        got.fields()
        if got.attribution == "exact":
            assert got.pod is not None
            # Reads the private index on purpose: the span behind the answer must hold `at`.
            spans = h._by_ip["10.0.0.1" if ip.startswith("::ffff:") else ip]
            assert any(
                s.pod is not None
                and s.pod.uid == got.pod.uid
                and s.start <= at
                and (s.end is None or at < s.end)
                for s in spans
            )
        elif got.attribution == "ambiguous":
            assert 2 <= len(set(got.candidates)) == len(got.candidates) <= 10
