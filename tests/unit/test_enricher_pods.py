"""Raw API data: the watch stream into lines (enricher/lines.py), objects into records and owner
resolution (enricher/pods.py).

The objects are shaped as kube-apiserver sends them in a list or a watch event's ``object``.
"""

from __future__ import annotations

import copy
import ipaddress
import itertools
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from honeypods.enricher.lines import LineSplitter, LineTooLong
from honeypods.enricher.pods import (
    NodeRecord,
    OwnerRecord,
    Owners,
    PodRef,
    node_record,
    normalise_ip,
    owner_record,
    pod_record,
)

START = "2026-12-02T09:58:41Z"
START_EPOCH = datetime(2026, 12, 2, 9, 58, 41, tzinfo=UTC).timestamp()

# A Deployment's pod on a dual-stack cluster, trimmed of fields the enricher never reads.
DEPLOYMENT_POD: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {
        "name": "frontend-7d9f8b6c5-x2x4z",
        "generateName": "frontend-7d9f8b6c5-",
        "namespace": "shop",
        "uid": "3f0c1a52-8d0e-4c39-9d7e-2b3a1c0f9e11",
        "resourceVersion": "48213",
        "creationTimestamp": "2026-12-02T09:58:40Z",
        "labels": {
            "app.kubernetes.io/name": "frontend",
            "pod-template-hash": "7d9f8b6c5",
        },
        "ownerReferences": [
            {
                "apiVersion": "apps/v1",
                "kind": "ReplicaSet",
                "name": "frontend-7d9f8b6c5",
                "uid": "a1b2c3d4-0000-4000-8000-000000000001",
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ],
    },
    "spec": {
        "serviceAccountName": "frontend",
        "nodeName": "worker-2",
        "containers": [{"name": "app", "image": "nginx:1.27"}],
    },
    "status": {
        "phase": "Running",
        "hostIP": "172.18.0.3",
        "hostIPs": [{"ip": "172.18.0.3"}],
        "podIP": "10.244.3.17",
        "podIPs": [{"ip": "10.244.3.17"}, {"ip": "fd00:10:244:3::11"}],
        "startTime": START,
    },
}

KUBE_PROXY_POD: dict[str, Any] = {
    "metadata": {
        "name": "kube-proxy-8xk2p",
        "namespace": "kube-system",
        "uid": "0b6f2d0e-1c7a-4c55-a3c1-6c2c8e9b7f01",
        "resourceVersion": "612",
        "ownerReferences": [
            {"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "kube-proxy", "controller": True}
        ],
    },
    "spec": {"hostNetwork": True, "nodeName": "worker-2", "serviceAccountName": "kube-proxy"},
    "status": {"phase": "Running", "podIP": "172.18.0.3", "podIPs": [{"ip": "172.18.0.3"}]},
}

NODE: dict[str, Any] = {
    "metadata": {
        "name": "worker-2",
        "uid": "c7c1e0a4-5b8f-4f1e-9a64-0d7e3f2a9b10",
        "creationTimestamp": "2026-12-01T08:00:00Z",
    },
    "status": {
        "addresses": [
            {"type": "InternalIP", "address": "172.18.0.3"},
            {"type": "InternalIP", "address": "fc00:f853:ccd:e793::3"},
            {"type": "ExternalIP", "address": "203.0.113.7"},
            {"type": "Hostname", "address": "worker-2"},
            {"type": "InternalDNS", "address": "ip-172-18-0-3.ec2.internal"},
            {"type": "InternalIP", "address": "not-an-ip"},
        ]
    },
}


def _replicaset(name: str, deployment: str | None, ns: str = "shop") -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": ns, "uid": f"uid-{name}"}
    if deployment:
        meta["ownerReferences"] = [
            {"apiVersion": "apps/v1", "kind": "Deployment", "name": deployment, "controller": True}
        ]
    return {"metadata": meta, "spec": {"replicas": 2}}


# -- pod_record ----------------------------------------------------------------------------------


def test_a_deployment_pod_on_a_dual_stack_cluster() -> None:
    rec = pod_record(DEPLOYMENT_POD)
    assert rec.ref == PodRef(
        namespace="shop",
        name="frontend-7d9f8b6c5-x2x4z",
        uid="3f0c1a52-8d0e-4c39-9d7e-2b3a1c0f9e11",
        service_account="frontend",
        node="worker-2",
        app="frontend",
        owner_kind="ReplicaSet",
        owner_name="frontend-7d9f8b6c5",
    )
    assert rec.ips == ("10.244.3.17", "fd00:10:244:3::11")
    assert rec.host_network is False
    assert rec.start == START_EPOCH
    assert rec.phase == "Running"
    assert rec.resource_version == "48213"


def test_a_host_network_pod() -> None:
    rec = pod_record(KUBE_PROXY_POD)
    assert rec.host_network is True
    assert rec.ips == ("172.18.0.3",)
    assert (rec.ref.owner_kind, rec.ref.owner_name) == ("DaemonSet", "kube-proxy")
    assert rec.ref.app == ""
    assert rec.start is None


def test_the_controller_owner_wins_over_the_first() -> None:
    pod = copy.deepcopy(DEPLOYMENT_POD)
    pod["metadata"]["ownerReferences"] = [
        {"kind": "ConfigMap", "name": "settings"},
        {"kind": "StatefulSet", "name": "db", "controller": True},
    ]
    assert pod_record(pod).ref.owner_kind == "StatefulSet"
    pod["metadata"]["ownerReferences"] = [
        {"kind": "ConfigMap", "name": "settings", "controller": False},
        {"kind": "Job", "name": "backup"},
    ]
    assert (pod_record(pod).ref.owner_kind, pod_record(pod).ref.owner_name) == (
        "ConfigMap",
        "settings",
    )


def test_a_bare_pod_is_its_own_workload() -> None:
    pod = {
        "metadata": {"name": "probe", "namespace": "default", "uid": "u-probe"},
        "spec": {"serviceAccountName": "default", "nodeName": "worker-1"},
        "status": {"phase": "Pending"},
    }
    rec = pod_record(pod)
    assert (rec.ref.owner_kind, rec.ref.owner_name) == ("Pod", "probe")
    assert rec.ips == ()
    assert rec.start is None


def test_pod_ip_alone_when_pod_ips_is_missing() -> None:
    # API servers before 1.16 and some fake clients only fill status.podIP.
    pod = copy.deepcopy(DEPLOYMENT_POD)
    del pod["status"]["podIPs"]
    assert pod_record(pod).ips == ("10.244.3.17",)
    pod["status"]["podIPs"] = [{"ip": "garbage"}, {}]
    assert pod_record(pod).ips == ("10.244.3.17",)


def test_ipv4_mapped_and_non_canonical_addresses_are_normalised() -> None:
    pod = copy.deepcopy(DEPLOYMENT_POD)
    pod["status"]["podIPs"] = [
        {"ip": "::ffff:10.244.3.17"},
        {"ip": "FD00:10:244:3:0:0:0:11"},
        {"ip": "10.244.3.17"},  # the same address twice counts once
    ]
    assert pod_record(pod).ips == ("10.244.3.17", "fd00:10:244:3::11")


@pytest.mark.parametrize(
    "mangle",
    [
        lambda p: p.update(spec="not a dict"),
        lambda p: p.update(status=["a", "list"]),
        lambda p: p["status"].update(podIPs="10.0.0.1"),
        lambda p: p["status"].update(podIPs=[None, 7, {"ip": 42}]),
        lambda p: p["status"].update(podIP=None, podIPs=None),
        lambda p: p["status"].update(startTime="yesterday"),
        lambda p: p["status"].update(startTime=1700000000),
        lambda p: p["status"].update(phase=3),
        lambda p: p["spec"].update(hostNetwork="true"),
        lambda p: p["spec"].update(serviceAccountName=None, nodeName=["x"]),
        lambda p: p["metadata"].update(labels=["app"]),
        lambda p: p["metadata"].update(labels={"app.kubernetes.io/name": 5}),
        lambda p: p["metadata"].update(ownerReferences={"kind": "ReplicaSet"}),
        lambda p: p["metadata"].update(ownerReferences=[None, {"kind": 1, "name": "x"}]),
        lambda p: p["metadata"].update(resourceVersion=12),
    ],
)
def test_odd_optional_fields_count_as_absent(mangle: Any) -> None:
    pod = copy.deepcopy(DEPLOYMENT_POD)
    mangle(pod)
    rec = pod_record(pod)
    assert rec.ref.uid == "3f0c1a52-8d0e-4c39-9d7e-2b3a1c0f9e11"
    assert isinstance(rec.host_network, bool)
    assert all(isinstance(ip, str) for ip in rec.ips)
    assert rec.start is None or isinstance(rec.start, float)
    assert isinstance(rec.phase, str)
    assert isinstance(rec.ref.owner_kind, str)
    assert isinstance(rec.ref.owner_name, str)
    assert rec.ref.owner_name


@pytest.mark.parametrize(
    "obj",
    [
        {},
        [],
        None,
        "pod",
        {"metadata": None},
        {"metadata": {"name": "a", "namespace": "b"}},  # no uid
        {"metadata": {"name": "a", "uid": "u"}},  # no namespace
        {"metadata": {"namespace": "b", "uid": "u"}},  # no name
        {"metadata": {"name": 1, "namespace": "b", "uid": "u"}},
        {"metadata": {"name": "", "namespace": "b", "uid": "u"}},
    ],
)
def test_a_pod_without_identity_is_a_value_error(obj: Any) -> None:
    with pytest.raises(ValueError, match="pod"):
        pod_record(obj)


def test_strings_are_clipped_to_what_kubernetes_allows() -> None:
    pod = copy.deepcopy(DEPLOYMENT_POD)
    pod["metadata"]["name"] = "n" * 5000
    pod["metadata"]["namespace"] = "s" * 5000
    pod["metadata"]["uid"] = "u" * 5000
    pod["metadata"]["labels"]["app.kubernetes.io/name"] = "a" * 5000
    pod["spec"]["serviceAccountName"] = "x" * 5000
    pod["spec"]["nodeName"] = "w" * 5000
    pod["metadata"]["ownerReferences"][0]["name"] = "o" * 5000
    pod["metadata"]["ownerReferences"][0]["kind"] = "K" * 5000
    ref = pod_record(pod).ref
    assert len(ref.name) == len(ref.namespace) == len(ref.service_account) == 253
    assert len(ref.node) == len(ref.owner_name) == 253
    assert len(ref.app) == len(ref.owner_kind) == 63
    assert len(ref.uid) == 128


def test_a_finished_pod_keeps_its_phase() -> None:
    pod = copy.deepcopy(DEPLOYMENT_POD)
    pod["status"]["phase"] = "Succeeded"
    assert pod_record(pod).phase == "Succeeded"


# -- normalise_ip ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("10.1.2.3", "10.1.2.3"),
        ("::ffff:10.1.2.3", "10.1.2.3"),
        ("::FFFF:10.1.2.3", "10.1.2.3"),
        ("0:0:0:0:0:ffff:a01:203", "10.1.2.3"),
        ("fe80::1%eth0", "fe80::1"),
        ("FD00:0:0:0:0:0:0:1", "fd00::1"),
        ("2001:db8::1", "2001:db8::1"),
        ("::1", "::1"),
        ("10.1.2.256", None),
        ("10.1.2", None),
        ("", None),
        ("worker-2", None),
        (" 10.1.2.3", None),
        ("1" * 100, None),
        ("10.1.2.3/32", None),
    ],
)
def test_normalise_ip(text: str, want: str | None) -> None:
    assert normalise_ip(text) == want


def test_normalise_ip_refuses_what_is_not_text() -> None:
    assert normalise_ip(None) is None  # type: ignore[arg-type]
    assert normalise_ip(b"10.1.2.3") is None  # type: ignore[arg-type]


@given(st.ip_addresses())
def test_normalise_ip_is_idempotent(address: Any) -> None:
    once = normalise_ip(str(address))
    assert once is not None
    assert normalise_ip(once) == once


# -- node_record ----------------------------------------------------------------------------------


def test_node_addresses_are_its_ips_only() -> None:
    rec = node_record(NODE)
    assert rec == NodeRecord(
        name="worker-2",
        addresses=("172.18.0.3", "fc00:f853:ccd:e793::3", "203.0.113.7"),
        uid="c7c1e0a4-5b8f-4f1e-9a64-0d7e3f2a9b10",
        start=datetime(2026, 12, 1, 8, tzinfo=UTC).timestamp(),
    )


@pytest.mark.parametrize(
    "status", [None, {}, {"addresses": None}, {"addresses": "x"}, {"addresses": [1, None]}]
)
def test_a_node_without_usable_addresses(status: Any) -> None:
    rec = node_record({"metadata": {"name": "worker-9"}, "status": status})
    assert (rec.name, rec.addresses, rec.uid, rec.start) == ("worker-9", (), "", None)


@pytest.mark.parametrize("obj", [{}, None, {"metadata": {}}, {"metadata": {"name": 3}}])
def test_a_node_without_a_name_is_a_value_error(obj: Any) -> None:
    with pytest.raises(ValueError, match="node"):
        node_record(obj)


# -- owner_record and Owners ------------------------------------------------------------------


def test_owner_record_of_a_replicaset_and_a_job() -> None:
    rs = owner_record("ReplicaSet", _replicaset("frontend-7d9f8b6c5", "frontend"))
    assert rs == OwnerRecord(
        "shop",
        "frontend-7d9f8b6c5",
        "ReplicaSet",
        "uid-frontend-7d9f8b6c5",
        ("Deployment", "frontend"),
    )
    job = {
        "metadata": {
            "name": "backup-29012345",
            "namespace": "ops",
            "uid": "j1",
            "ownerReferences": [
                {"apiVersion": "batch/v1", "kind": "CronJob", "name": "backup", "controller": True}
            ],
        }
    }
    assert owner_record("Job", job).owner == ("CronJob", "backup")
    assert owner_record("Job", {"metadata": {"name": "once", "namespace": "ops"}}).owner is None


@pytest.mark.parametrize("obj", [{}, {"metadata": {"name": "x"}}, {"metadata": {"namespace": "y"}}])
def test_an_owner_without_identity_is_a_value_error(obj: Any) -> None:
    with pytest.raises(ValueError, match="ReplicaSet"):
        owner_record("ReplicaSet", obj)


def test_owners_resolve_the_usual_chains() -> None:
    owners = Owners()
    owners.upsert(owner_record("ReplicaSet", _replicaset("frontend-7d9f8b6c5", "frontend")))
    owners.upsert(owner_record("ReplicaSet", _replicaset("bare-rs", None)))
    owners.upsert(
        owner_record(
            "Job",
            {
                "metadata": {
                    "name": "backup-29012345",
                    "namespace": "ops",
                    "ownerReferences": [{"kind": "CronJob", "name": "backup", "controller": True}],
                }
            },
        )
    )
    owners.upsert(owner_record("Job", {"metadata": {"name": "migrate", "namespace": "ops"}}))
    assert len(owners) == 4
    assert owners.resolve("shop", "ReplicaSet", "frontend-7d9f8b6c5") == ("Deployment", "frontend")
    assert owners.resolve("ops", "Job", "backup-29012345") == ("CronJob", "backup")
    assert owners.resolve("shop", "ReplicaSet", "bare-rs") == ("ReplicaSet", "bare-rs")
    assert owners.resolve("ops", "Job", "migrate") == ("Job", "migrate")
    # Unknown owners, and kinds that are workloads themselves, are as they are.
    assert owners.resolve("shop", "ReplicaSet", "gone-rs") == ("ReplicaSet", "gone-rs")
    assert owners.resolve("db", "StatefulSet", "postgres") == ("StatefulSet", "postgres")
    assert owners.resolve("kube-system", "DaemonSet", "kube-proxy") == ("DaemonSet", "kube-proxy")
    assert owners.resolve("default", "Pod", "probe") == ("Pod", "probe")
    # Namespaces are separate.
    assert owners.resolve("other", "ReplicaSet", "frontend-7d9f8b6c5") == (
        "ReplicaSet",
        "frontend-7d9f8b6c5",
    )


def test_owners_delete_and_replayed_delete() -> None:
    owners = Owners()
    owners.upsert(owner_record("ReplicaSet", _replicaset("web-1", "web")))
    owners.delete("ReplicaSet", "shop", "web-1")
    owners.delete("ReplicaSet", "shop", "web-1")
    assert len(owners) == 0
    assert owners.resolve("shop", "ReplicaSet", "web-1") == ("ReplicaSet", "web-1")


def test_an_owner_circle_ends() -> None:
    owners = Owners()
    owners.upsert(OwnerRecord("ns", "a", "Job", "", ("Job", "b")))
    owners.upsert(OwnerRecord("ns", "b", "Job", "", ("Job", "a")))
    assert owners.resolve("ns", "Job", "a")[0] == "Job"


def test_owners_relist_forgets_only_the_missing_of_its_kind_and_namespace() -> None:
    owners = Owners()
    for ns in ("shop", "ops"):
        for name in ("a", "b"):
            owners.upsert(owner_record("ReplicaSet", _replicaset(name, f"d-{name}", ns)))
    owners.upsert(OwnerRecord("shop", "j", "Job", "", ("CronJob", "c")))
    owners.begin_relist("ReplicaSet", "shop")
    owners.upsert(owner_record("ReplicaSet", _replicaset("a", "d-a", "shop")))
    assert owners.end_relist("ReplicaSet", "shop") == 1
    assert owners.resolve("shop", "ReplicaSet", "b") == ("ReplicaSet", "b")
    assert owners.resolve("ops", "ReplicaSet", "b") == ("Deployment", "d-b")
    assert owners.resolve("shop", "Job", "j") == ("CronJob", "c")
    # Everywhere: the ones in ops go too.
    owners.begin_relist("ReplicaSet")
    owners.upsert(owner_record("ReplicaSet", _replicaset("a", "d-a", "shop")))
    assert owners.end_relist("ReplicaSet") == 2
    assert len(owners) == 2
    # Without a begin, an end forgets nothing.
    assert owners.end_relist("Job") == 0
    assert len(owners) == 2


def test_owners_are_bounded_oldest_first() -> None:
    owners = Owners(max_entries=3)
    for i in range(5):
        owners.upsert(OwnerRecord("ns", f"rs-{i}", "ReplicaSet", "", ("Deployment", f"d-{i}")))
    assert len(owners) == 3
    assert owners.evicted == 2
    assert owners.resolve("ns", "ReplicaSet", "rs-0") == ("ReplicaSet", "rs-0")
    assert owners.resolve("ns", "ReplicaSet", "rs-4") == ("Deployment", "d-4")
    # An upsert refreshes: rs-2 is now the newest and rs-3 the oldest.
    owners.upsert(OwnerRecord("ns", "rs-2", "ReplicaSet", "", ("Deployment", "d-2")))
    owners.upsert(OwnerRecord("ns", "rs-5", "ReplicaSet", "", ("Deployment", "d-5")))
    assert owners.resolve("ns", "ReplicaSet", "rs-2") == ("Deployment", "d-2")
    assert owners.resolve("ns", "ReplicaSet", "rs-3") == ("ReplicaSet", "rs-3")


# -- LineSplitter: the watch stream's lines ------------------------------------------------------

WATCH_STREAM = b"".join(
    orjson.dumps({"type": kind, "object": obj}) + b"\n"
    for kind, obj in [
        ("ADDED", DEPLOYMENT_POD),
        ("MODIFIED", KUBE_PROXY_POD),
        ("BOOKMARK", {"kind": "Pod", "metadata": {"resourceVersion": "48300"}}),
        ("DELETED", DEPLOYMENT_POD),
    ]
)


def test_a_watch_stream_in_one_chunk_and_byte_by_byte() -> None:
    whole = LineSplitter(1 << 20).feed(WATCH_STREAM)
    assert [orjson.loads(line)["type"] for line in whole] == [
        "ADDED",
        "MODIFIED",
        "BOOKMARK",
        "DELETED",
    ]
    splitter = LineSplitter(1 << 20)
    single = [
        line for i in range(len(WATCH_STREAM)) for line in splitter.feed(WATCH_STREAM[i : i + 1])
    ]
    assert single == whole
    assert splitter.pending == 0


def test_the_tail_waits_and_empty_lines_are_skipped() -> None:
    splitter = LineSplitter(100)
    assert splitter.feed(b'\n\n{"a"') == []
    assert splitter.pending == 4
    assert splitter.feed(b":1}\n\n{") == [b'{"a":1}']
    assert splitter.pending == 1
    assert splitter.feed(b"}\n") == [b"{}"]
    assert splitter.feed(b"") == []
    assert splitter.pending == 0


def test_a_line_past_the_limit_is_refused_however_it_arrives() -> None:
    splitter = LineSplitter(8)
    assert splitter.feed(b"12345678\n") == [b"12345678"]  # exactly the limit is fine
    with pytest.raises(LineTooLong):
        splitter.feed(b"123456789")  # pending, no newline yet
    assert splitter.pending == 0
    with pytest.raises(LineTooLong):
        LineSplitter(8).feed(b"ok\n123456789\n")  # finished within one chunk
    splitter = LineSplitter(8)
    splitter.feed(b"12345")
    with pytest.raises(LineTooLong):
        splitter.feed(b"6789\n")  # finished across chunks


def test_a_stream_without_newlines_stays_bounded() -> None:
    splitter = LineSplitter(1 << 16)
    for _ in range(16):
        splitter.feed(b"x" * 4096)
    assert splitter.pending == 1 << 16
    with pytest.raises(LineTooLong):
        splitter.feed(b"x")
    assert splitter.pending == 0


def _pieces(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({min(c, len(data)) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in itertools.pairwise(points)]


def _split(pieces: list[bytes], limit: int) -> tuple[list[bytes], bool]:
    """The lines, and whether the splitter refused a line on the way."""
    splitter, out = LineSplitter(limit), []
    try:
        for piece in pieces:
            out += splitter.feed(piece)
    except LineTooLong:
        return out, True
    return out, False


@given(
    st.lists(st.binary(max_size=40).map(lambda b: b.replace(b"\n", b"")), max_size=30),
    st.lists(st.integers(0, 2000), max_size=20),
    st.booleans(),
)
def test_any_cut_of_a_stream_gives_the_same_lines(
    lines: list[bytes], cuts: list[int], trailing: bool
) -> None:
    stream = b"\n".join(lines) + (b"\n" if trailing else b"")
    want = [line for line in stream.split(b"\n")[: None if trailing else -1] if line]
    splitter = LineSplitter(64)
    got = [line for piece in _pieces(stream, cuts) for line in splitter.feed(piece)]
    assert got == want
    assert splitter.pending == (0 if trailing or not lines else len(lines[-1]))


@given(st.binary(max_size=300), st.lists(st.integers(0, 300), max_size=10), st.integers(1, 20))
def test_the_limit_does_not_depend_on_the_cut(data: bytes, cuts: list[int], limit: int) -> None:
    whole, whole_refused = _split([data], limit)
    cut, cut_refused = _split(_pieces(data, cuts), limit)
    assert whole_refused == cut_refused
    if not whole_refused:
        assert whole == cut


def _reference_ip(text: str) -> str | None:
    """What ipaddress alone says, the slow way normalise_ip's fast paths must agree with."""
    try:
        address = ipaddress.ip_address(text.partition("%")[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(address)


_octet = st.integers(0, 300).map(str) | st.sampled_from(["00", "01", "007", "1\u0663", "", "x"])
_ip_like = st.one_of(
    st.ip_addresses().map(str),
    st.ip_addresses(v=4).map(lambda a: f"::ffff:{a}"),
    st.ip_addresses(v=4).map(lambda a: f"::FFFF:{a}%eth0"),
    st.lists(_octet, min_size=3, max_size=5).map(".".join),
    st.lists(_octet, min_size=3, max_size=5).map(lambda p: "::ffff:" + ".".join(p)),
    st.text(alphabet="0123456789abcdefABCDEF:.%", max_size=45),
)


@given(_ip_like)
def test_normalise_ip_agrees_with_ipaddress(text: str) -> None:
    assert normalise_ip(text) == _reference_ip(text)
