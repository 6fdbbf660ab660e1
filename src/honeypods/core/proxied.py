"""PROXY protocol at the guard: who may send a header, waiting for it, and what a bad one gets.

The policy is HAProxy's ``tcp-request connection expect-proxy layer4 if { src -f trusted }``,
which nginx's ``proxy_protocol`` plus ``set_real_ip_from`` approximates:

1. A peer in the trusted networks (the load balancers) must start with a header. Until it is
   complete nothing of the decoy runs: a decoy that speaks first (the MySQL greeting, the SSH
   banner) waits, and a TLS handshake starts after it. ``session.connect`` waits too, so it and
   every later event carry the client from the header in ``source.*`` and the load balancer in
   ``source.nat.*``; the per-source cap counts the client. ``LOCAL`` and ``UNKNOWN`` headers
   (health checks) keep the socket's addresses.
2. A trusted peer whose first bytes are no valid header, or which does not complete one within
   the timeout, is logged (``session.connect`` with the load balancer's address, then
   ``proxy.invalid``) and closed, as nginx closes on a "broken header". One that closes before
   sending a byte is a TCP health check: logged as a connection, not as a bad header.
3. Any other peer is served exactly as without this feature (in-cluster clients reach a Service
   without passing the load balancer). If its first bytes are a PROXY signature it is claiming
   an address it does not own: ``proxy.untrusted`` records the claim and the connection closes.
   Until the first bytes tell a signature from the protocol's own (at most 12 bytes, and one for
   every client the decoys know: ``G``, ``S``, ``0x16``), they are held back.
"""

from __future__ import annotations

import ipaddress
import math
import time
from typing import TYPE_CHECKING, Any, Final

from honeypods.core import events, proxyproto
from honeypods.core.limits import ProxyProtocol
from honeypods.core.proxyproto import ProtocolError, Sniff

if TYPE_CHECKING:
    from honeypods.core.guard import GuardProtocol
    from honeypods.core.session import Session

# Bytes of a bad header kept in its event: a v1 line is at most 107, a v2 header's fixed part 16.
HEX_CAP: Final = 256


class Policy:
    """A decoy's ``ProxyProtocol`` settings, parsed once.

    Args:
        settings: the decoy's ``HONEYPODS_<DECOY>_PROXY_*`` settings, validated.
        max_v2: the largest v2 header accepted, in bytes.
    """

    def __init__(self, settings: ProxyProtocol, max_v2: int = proxyproto.V2_MAX) -> None:
        self.networks = tuple(ipaddress.ip_network(item) for item in settings.trusted)
        self.timeout = settings.timeout
        self.max_v2 = max_v2

    def trusts(self, host: str) -> bool:
        """Whether ``host``, a peer address, is one of the trusted load balancers."""
        try:
            ip: Any = ipaddress.ip_address(host)
        except ValueError:
            return False
        if ip.version == 6 and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped  # a dual-stack socket names IPv4 peers ::ffff:a.b.c.d
        return any(ip in network for network in self.networks)


class Gate:
    """The PROXY header of one connection: read from a trusted peer, refused from another.

    The guard hands it every byte until it is done (``proto.gate`` is None again); ``receive``
    returns what the decoy gets of them.
    """

    __slots__ = ("buf", "policy", "proto", "session", "trusted")

    def __init__(
        self, policy: Policy, proto: GuardProtocol, session: Session, *, admissible: bool
    ) -> None:
        self.policy = policy
        self.proto = proto
        self.session = session
        self.buf = b""
        # Over capacity or shutting down: admitted at once, to be closed with the reason.
        self.trusted = admissible and policy.trusts(session.peer[0])
        if self.trusted:
            session.expires = time.monotonic() + policy.timeout
            proto.guard.sweep_soon()

    def receive(self, data: bytes) -> bytes:
        """Take ``data`` from the peer; return the bytes that belong to the decoy (maybe none)."""
        self.buf += data
        if self.trusted:
            return self._from_trusted()
        return self._from_other()

    def _from_trusted(self) -> bytes:
        try:
            header = proxyproto.parse(self.buf, max_v2=self.policy.max_v2)
        except ProtocolError as exc:
            self._invalid(exc.problem, exc.detail)
            return b""
        if header is None:
            return b""
        proto = self.proto
        session = self.session
        proto.gate = None
        session.expires = math.inf
        if header.command == "PROXY" and header.source is not None:
            session.proxy = session.peer
            session.peer = header.source
            session.link = events.Link(session.id, header.source, session.local, nat=session.proxy)
            session.rule = proto.guard.rule_for(session)
        rest = self.buf[header.length :]
        self.buf = b""
        proto.admit()
        return rest

    def _from_other(self) -> bytes:
        kind = proxyproto.sniff(self.buf)
        if kind is Sniff.OTHER:
            self.proto.gate = None
            data, self.buf = self.buf, b""
            return data
        if kind is Sniff.UNDECIDED:
            return b""
        session = self.session
        # A claim in progress: bounded in size by the parser, in time by the header timeout.
        session.expires = min(session.expires, time.monotonic() + self.policy.timeout)
        fields: dict[str, Any] = {}
        try:
            header = proxyproto.parse(self.buf, max_v2=self.policy.max_v2)
        except ProtocolError as exc:
            fields["honeypod.proxy.problem"] = exc.problem
            fields["error.message"] = exc.detail
        else:
            if header is None:
                return b""
            fields["honeypod.proxy.command"] = header.command
            for name, where in (("source", header.source), ("destination", header.destination)):
                if where is not None:
                    fields[f"honeypod.proxy.{name}.ip"] = where[0]
                    fields[f"honeypod.proxy.{name}.port"] = where[1]
        fields["honeypod.proxy.version"] = 1 if self.buf.startswith(proxyproto.V1_PREFIX) else 2
        fields["honeypod.proxy.header_hex"] = events.to_hex(self.buf, HEX_CAP)
        self.proto.gate = None
        self.buf = b""
        session.emit("proxy.untrusted", fields)
        session.close("protocol_error")
        return b""

    def _invalid(self, problem: str, detail: str, *, close: bool = True) -> None:
        proto = self.proto
        session = self.session
        proto.gate = None
        proto.announce()
        fields = {
            "honeypod.proxy.problem": problem,
            "honeypod.proxy.header_hex": events.to_hex(self.buf, HEX_CAP),
            "error.message": detail,
        }
        self.buf = b""
        session.emit("proxy.invalid", fields)
        if close:
            session.close("protocol_error")

    def held(self) -> bytes:
        """At the peer's EOF: the bytes an untrusted peer's were held back, which are the
        decoy's. A trusted peer's stay for ``lost``, which follows."""
        if self.trusted:
            return b""
        self.proto.gate = None
        data, self.buf = self.buf, b""
        return data

    def lost(self) -> None:
        """The connection ended while a trusted peer's header was still awaited."""
        if not self.trusted:
            return
        session = self.session
        if session.reason == "idle_timeout":
            self._invalid("timeout", "no complete header within the timeout", close=False)
        elif self.buf:
            self._invalid("truncated", "the peer closed within the header", close=False)
        else:
            self.proto.gate = None
            self.proto.announce()
