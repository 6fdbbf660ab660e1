"""The event catalogue: every event id, its kind and its fields, and the tables emit checks against.

Rules this module keeps:

* Every event id is here. Core's own (``session.*`` lifecycle, ``honeypods.*`` diagnostics) are
  below; each decoy adds its own through ``register``, which its registry entry calls, so an id is
  known as soon as anything of the decoy is imported.
* An uncatalogued id, or a field its entry does not declare, is a programming error: ``emit``
  raises ``KeyError``/``ValueError`` at the call site, so tests catch drift.
* A decoy's ids start with its name, or with a name of its own parts (the port-scan decoy's packet
  sensor writes ``sensor.*``); two decoys never register the same id.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

# Bump on any change a consumer could notice: a renamed or removed field, a changed type.
# Adding an event id or an optional field does not bump it.
SCHEMA_VERSION: Final = "1"

# JSON Schema fragments for field declarations.
STR: Final[Mapping[str, Any]] = {"type": "string"}
INT: Final[Mapping[str, Any]] = {"type": "integer"}
NUM: Final[Mapping[str, Any]] = {"type": "number"}
BOOL: Final[Mapping[str, Any]] = {"type": "boolean"}
STRS: Final[Mapping[str, Any]] = {"type": "array", "items": {"type": "string"}}
INTS: Final[Mapping[str, Any]] = {"type": "array", "items": {"type": "integer"}}
PAIRS: Final[Mapping[str, Any]] = {
    "type": "array",
    "items": {"type": "array", "items": {"type": "string"}, "minItems": 2, "maxItems": 2},
}
OBJ: Final[Mapping[str, Any]] = {"type": "object", "additionalProperties": {"type": "string"}}


@dataclass(frozen=True)
class EventSpec:
    """One catalogue entry.

    Args:
        kind: ECS ``event.kind``: ``alert`` for attacker interactions, ``state``/``event`` else.
        doc: one sentence for docs/events.md.
        fields: dotted field name -> (JSON Schema fragment, description).
        required: dotted field names that every instance carries.
        connection: whether the event carries the session's source/destination fields.
    """

    kind: str
    doc: str
    fields: Mapping[str, tuple[Mapping[str, Any], str]] = field(default_factory=dict)
    required: tuple[str, ...] = ()
    connection: bool = True


# Fields on every event. Filled in by the emit helper, never by decoys.
BASE_FIELDS: Final[Mapping[str, tuple[Mapping[str, Any], str]]] = {
    "@timestamp": (STR, "RFC 3339 UTC time with microseconds and `Z`."),
    "log.level": (STR, "`info` for events, `warning`/`error` for diagnostics."),
    "event.action": (STR, "The catalogue id of this event."),
    "event.kind": (STR, "`alert` for attacker interactions, `state` or `event` for diagnostics."),
    "event.dataset": (STR, "`honeypods.<decoy>`."),
    "honeypod.decoy": (
        STR,
        "`portscan`, `web`, `mysql`, `ssh`, `enricher`, or `runner` for the process.",
    ),
    "honeypod.schema": (STR, "Version of this schema."),
    "host.name": (STR, "Pod or host name (`HONEYPODS_HOST_NAME`, else the hostname)."),
    "rule.name": (STR, "Alert this event maps to (`honeypod.*`); on alert events only."),
    "honeypod.oversize": (BOOL, "Set when the line hit the size cap and fields were dropped."),
}

# Fields on events tied to one connection. Taken from the socket, never from attacker data, or
# from the PROXY protocol header of a load balancer the decoy was told to trust.
CONNECTION_FIELDS: Final[Mapping[str, tuple[Mapping[str, Any], str]]] = {
    "honeypod.session": (STR, "Random id of the connection, shared by all its events."),
    "source.ip": (
        STR,
        "Peer address as the socket reports it; behind a trusted load balancer, the client's "
        "address from its PROXY protocol header.",
    ),
    "source.port": (INT, "Peer port (the client's, from the header, behind a load balancer)."),
    "source.nat.ip": (
        STR,
        "Behind a trusted load balancer only: its address, the peer of the socket (ECS: the "
        "translated source of a connection through a load balancer).",
    ),
    "source.nat.port": (INT, "The load balancer's port, with `source.nat.ip`."),
    "destination.ip": (STR, "Local address the peer connected to."),
    "destination.port": (INT, "Local port the peer connected to."),
    "network.transport": (STR, "`tcp` (or `icmp` for the packet sensor)."),
}

# Fields the enricher adds to events that carry a source.ip: which Kubernetes workload held that
# address at the event's time. From the cluster's API, never from attacker data.
ENRICHMENT_FIELDS: Final[Mapping[str, tuple[Mapping[str, Any], str]]] = {
    "source.kubernetes.attribution": (
        {"type": "string", "enum": ["exact", "ambiguous", "node", "none"]},
        "`exact`: one pod held `source.ip` at `@timestamp`; `ambiguous`: several did "
        "(see `candidates`); `node`: a node or host-network address; `none`: nothing known did.",
    ),
    "source.kubernetes.namespace": (STR, "Namespace of the pod (exact only)."),
    "source.kubernetes.pod.name": (STR, "Name of the pod."),
    "source.kubernetes.pod.uid": (STR, "UID of the pod, unique even when a name is reused."),
    "source.kubernetes.service_account": (STR, "The pod's service account."),
    "source.kubernetes.node.name": (STR, "Node the pod ran on, or the node the address is of."),
    "source.kubernetes.workload.kind": (
        STR,
        "The pod's owner through ownerReferences (ReplicaSet -> Deployment, Job -> CronJob); "
        "`Pod` for a pod with no owner.",
    ),
    "source.kubernetes.workload.name": (STR, "Name of that owner (the pod's own, for `Pod`)."),
    "source.kubernetes.app": (STR, "The pod's `app.kubernetes.io/name` label, when set."),
    "source.kubernetes.candidates": (
        STRS,
        "`namespace/name` of the pods whose spans overlap (ambiguous only; at most 10).",
    ),
}

_CLOSE_REASONS = (
    "eof",
    "idle_timeout",
    "deadline",
    "over_capacity",
    "limit",
    "protocol_error",
    "server_error",
    "shutdown",
    "policy",
)

_PROXY_PROBLEMS = ("not_a_header", "malformed", "too_long", "truncated", "timeout")
_PROXY_FIELDS: Final[Mapping[str, tuple[Mapping[str, Any], str]]] = {
    "honeypod.proxy.version": ({"type": "integer", "enum": [1, 2]}, "Header version."),
    "honeypod.proxy.command": (
        {"type": "string", "enum": ["PROXY", "LOCAL"]},
        "`PROXY` relays a client; `LOCAL` is the proxy's own connection (a health check).",
    ),
    "honeypod.proxy.source.ip": (STR, "Client address the header claims."),
    "honeypod.proxy.source.port": (INT, "Client port the header claims."),
    "honeypod.proxy.destination.ip": (STR, "Destination address the header claims."),
    "honeypod.proxy.destination.port": (INT, "Destination port the header claims."),
    "honeypod.proxy.problem": (
        {"type": "string", "enum": list(_PROXY_PROBLEMS)},
        "What was wrong: no header signature, a malformed or too long header, the peer closed "
        "within it, or it did not arrive in `HONEYPODS_<DECOY>_PROXY_TIMEOUT` seconds.",
    ),
    "honeypod.proxy.header_hex": (STR, "The bytes read as the header, hex (at most 256)."),
    "error.message": (STR, "Which rule of the PROXY protocol the header broke."),
}

CORE: Final[Mapping[str, EventSpec]] = {
    # -- Session lifecycle, emitted by guard.py for every decoy ------------------------------------
    "session.connect": EventSpec(
        "alert",
        "A TCP connection was accepted. Emitted before any check, so every connection is logged.",
        {
            "honeypod.active": (INT, "Connections open on this decoy, this one included."),
        },
        required=("honeypod.active",),
    ),
    "session.closed": EventSpec(
        "alert",
        "A connection ended, on every path. `event.reason` says why.",
        {
            "event.reason": ({"type": "string", "enum": list(_CLOSE_REASONS)}, "Why it ended."),
            "event.duration": (INT, "Connection lifetime in nanoseconds (ECS convention)."),
            "source.bytes": (INT, "Bytes received from the peer."),
            "destination.bytes": (INT, "Bytes sent to the peer."),
        },
        required=("event.reason", "event.duration", "source.bytes", "destination.bytes"),
    ),
    # -- PROXY protocol, emitted by proxied.py for decoys behind a load balancer -------------------
    "proxy.untrusted": EventSpec(
        "alert",
        "A peer outside the trusted load balancers sent a PROXY protocol header, claiming another "
        "address: the connection is closed. `source.*` is the peer itself.",
        _PROXY_FIELDS,
        required=("honeypod.proxy.version",),
    ),
    "proxy.invalid": EventSpec(
        "alert",
        "A trusted load balancer's connection did not start with a valid PROXY protocol header "
        "in time: the connection is closed. `source.*` is the load balancer.",
        {
            k: v
            for k, v in _PROXY_FIELDS.items()
            if k in ("honeypod.proxy.problem", "honeypod.proxy.header_hex", "error.message")
        },
        required=("honeypod.proxy.problem",),
    ),
    # -- Honeytokens, emitted by any decoy a planted credential is used on (core/honeytokens.py) --
    "honeytoken.used": EventSpec(
        "alert",
        "A credential this install planted was used: nothing legitimate knows it, so whoever "
        "used it found it where it was planted.",
        {
            "honeytoken.name": (
                {"type": "string", "enum": ["db-login", "bastion-login", "api-token"]},
                "Which token: the database (MySQL) login, the bastion (SSH) login or the API "
                "token.",
            ),
            "honeytoken.kind": (
                {"type": "string", "enum": ["mysql_login", "ssh_login", "api_token"]},
                "What the token is.",
            ),
            "honeytoken.placements": (
                STRS,
                "Every place this install planted it: `dashboard:<path>` (the web decoy's "
                "leaked files), `database:<schema.table>` (the MySQL decoy's data), "
                "`secret:<namespace>/<name>` (the chart's decoy Secret).",
            ),
            "honeytoken.used_on": (STR, "The decoy it was used on (`web`, `mysql`, `ssh`)."),
            "honeytoken.secret_read": (
                BOOL,
                "The token is planted only in the Kubernetes Secret: its use proves that "
                "someone read Secrets in the cluster.",
            ),
            "honeytoken.meaning": (STR, "What the use proves, in one sentence."),
            "user.name": (STR, "The username given with it (logins only)."),
        },
        required=(
            "honeytoken.name",
            "honeytoken.kind",
            "honeytoken.placements",
            "honeytoken.used_on",
            "honeytoken.secret_read",
        ),
    ),
    # -- Diagnostics: never alerts ----------------------------------------------------------------
    "honeypods.start": EventSpec(
        "state",
        "A decoy is listening.",
        {
            "honeypod.addresses": (STRS, "host:port pairs it listens on."),
            "service.version": (STR, "Package version."),
            "honeypod.persona_seed": (
                STR,
                "The seed drawn at this start when HONEYPODS_PERSONA_SEED is unset and none is "
                "kept in HONEYPODS_STATE_DIR (decoys whose persona uses one): pin it to keep "
                "the install's identity.",
            ),
        },
        connection=False,
    ),
    "honeypods.stop": EventSpec(
        "state",
        "The process is shutting down; every event before this one is flushed.",
        {"honeypod.signal": (STR, "Signal name, if a signal caused it.")},
        connection=False,
    ),
    "honeypods.config_error": EventSpec(
        "event",
        "Configuration was invalid; the process exits non-zero.",
        {"error.message": (STR, "What is wrong, naming the variable or flag.")},
        connection=False,
    ),
    "honeypods.warning": EventSpec(
        "event",
        "Something an operator should know: a missing capability, generated keys, ...",
        {"error.message": (STR, "What happened and what it means.")},
        connection=False,
    ),
    "honeypods.error": EventSpec(
        "event",
        "An unexpected exception, caught at the guard; the connection is closed.",
        {
            "error.type": (STR, "Exception class."),
            "error.message": (STR, "Exception text (capped)."),
            "error.stack_trace": (STR, "Formatted traceback (capped)."),
        },
        connection=True,
    ),
    "honeypods.log": EventSpec(
        "event",
        "A record from a library's stdlib logger (asyncio, asyncssh, aiohttp), routed here.",
        {
            "log.logger": (STR, "Logger name."),
            "message": (STR, "The formatted record (capped)."),
        },
        connection=False,
    ),
    "honeypods.summary": EventSpec(
        "state",
        "Periodic counts per decoy, including connections refused over capacity.",
        {
            "honeypod.counts": (
                {"type": "object", "additionalProperties": {"type": "integer"}},
                "Counter name -> value since start.",
            ),
        },
        connection=False,
    ),
}


# The whole catalogue, and what emit checks per id; filled from CORE and each decoy's register.
CATALOGUE: Final[dict[str, EventSpec]] = {}
# Which decoy registered each id ("" for core's own).
OWNER: Final[dict[str, str]] = {}
# Fields whose value is itself an object (headers maps, counts): kept whole when flattening.
DICT_FIELDS: Final[set[str]] = set()
# Per id: its own fields, and those plus the shared ones.
OWN: Final[dict[str, frozenset[str]]] = {}
ALLOWED: Final[dict[str, frozenset[str]]] = {}
# Sub-objects many events share: an event that adds a field under one works on a copy.
SHARED_TOPS: Final = frozenset({"log", "host", "rule", "source", "destination", "network"})
WRITES_SHARED: Final[dict[str, tuple[str, ...]]] = {}


def register(owner: str, specs: Mapping[str, EventSpec]) -> None:
    """Add event ids to the catalogue.

    Args:
        owner: the decoy registering them.
        specs: id -> spec.

    Raises:
        ValueError: an id is registered already by someone else.
    """
    for action, spec in specs.items():
        if OWNER.get(action, owner) != owner:
            raise ValueError(f"event {action!r} is registered by {OWNER[action]!r} already")
        CATALOGUE[action] = spec
        OWNER[action] = owner
        OWN[action] = frozenset(spec.fields)
        ALLOWED[action] = OWN[action] | frozenset(CONNECTION_FIELDS) | frozenset(BASE_FIELDS)
        WRITES_SHARED[action] = tuple(sorted({n.split(".")[0] for n in spec.fields} & SHARED_TOPS))
        DICT_FIELDS.update(
            name for name, (schema, _doc) in spec.fields.items() if schema.get("type") == "object"
        )


register("", CORE)


def validate_fields(action: str, fields: Mapping[str, Any], *, own_only: bool = False) -> EventSpec:
    """Check an event against the catalogue.

    Args:
        action: catalogue id.
        fields: the fields given for it.
        own_only: only the event's own fields are allowed (the connection's come from a link).

    Raises:
        KeyError: the action is not catalogued.
        ValueError: a field is not declared for it.
    """
    spec = CATALOGUE[action]
    allowed = (OWN if own_only else ALLOWED)[action]
    if not fields.keys() <= allowed:
        extra = sorted(set(fields) - allowed)
        raise ValueError(f"field {extra[0]!r} is not declared for event {action!r}")
    return spec
