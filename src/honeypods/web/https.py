"""The HTTPS port: sniff the first bytes, start TLS with nginx's settings, record the handshake.

nginx's ``ngx_http_ssl_handshake`` peeks at the first byte: a TLS record starts a handshake, any
other byte is answered as plain HTTP with its 497 page. The decoy does the same, so TLS starts
on a transport that has already read data, which asyncio's public ``start_tls`` cannot do; the
TLS layer comes from ``core.asyncio_shim.start_server_tls`` instead.

The context is nginx's (``make_ssl_context``): its ciphers and versions, its ALPN list and
refusal, its session timeout (through ``core.ssl_shim``); a failed handshake gets OpenSSL's alert
before the close, as from nginx (``core.asyncio_shim.ServerTlsProtocol``).

SNI goes through nginx's server-name callback (``on_sni`` here, on the context's public
``sni_callback``): with ``tls_reject_handshake``, a name that is none of the server names once
read as nginx reads a Host (lower case, no port, no trailing dot), that is no valid host
(``a..b``, ``a/b``), or no SNI at all, is refused with a fatal ``unrecognized_name`` alert, as a
default server with ``ssl_reject_handshake on`` does (``ngx_http_ssl_servername``). OpenSSL's own
checks of the extension (an empty or doubled name) come first, alike in both.

Every handshake, completed or not, is one ``web.tls`` event, a refused name marked
``web.sni_rejected``. The certificate is one from files (a Secret in the chart), one issued by an
internal CA and kept in the state directory (``core.certstore``, for ``make run``), or else a
self-signed one like Debian's snakeoil, made by ``core.tls``: derived from the install's seed, so
a ``docker run`` with HONEYPODS_PERSONA_SEED serves the same certificate after every restart.
"""

from __future__ import annotations

import asyncio
import datetime
import ssl
import warnings
from pathlib import Path
from typing import Any, Final, cast

from honeypods.core import asyncio_shim, certstore, events, ssl_shim, tls
from honeypods.core.guard import Session
from honeypods.core.seed import moment
from honeypods.core.transport import feed
from honeypods.web.config import WebConfig
from honeypods.web.connection import WebConnection
from honeypods.web.http.head import valid_host
from honeypods.web.persona import NginxPersona
from honeypods.web.shared import WebServer

# ngx_http_ssl_module's ALPN list without HTTP/2 (NGX_HTTP_ALPN_PROTOS), in its order of preference.
NGINX_ALPN: Final = ("http/1.1", "http/1.0", "http/0.9")
SESSION_TIMEOUT: Final = (
    300  # nginx ssl_session_timeout 5m: sessions and the tickets' lifetime hint
)
# A seeded snakeoil certificate is dated within this long after the distribution's release.
SNAKEOIL_SPAN: Final = datetime.timedelta(days=548)
HANDSHAKE_TIMEOUT: Final = 60.0  # nginx: the handshake runs under client_header_timeout


class TlsSniffer(asyncio.Protocol):
    """First bytes on the HTTPS port: a TLS handshake starts TLS, anything else is plain HTTP
    (nginx's ngx_http_ssl_handshake peeks at the first byte the same way)."""

    def __init__(self, session: Session, server: WebServer) -> None:
        self.session = session
        self.server = server
        self.transport: asyncio.Transport | None = None
        self.reported = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        transport = self.transport
        if transport is None or not data:
            return
        loop = self.server.loop
        if data[0] in (0x16, 0x80):
            waiter: asyncio.Future[None] = loop.create_future()
            app = WebConnection(
                self.session,
                self.server,
                tls=True,
                on_established=lambda: self._handshake_done(waiter, proto),
            )
            context = cast(ssl.SSLContext, self.server.ssl_context)
            proto = asyncio_shim.start_server_tls(
                transport, app, context, waiter, HANDSHAKE_TIMEOUT
            )
            waiter.add_done_callback(lambda fut: self._handshake_done(fut, proto))
            feed(proto, data)
        else:
            conn = WebConnection(self.session, self.server, plain_on_tls_port=True)
            transport.set_protocol(conn)
            conn.connection_made(transport)
            conn.data_received(data)

    def eof_received(self) -> bool:
        self.session.close("eof")
        return True

    def _handshake_done(self, fut: asyncio.Future[None], proto: asyncio.BaseProtocol) -> None:
        # Called when the application protocol starts (success) or by the waiter (failure).
        if self.reported:
            return
        self.reported = True
        sslobj = asyncio_shim.ssl_object(proto)
        sni, rejected = (
            self.server.sni.pop(id(sslobj), (None, False)) if sslobj is not None else (None, False)
        )
        fields: dict[str, Any] = {}
        if sni:
            fields["tls.client.server_name"] = events.clip_text(sni)
        if rejected:
            fields["web.sni_rejected"] = True
        if fut.done() and (fut.cancelled() or fut.exception() is not None):
            exc = None if fut.cancelled() else fut.exception()
            fields["tls.established"] = False
            fields["web.error"] = events.clip_text(
                type(exc).__name__ + (f": {exc}" if exc else "") if exc else "cancelled"
            )
            self.session.emit("web.tls", fields)
            self.session.close("protocol_error")
            return
        fields["tls.established"] = True
        if sslobj is not None:
            version = sslobj.version()
            cipher = sslobj.cipher()
            if version:
                fields["tls.version"] = version.replace("TLSv", "")
            if cipher:
                fields["tls.cipher"] = cipher[0]
        self.session.emit("web.tls", fields)


def make_ssl_context(
    config: WebConfig,
    sni: dict[int, tuple[str | None, bool]],
    persona: NginxPersona,
    state_dir: str = "",
    seed: str = "",
) -> ssl.SSLContext:
    """Server context with the persona's nginx defaults and the server-name check.

    Args:
        config: the decoy's settings.
        sni: filled by the SNI callback: id of the SSL object -> (name sent, refused).
        persona: the nginx build: its TLS floor, ciphers and ALPN refusal.
        state_dir: where the issued certificate is kept; empty, a snakeoil one.
        seed: the install's seed, which the snakeoil certificate derives from (the same one on
            every start); empty, a fresh one per start.

    Raises:
        OSError: the state directory cannot be written.
    """
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    # The distributions' ssl_protocols list TLSv1 and TLSv1.1 too. Debian's OpenSSL then refuses
    # them later in the handshake (an internal_error alert), not at the version; Ubuntu's refuses
    # them at the version (protocol_version), as the persona's tls_floor says.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx.minimum_version = ssl.TLSVersion[persona.tls_floor]
    ctx.set_ciphers(persona.ciphers)
    # ngx_ssl_create turns renegotiation off; Python leaves it to OpenSSL's default.
    ctx.options |= ssl.OP_NO_RENEGOTIATION
    if persona.alpn_refuse:
        # nginx 1.21.4's ALPN callback refuses a client that offers none of its protocols.
        ssl_shim.set_alpn_or_refuse(ctx, NGINX_ALPN)
    else:
        # Before 1.21.4 nginx answered such a client without ALPN (SSL_TLSEXT_ERR_NOACK), as
        # Python's own selection does.
        ctx.set_alpn_protocols(list(NGINX_ALPN))
    ssl_shim.set_session_timeout(ctx, SESSION_TIMEOUT)
    if config.tls_cert and config.tls_key:
        ctx.load_cert_chain(config.tls_cert, config.tls_key)
    elif state_dir:
        issue = certstore.Issue(
            config.certificate_names(), config.tls_organization, config.tls_days
        )
        tls.load_pem(ctx, certstore.load_or_issue_in_child(Path(state_dir, "web"), issue))
    else:
        # With server names set, the self-signed certificate names them too, after its host name
        # (make-ssl-cert lists the host first), as one made for a configured server_name would.
        sans = config.certificate_names()
        cn = config.tls_common_name
        if config.tls_server_names and cn and " " not in cn:
            sans = tuple(dict.fromkeys((cn, *sans)))
        spec = _certificate(config.tls_common_name, sans, persona, seed)
        tls.load_pem(ctx, tls.make_pem_in_child(spec))
    names = config.server_names() if config.tls_reject_handshake else None

    def on_sni(sslobj: Any, name: str | None, _ctx: ssl.SSLContext) -> int | None:
        # OpenSSL calls this for every ClientHello, with or without the extension.
        host = valid_host(name.encode("ascii")) if name else None
        # Only the default server refuses; without it every name, valid host or not, is served.
        refused = names is not None and (host is None or host.decode("ascii") not in names)
        sni[id(sslobj)] = (name, refused)
        return ssl.ALERT_DESCRIPTION_UNRECOGNIZED_NAME if refused else None

    ctx.sni_callback = on_sni
    return ctx


def _certificate(
    common_name: str, sans: tuple[str, ...], persona: NginxPersona | None = None, seed: str = ""
) -> tls.CertSpec:
    """Debian's make-ssl-cert snakeoil: self-signed, ten years, made when the host was set up.

    Seeded, that day falls in the 18 months after the persona's distribution came out (never
    later than three days ago) and the key is the seed's; otherwise a fresh key made three days
    before start.
    """
    now = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    start = now - datetime.timedelta(days=3)
    if persona is not None and seed:
        made = moment(seed, "web.snakeoil.made", persona.released, SNAKEOIL_SPAN)
        start = min(made, start)
        return tls.CertSpec(common_name, start, 3650, sans, seed=seed, label="web.snakeoil")
    return tls.CertSpec(common_name, start, 3650, sans)


def generate_certificate(common_name: str, sans: tuple[str, ...]) -> tuple[bytes, bytes]:
    """A self-signed RSA 2048 certificate like Debian's ssl-cert snakeoil: (cert PEM, key PEM)."""
    return tls.split_pem(tls.make_pem(_certificate(common_name, sans)))
