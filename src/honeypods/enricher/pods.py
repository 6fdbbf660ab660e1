"""Raw Kubernetes objects (the JSON kube-apiserver sends) into the few fields attribution needs.

Rules this module keeps:

* Sans-IO: plain dicts in, frozen records out. No asyncio, no client models, nothing from core.
* A pod, ReplicaSet or Job without its identity (``metadata.name``, ``namespace``, and for a pod
  ``uid``) is refused with ``ValueError``, the one exception this module raises; every other field
  is optional, and a field of the wrong type counts as absent, so an odd object never crashes the
  watch loop further on.
* Every string is clipped to the length Kubernetes itself allows (253 for names, 63 for label
  values): these end up in log lines and alert labels.
* Addresses are in one canonical text form (``normalise_ip``), the form history keys on, so the
  address a decoy saw and the one the API lists compare equal.
* ``Owners`` is bounded: it keeps at most ``max_entries`` ReplicaSets and Jobs, the oldest
  forgotten first, and a relist forgets those it no longer shows.
"""

from __future__ import annotations

import functools
import ipaddress
import sys
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, Final

NAME_CAP: Final = 253  # DNS subdomain names: pods, nodes, namespaces, owners
LABEL_CAP: Final = 63  # label values, kinds
UID_CAP: Final = 128
SHORT_CAP: Final = 64  # phases, resourceVersions
# A pod has at most one address per family; more than this is not a pod the API would send.
MAX_IPS: Final = 4
MAX_ADDRESSES: Final = 16
# The longest text an address can have (IPv6 with an embedded IPv4 plus a zone id); longer input
# is refused before ipaddress parses it.
_IP_TEXT_CAP: Final = 64

APP_LABEL: Final = "app.kubernetes.io/name"
# Owner kinds whose own owner names the workload a person knows: a Deployment's ReplicaSets and a
# CronJob's Jobs are named with random suffixes.
OWNER_KINDS: Final = ("ReplicaSet", "Job")
_NODE_ADDRESS_TYPES: Final = frozenset({"InternalIP", "ExternalIP"})
_MAX_HOPS: Final = 4


@dataclass(frozen=True, slots=True)
class PodRef:
    """Who a pod is: what an exact attribution reports."""

    namespace: str
    name: str
    uid: str
    service_account: str
    node: str
    app: str
    owner_kind: str
    owner_name: str


@dataclass(frozen=True, slots=True)
class PodRecord:
    """One pod as the history needs it."""

    ref: PodRef
    ips: tuple[str, ...]
    host_network: bool
    start: float | None
    phase: str
    resource_version: str


@dataclass(frozen=True, slots=True)
class OwnerRecord:
    """A ReplicaSet or Job, with the controller that owns it (if any)."""

    namespace: str
    name: str
    kind: str
    uid: str
    owner: tuple[str, str] | None


@dataclass(frozen=True, slots=True)
class NodeRecord:
    """A node and the addresses that are its own."""

    name: str
    addresses: tuple[str, ...]
    uid: str
    # metadata.creationTimestamp: a node first seen by this process has held its addresses since.
    start: float | None = None


def normalise_ip(text: str) -> str | None:
    """The canonical text of an address, or None when it is not one.

    IPv4-mapped IPv6 (``::ffff:10.1.2.3``, what a socket bound to ``::`` reports for an IPv4 peer)
    becomes the IPv4 address, and a zone id (``fe80::1%eth0``) is dropped, since the API lists
    neither form.
    """
    if not isinstance(text, str) or not text or len(text) > _IP_TEXT_CAP:
        return None
    # Dotted IPv4, bare or mapped, is nearly every address seen; ipaddress takes ~10 us for it.
    if _canonical_ipv4(text):
        return text
    if text[:7].lower() == "::ffff:" and _canonical_ipv4(text[7:]):
        return text[7:]
    return _parse_ip(text)


def _canonical_ipv4(text: str) -> bool:
    """Whether ``text`` is IPv4 in the one form ipaddress writes (no leading zeros)."""
    parts = text.split(".")
    if len(parts) != 4:
        return False
    for part in parts:
        if not (part.isascii() and part.isdigit()) or len(part) > 3:
            return False
        if (len(part) > 1 and part[0] == "0") or int(part) > 255:
            return False
    return True


# A pod's MODIFIED events repeat its addresses; IPv6 parsing is slow enough to be worth a cache.
@functools.lru_cache(maxsize=4096)
def _parse_ip(text: str) -> str | None:
    try:
        address = ipaddress.ip_address(text.partition("%")[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(address)


_EMPTY: Final[Mapping[str, Any]] = MappingProxyType({})


def _map(value: Any) -> Mapping[str, Any]:
    if type(value) is dict:  # what orjson builds; the Mapping check is a slow ABC call
        return value
    return value if isinstance(value, Mapping) else _EMPTY


def _str(value: Any, cap: int) -> str:
    return value[:cap] if isinstance(value, str) else ""


def _shared(value: Any, cap: int) -> str:
    # Values repeated across pods (namespaces, nodes, owners, service accounts) are interned:
    # with 50,000 pods each would otherwise be held once per pod.
    return sys.intern(value[:cap]) if isinstance(value, str) else ""


def _timestamp(value: Any) -> float | None:
    if not isinstance(value, str) or not value or len(value) > SHORT_CAP:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return None
    if when.tzinfo is None:  # the API always writes UTC with Z; anything else is taken as UTC
        when = when.replace(tzinfo=UTC)
    return when.timestamp()


def _controller(metadata: Mapping[str, Any]) -> tuple[str, str] | None:
    """The ownerReference with ``controller: true``, else the first usable one."""
    refs = metadata.get("ownerReferences")
    if not isinstance(refs, list):
        return None
    first: tuple[str, str] | None = None
    for entry in refs:
        ref = _map(entry)
        kind, name = _shared(ref.get("kind"), LABEL_CAP), _shared(ref.get("name"), NAME_CAP)
        if not kind or not name:
            continue
        if ref.get("controller") is True:
            return kind, name
        if first is None:
            first = kind, name
    return first


def _identity(obj: Any, what: str, *, uid: bool) -> tuple[Mapping[str, Any], str, str, str]:
    # Anything that is not an object, or lacks metadata, lacks the identity too.
    metadata = _map(_map(obj).get("metadata"))
    namespace = _shared(metadata.get("namespace"), NAME_CAP)
    name = _str(metadata.get("name"), NAME_CAP)
    object_uid = _str(metadata.get("uid"), UID_CAP)
    if not namespace or not name or (uid and not object_uid):
        needed = "metadata.name, namespace and uid" if uid else "metadata.name and namespace"
        raise ValueError(f"{what}: no {needed}")
    return metadata, namespace, name, object_uid


def _addresses(values: Any, key: str, cap: int, types: frozenset[str] | None = None) -> list[str]:
    out: list[str] = []
    if not isinstance(values, list):
        return out
    for entry in values:
        if len(out) >= cap:
            break
        fields = _map(entry)
        if types is not None and fields.get("type") not in types:
            continue
        ip = normalise_ip(fields.get(key, ""))
        if ip is not None and ip not in out:
            out.append(ip)
    return out


def pod_record(obj: Mapping[str, Any]) -> PodRecord:
    """A pod object (from a list, or a watch event's ``object``) as a record.

    Raises:
        ValueError: the object has no metadata.uid, name or namespace.
    """
    metadata, namespace, name, uid = _identity(obj, "pod", uid=True)
    spec, status = _map(obj.get("spec")), _map(obj.get("status"))
    owner = _controller(metadata) or ("Pod", name)
    ref = PodRef(
        namespace=namespace,
        name=name,
        uid=uid,
        service_account=_shared(spec.get("serviceAccountName"), NAME_CAP),
        node=_shared(spec.get("nodeName"), NAME_CAP),
        app=_shared(_map(metadata.get("labels")).get(APP_LABEL), LABEL_CAP),
        owner_kind=owner[0],
        owner_name=owner[1],
    )
    ips = _addresses(status.get("podIPs"), "ip", MAX_IPS)
    if not ips:
        single = normalise_ip(status.get("podIP", ""))
        ips = [single] if single is not None else []
    return PodRecord(
        ref=ref,
        ips=tuple(ips),
        host_network=spec.get("hostNetwork") is True,
        start=_timestamp(status.get("startTime")),
        phase=_shared(status.get("phase"), SHORT_CAP),
        resource_version=_str(metadata.get("resourceVersion"), SHORT_CAP),
    )


def owner_record(kind: str, obj: Mapping[str, Any]) -> OwnerRecord:
    """A ReplicaSet or Job object as a record; ``kind`` says which (the list does not).

    Raises:
        ValueError: the object has no metadata.name or namespace.
    """
    metadata, namespace, name, uid = _identity(obj, kind, uid=False)
    return OwnerRecord(namespace, name, _shared(kind, LABEL_CAP), uid, _controller(metadata))


def node_record(obj: Mapping[str, Any]) -> NodeRecord:
    """A node object as a record: its InternalIP and ExternalIP addresses, canonical.

    Raises:
        ValueError: the object has no metadata.name.
    """
    metadata = _map(_map(obj).get("metadata"))
    name = _shared(metadata.get("name"), NAME_CAP)  # the same string as the pods' spec.nodeName
    if not name:
        raise ValueError("node: no metadata.name")
    addresses = _addresses(
        _map(obj.get("status")).get("addresses"), "address", MAX_ADDRESSES, _NODE_ADDRESS_TYPES
    )
    return NodeRecord(
        name=name,
        addresses=tuple(addresses),
        uid=_str(metadata.get("uid"), UID_CAP),
        start=_timestamp(metadata.get("creationTimestamp")),
    )


class Owners:
    """ReplicaSets and Jobs, each mapped to its own controller, to name a pod's workload.

    Only the owner is kept, not the object. Entries are in upsert order; beyond ``max_entries``
    the least recently upserted goes first.
    """

    def __init__(self, max_entries: int = 200_000) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.max_entries = max_entries
        # (kind, namespace, name) -> (owner, generation of its last upsert)
        self._entries: OrderedDict[tuple[str, str, str], tuple[tuple[str, str] | None, int]] = (
            OrderedDict()
        )
        self._generation = 0
        self._marks: dict[tuple[str, str | None], int] = {}
        self.evicted = 0

    def __len__(self) -> int:
        return len(self._entries)

    def upsert(self, rec: OwnerRecord) -> None:
        """Remember (or refresh) one ReplicaSet or Job."""
        key = (rec.kind, rec.namespace, rec.name)
        entries = self._entries
        entries[key] = (rec.owner, self._generation)
        entries.move_to_end(key)
        while len(entries) > self.max_entries:
            entries.popitem(last=False)
            self.evicted += 1

    def delete(self, kind: str, namespace: str, name: str) -> None:
        """Forget one; unknown ones are ignored (a replayed DELETED)."""
        self._entries.pop((kind, namespace, name), None)

    def resolve(self, namespace: str, kind: str, name: str) -> tuple[str, str]:
        """The workload behind a pod's owner: ReplicaSet -> Deployment, Job -> CronJob.

        An owner that is unknown, has no controller, or is of another kind (StatefulSet,
        DaemonSet, ...) is the workload itself.
        """
        # Bounded hops: ownerReferences could, in a broken cluster, form a circle.
        for _ in range(_MAX_HOPS):
            if kind not in OWNER_KINDS:
                break
            entry = self._entries.get((kind, namespace, name))
            if entry is None or entry[0] is None:
                break
            kind, name = entry[0]
        return kind, name

    def begin_relist(self, kind: str, namespace: str | None = None) -> None:
        """Mark the start of a list of ``kind`` (in ``namespace``, or everywhere)."""
        self._generation += 1
        self._marks[(kind, namespace)] = self._generation

    def end_relist(self, kind: str, namespace: str | None = None) -> int:
        """Forget every ``kind`` (in ``namespace``) not upserted since ``begin_relist``.

        Returns:
            How many were forgotten; 0 without a matching ``begin_relist``.
        """
        mark = self._marks.pop((kind, namespace), None)
        if mark is None:
            return 0
        stale = [
            key
            for key, (_owner, generation) in self._entries.items()
            if generation < mark and key[0] == kind and (namespace is None or key[1] == namespace)
        ]
        for key in stale:
            del self._entries[key]
        return len(stale)
