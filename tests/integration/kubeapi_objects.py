"""Real-looking Pods, ReplicaSets, Jobs and Nodes for tests/integration/kubeapi.py.

Each builder returns the object as ``kubectl get -o json`` shows it (with ``kind`` and
``apiVersion``), minus ``resourceVersion``, which the harness sets when the object is stored. The
fields are the ones a real kube-apiserver fills in, defaults included, so that a client that
deserialises them into models (kubernetes_asyncio) meets what it would meet in a cluster.

Owner uids: ``owner=(kind, name)`` makes a reference whose uid is ``stable_uid(kind, namespace,
name)``, and ``replicaset()``/``job()``/``node()`` give their object that same uid unless told
otherwise, so a pod built with ``owner=("ReplicaSet", "web-5d8f")`` points at the ReplicaSet built
as ``replicaset(ns, "web-5d8f")`` without the test carrying uids around. A recreated owner (same
name, new object) takes ``uid=`` explicitly, as in a cluster. Pods always get a fresh uuid4.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

# Owner kinds whose apiVersion is not v1; the rest of what an ownerReference can name is core.
_GROUPS = {
    "Deployment": "apps/v1",
    "ReplicaSet": "apps/v1",
    "StatefulSet": "apps/v1",
    "DaemonSet": "apps/v1",
    "Job": "batch/v1",
    "CronJob": "batch/v1",
}

Owner = tuple[str, str] | tuple[str, str, str]


_clock: list[tuple[int, str]] = [(0, "")]


def timestamp(when: datetime | str | None = None) -> str:
    """RFC 3339 in UTC with a ``Z`` and whole seconds, as the API serialises ``metav1.Time``."""
    if isinstance(when, str):
        return when
    if when is None:
        # "now" is the same string for a whole second; strftime per field was most of the cost
        # of building 50,000 pods
        second = int(time.time())
        if _clock[0][0] != second:
            _clock[0] = (second, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(second)))
        return _clock[0][1]
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def stable_uid(kind: str, namespace: str | None, name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"kubeapi:{kind}/{namespace or ''}/{name}"))


def owner_reference(namespace: str | None, owner: Owner) -> dict[str, Any]:
    kind, name = owner[0], owner[1]
    uid = owner[2] if len(owner) == 3 else stable_uid(kind, namespace, name)
    return {
        "apiVersion": _GROUPS.get(kind, "v1"),
        "kind": kind,
        "name": name,
        "uid": uid,
        "controller": True,
        "blockOwnerDeletion": True,
    }


def _metadata(
    namespace: str | None,
    *,
    name: str,
    uid: str,
    labels: Mapping[str, str] | None,
    owner: Owner | None,
    created: str | None = None,
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if namespace is not None:
        meta["namespace"] = namespace
    meta["uid"] = uid
    meta["creationTimestamp"] = created or timestamp()
    if labels:
        meta["labels"] = dict(labels)
    if owner is not None:
        meta["ownerReferences"] = [owner_reference(namespace, owner)]
    return meta


def _container(image: str) -> dict[str, Any]:
    return {
        "name": "app",
        "image": image,
        "resources": {},
        "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "File",
        "imagePullPolicy": "IfNotPresent",
    }


def pod(
    namespace: str,
    name: str,
    *,
    ip: str | None = None,
    ips: Sequence[str] | None = None,
    node: str = "node-1",
    host_ip: str = "10.0.0.5",
    host_network: bool = False,
    owner: Owner | None = None,
    labels: Mapping[str, str] | None = None,
    phase: str = "Running",
    start_time: datetime | str | None = None,
    service_account: str = "default",
    image: str = "registry.example/app:1.0",
) -> dict[str, Any]:
    """A scheduled pod. ``ips`` is ``status.podIPs`` (IPv4 and IPv6), ``ip`` the first of them.

    A host-network pod's addresses are its node's (``host_ip``) unless given. A ``Pending`` pod
    with no address given has no ``podIP``, ``podIPs`` or ``startTime``: its sandbox is not up.
    """
    now, started = timestamp(), timestamp(start_time)
    addresses = list(ips) if ips is not None else ([ip] if ip else [])
    if ip and ip not in addresses:
        addresses.insert(0, ip)
    if host_network and not addresses:
        addresses = [host_ip]
    spec: dict[str, Any] = {
        "containers": [_container(image)],
        "restartPolicy": "Never" if owner and owner[0] == "Job" else "Always",
        "terminationGracePeriodSeconds": 30,
        "dnsPolicy": "ClusterFirstWithHostNet" if host_network else "ClusterFirst",
        "serviceAccountName": service_account,
        "serviceAccount": service_account,
        "nodeName": node,
    }
    if host_network:
        spec["hostNetwork"] = True  # the API omits false booleans that default to false
    spec |= {
        "securityContext": {},
        "schedulerName": "default-scheduler",
        "tolerations": [
            {"key": f"node.kubernetes.io/{t}", "operator": "Exists", "effect": "NoExecute",
             "tolerationSeconds": 300}
            for t in ("not-ready", "unreachable")
        ],
        "priority": 0,
        "enableServiceLinks": True,
        "preemptionPolicy": "PreemptLowerPriority",
    }  # fmt: skip
    running = phase == "Running"
    status: dict[str, Any] = {
        "phase": phase,
        "conditions": [
            {"type": t, "status": "True" if running or t == "PodScheduled" else "False",
             "lastProbeTime": None, "lastTransitionTime": now}
            for t in ("Initialized", "Ready", "ContainersReady", "PodScheduled")
        ],
        "hostIP": host_ip,
        "hostIPs": [{"ip": host_ip}],
    }  # fmt: skip
    if addresses:
        status["podIP"] = addresses[0]
        status["podIPs"] = [{"ip": a} for a in addresses]
    if addresses or phase != "Pending":
        status["startTime"] = started
    status["containerStatuses"] = [
        {
            "name": "app",
            "state": {"running": {"startedAt": started}} if running else {},
            "lastState": {},
            "ready": running,
            "restartCount": 0,
            "image": image,
            "imageID": "",
            "started": running,
        }
    ]
    status["qosClass"] = "BestEffort"
    return {
        "kind": "Pod",
        "apiVersion": "v1",
        "metadata": _metadata(
            namespace, name=name, uid=str(uuid.uuid4()), labels=labels, owner=owner, created=now
        ),
        "spec": spec,
        "status": status,
    }


def _template(labels: Mapping[str, str], image: str) -> dict[str, Any]:
    return {
        "metadata": {"creationTimestamp": None, "labels": dict(labels)},
        "spec": {"containers": [_container(image)], "restartPolicy": "Always"},
    }


def replicaset(
    namespace: str,
    name: str,
    *,
    owner: Owner | None = None,
    replicas: int = 1,
    uid: str | None = None,
    labels: Mapping[str, str] | None = None,
    image: str = "registry.example/app:1.0",
) -> dict[str, Any]:
    """A ReplicaSet, usually with ``owner=("Deployment", name)`` as a Deployment makes it."""
    labels = dict(labels or {"app.kubernetes.io/name": name})
    uid = uid or stable_uid("ReplicaSet", namespace, name)
    return {
        "kind": "ReplicaSet",
        "apiVersion": "apps/v1",
        "metadata": _metadata(namespace, name=name, uid=uid, labels=labels, owner=owner),
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": _template(labels, image),
        },
        "status": {"replicas": replicas, "readyReplicas": replicas, "observedGeneration": 1},
    }


def job(
    namespace: str,
    name: str,
    *,
    owner: Owner | None = None,
    uid: str | None = None,
    labels: Mapping[str, str] | None = None,
    image: str = "registry.example/app:1.0",
) -> dict[str, Any]:
    """A Job, with ``owner=("CronJob", name)`` when a CronJob made it."""
    uid = uid or stable_uid("Job", namespace, name)
    selector = {"batch.kubernetes.io/controller-uid": uid}
    template = _template({**selector, "batch.kubernetes.io/job-name": name}, image)
    template["spec"]["restartPolicy"] = "Never"
    return {
        "kind": "Job",
        "apiVersion": "batch/v1",
        "metadata": _metadata(namespace, name=name, uid=uid, labels=labels, owner=owner),
        "spec": {
            "parallelism": 1,
            "completions": 1,
            "backoffLimit": 6,
            "selector": {"matchLabels": selector},
            "manualSelector": False,
            "template": template,
            "completionMode": "NonIndexed",
            "suspend": False,
        },
        "status": {"startTime": timestamp(), "active": 1, "ready": 0},
    }


def node(
    name: str,
    *,
    addresses: Sequence[tuple[str, str]] = (("InternalIP", "10.0.0.5"),),
    uid: str | None = None,
    labels: Mapping[str, str] | None = None,
    pod_cidrs: Sequence[str] = (),
) -> dict[str, Any]:
    """A Ready node; ``addresses`` are (type, address) pairs, a ``Hostname`` entry is added."""
    uid = uid or stable_uid("Node", None, name)
    labels = {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", **(labels or {})}
    spec: dict[str, Any] = {}
    if pod_cidrs:
        spec = {"podCIDR": pod_cidrs[0], "podCIDRs": list(pod_cidrs)}
    listed = [{"type": t, "address": a} for t, a in addresses]
    if not any(t == "Hostname" for t, _ in addresses):
        listed.append({"type": "Hostname", "address": name})
    return {
        "kind": "Node",
        "apiVersion": "v1",
        "metadata": _metadata(None, name=name, uid=uid, labels=labels, owner=None),
        "spec": spec,
        "status": {
            "conditions": [
                {"type": "Ready", "status": "True", "reason": "KubeletReady",
                 "message": "kubelet is posting ready status",
                 "lastHeartbeatTime": timestamp(), "lastTransitionTime": timestamp()}
            ],
            "addresses": listed,
            "nodeInfo": {
                "machineID": "", "systemUUID": "", "bootID": "", "kernelVersion": "6.1.0",
                "osImage": "Debian GNU/Linux 12", "containerRuntimeVersion": "containerd://1.7.0",
                "kubeletVersion": "v1.31.0", "kubeProxyVersion": "v1.31.0",
                "operatingSystem": "linux", "architecture": "amd64",
            },
        },
    }  # fmt: skip
