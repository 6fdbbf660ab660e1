"""The enricher's side of the Kubernetes API: the client configuration, and one reflector per
resource feeding the address history.

Rules this module keeps:

* Configuration is found as every Kubernetes client finds it: in a pod (``KUBERNETES_SERVICE_HOST``
  is set) the service account's token, CA and namespace, with the token re-read as the kubelet
  rotates it; elsewhere the kubeconfig files of ``KUBECONFIG`` (``:``-separated), else
  ``~/.kube/config``, at their current context.
* It only ever lists and watches: pods, and for owner resolution ReplicaSets and Jobs, and nodes
  when asked. Nothing here writes, and no other resource is read, so the ClusterRole the chart
  grants is exactly ``get/list/watch`` on those four.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Mapping
from typing import Any

from kubernetes_asyncio import client, config
from kubernetes_asyncio.config.config_exception import ConfigException

from honeypods.core.settings import ConfigError
from honeypods.enricher.config import EnricherConfig
from honeypods.enricher.history import History
from honeypods.enricher.pods import Owners, node_record, owner_record, pod_record
from honeypods.enricher.watch import ListCall, Reflector


def _kubeconfig() -> str:
    """The kubeconfig path list, or ConfigError when none of its files exists (the client's own
    message for that is about a missing ``current-context``)."""
    path = os.environ.get("KUBECONFIG") or os.path.expanduser("~/.kube/config")
    if not any(os.path.isfile(p) for p in path.split(os.pathsep) if p):
        raise ConfigError(
            f"no kubeconfig at {path} (set KUBECONFIG, or run in a pod with a service account)"
        )
    return path


async def api_client() -> client.ApiClient:
    """A client for the cluster this process runs in, or its kubeconfig's current context.

    Raises:
        ConfigError: no usable configuration was found.
    """
    configuration = client.Configuration()
    try:
        if os.environ.get("KUBERNETES_SERVICE_HOST"):
            config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
        else:
            await config.load_kube_config(
                config_file=_kubeconfig(), client_configuration=configuration
            )
    except (ConfigException, OSError, ValueError, TypeError) as exc:
        raise ConfigError(
            f"no Kubernetes configuration: {exc} (in a pod, the service account; elsewhere, "
            "KUBECONFIG or ~/.kube/config)"
        ) from None
    return client.ApiClient(configuration)


class PodSink:
    """Pods of one namespace (or of all) into the history."""

    def __init__(self, history: History, namespace: str | None) -> None:
        self.history = history
        self.namespace = namespace

    def begin_relist(self) -> None:
        self.history.begin_relist("pods", self.namespace)

    def end_relist(self, now: float) -> None:
        self.history.end_relist("pods", now, self.namespace)

    def upsert(self, obj: Mapping[str, Any], now: float) -> None:
        self.history.upsert_pod(pod_record(obj), now)

    def delete(self, obj: Mapping[str, Any], now: float) -> None:
        self.history.delete_pod(pod_record(obj).ref.uid, now)


class NodeSink:
    """Nodes into the history: their addresses resolve to them."""

    def __init__(self, history: History) -> None:
        self.history = history

    def begin_relist(self) -> None:
        self.history.begin_relist("nodes")

    def end_relist(self, now: float) -> None:
        self.history.end_relist("nodes", now)

    def upsert(self, obj: Mapping[str, Any], now: float) -> None:
        self.history.upsert_node(node_record(obj), now)

    def delete(self, obj: Mapping[str, Any], now: float) -> None:
        self.history.delete_node(node_record(obj).name, now)


class OwnerSink:
    """ReplicaSets or Jobs into the owner map, only for the owner each names."""

    def __init__(self, owners: Owners, kind: str, namespace: str | None) -> None:
        self.owners = owners
        self.kind = kind
        self.namespace = namespace

    def begin_relist(self) -> None:
        self.owners.begin_relist(self.kind, self.namespace)

    def end_relist(self, now: float) -> None:
        self.owners.end_relist(self.kind, self.namespace)

    def upsert(self, obj: Mapping[str, Any], now: float) -> None:
        self.owners.upsert(owner_record(self.kind, obj))

    def delete(self, obj: Mapping[str, Any], now: float) -> None:
        record = owner_record(self.kind, obj)
        self.owners.delete(self.kind, record.namespace, record.name)


def reflectors(
    api: client.ApiClient,
    cfg: EnricherConfig,
    history: History,
    owners: Owners,
    on_synced: Callable[[str], None],
) -> list[Reflector]:
    """One reflector per resource (and per namespace, when namespaced), pods first."""
    core = client.CoreV1Api(api)
    apps = client.AppsV1Api(api)
    batch = client.BatchV1Api(api)
    scopes: list[str | None] = list(cfg.namespaces) or [None]
    out: list[Reflector] = []

    def add(resource: str, call: ListCall, sink: Any) -> None:
        out.append(
            Reflector(resource, call, sink, on_synced=functools.partial(on_synced, resource))
        )

    for ns in scopes:
        suffix = f"/{ns}" if ns else ""
        pods: ListCall = (
            functools.partial(core.list_namespaced_pod, ns)
            if ns
            else core.list_pod_for_all_namespaces
        )
        add(f"pods{suffix}", pods, PodSink(history, ns))
    for ns in scopes:
        suffix = f"/{ns}" if ns else ""
        replicasets: ListCall = (
            functools.partial(apps.list_namespaced_replica_set, ns)
            if ns
            else apps.list_replica_set_for_all_namespaces
        )
        jobs: ListCall = (
            functools.partial(batch.list_namespaced_job, ns)
            if ns
            else batch.list_job_for_all_namespaces
        )
        add(f"replicasets{suffix}", replicasets, OwnerSink(owners, "ReplicaSet", ns))
        add(f"jobs{suffix}", jobs, OwnerSink(owners, "Job", ns))
    if cfg.nodes:
        add("nodes", core.list_node, NodeSink(history))
    return out
