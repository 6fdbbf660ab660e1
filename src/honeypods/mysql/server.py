"""MySQL decoy: the asyncio adapter between core's guard, the codec, the login and the persona.

What it answers is decided elsewhere: the login dialogue by ``mysql.auth``, commands by
``mysql.commands`` and the SQL persona, the bytes by ``mysql.codec``. What stays here, as in
uvicorn's ``h11_impl.py``: receive data, loop over ``next_event()``, dispatch by type, write the
replies; TLS (``mysql.tls``); the login deadline; and the events.

* Every attempt is exactly one ``mysql.login`` event, with the scramble and salt in hex for
  offline cracking, and the plaintext password whenever it is known: a scramble matched an
  accepted one, or full authentication revealed it. An attempt the client abandons halfway (it
  disconnects during the dialogue, or breaks the protocol) is logged as a failure when it ends.
* After login, each command is one ``mysql.command`` event. A statement that called SLEEP() or
  BENCHMARK() has its reply held as long as it asked, at most ``max_sleep`` seconds (the event
  records both), so time-based probes see a server that sleeps; what comes after waits behind it.
* A ``ProtocolError`` is answered with the ERR it carries, then the connection closes with
  ``protocol_error``; the guard closes it and catches anything else.

The per-connection protocol is a plain ``asyncio.Protocol``: most contacts are scanners that read
the greeting and leave, and streams would cost a task per connection.
"""

from __future__ import annotations

import asyncio
import math
from typing import Any, Final

from honeypods.core import events, honeytokens
from honeypods.core.guard import Guard, Limits, ProxyProtocol, Running, Session
from honeypods.mysql.auth import AuthState, Login
from honeypods.mysql.codec import (
    NEED_DATA,
    SERVER_CAPABILITIES,
    AuthData,
    Command,
    Connection,
    ConnectionClosed,
    Err,
    Greeting,
    HandshakeResponse,
    LocalProtocolError,
    ProtocolError,
    Reply,
    ResultSet,
    SSLRequest,
)
from honeypods.mysql.codec.constants import CACHING_SHA2, CLIENT_SSL
from honeypods.mysql.commands import COMMAND_NAMES, Commands
from honeypods.mysql.config import MysqlConfig
from honeypods.mysql.errors import ER_1043_BAD_HANDSHAKE
from honeypods.mysql.honeydata import planted_rows
from honeypods.mysql.passwords import make_salt
from honeypods.mysql.shared import Server, derive_keys
from honeypods.mysql.sql import SqlSession
from honeypods.mysql.tls import TlsError, TlsLayer

DECOY: Final = "mysql"
RULE: Final = "honeypod.vuln.svc"
_WITH_TLS: Final = SERVER_CAPABILITIES | CLIENT_SSL


class MysqlProtocol(asyncio.Protocol):
    """One client connection."""

    def __init__(self, session: Session, server: Server) -> None:
        self.session = session
        self.server = server
        self.codec = Connection(max_packet_size=server.config.max_packet_size)
        self.salt = make_salt()
        self.connection_id = server.connection_id()
        # Made at the client's first packet: most contacts read the greeting and leave.
        self._login: Login | None = None
        self.transport: asyncio.Transport | None = None
        self.out: list[bytes] = []
        self.commands: Commands | None = None
        self.tls: TlsLayer | None = None
        # loop.time() until which replies are held (a SLEEP), and the timer that releases them.
        self.held_until = 0.0
        self.release: asyncio.TimerHandle | None = None

    @property
    def login(self) -> Login:
        if self._login is None:
            server = self.server
            peer = self.session.peer[0]
            self._login = Login(server.accounts, server.keys, self.salt, peer, server.schemas)
        return self._login

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)  # noqa: S101 - TCP only
        self.transport = transport
        greeting = Greeting(
            server_version=self.server.version,
            connection_id=self.connection_id,
            salt=self.salt,
            plugin=CACHING_SHA2,
            capabilities=_WITH_TLS if self.server.tls_offered else SERVER_CAPABILITIES,
        )
        transport.write(self.codec.greet(greeting))
        # MySQL drops a client that has not logged in within connect_timeout, silently.
        self.session.expires = self.session.started + self.server.config.connect_timeout

    def data_received(self, data: bytes) -> None:
        if self.tls is not None and not self._decrypt(data):
            return
        if self.tls is None:
            self.codec.receive_data(data)
        self._pump()

    def _decrypt(self, data: bytes) -> bool:
        """Feed TLS records; False when there is nothing for the codec (or TLS failed)."""
        assert self.tls is not None  # noqa: S101 - only called under TLS
        assert self.transport is not None  # noqa: S101 - set in connection_made
        try:
            plain, back, closed = self.tls.feed(data)
        except TlsError:
            # A failed handshake ends the connection, as it does on a real server.
            self.session.close("protocol_error")
            return False
        if back:
            self.transport.write(back)
        if plain:
            self.codec.receive_data(plain)
        if closed:
            self.codec.receive_data(b"")
        return bool(plain or closed)

    def eof_received(self) -> bool:
        self.codec.receive_data(b"")
        self._pump()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        if self.release is not None:
            self.release.cancel()
        login = self._login
        if login is not None and login.end():
            # The client left halfway through the dialogue: still one attempt, failed.
            self._log_login(login)

    # -- dispatch ----------------------------------------------------------------------------------

    def _pump(self) -> None:
        codec = self.codec
        closing = ""
        while not closing:
            try:
                event = codec.next_event()
                if event is NEED_DATA:
                    break
                if isinstance(event, Command):  # the common case, once logged in
                    closing = self._on_command(event)
                elif isinstance(event, ConnectionClosed):
                    closing = "eof"
                elif isinstance(event, HandshakeResponse):
                    closing = self._on_hello(event)
                elif isinstance(event, AuthData):
                    closing = self._on_auth_data(event.data)
                elif isinstance(event, SSLRequest) and not self._start_tls():
                    return  # the TLS handshake failed on what came with the request
            except LocalProtocolError:
                raise  # a bug of ours: the guard logs it
            except ProtocolError as exc:
                login = self._login
                if login is not None and login.end(exc.code):
                    self._log_login(login)
                elif login is None and isinstance(exc.hello, HandshakeResponse):
                    # Unreadable as a 4.1 login, yet it named a user: still one failed attempt.
                    self.login.refused(exc.hello, exc.code)
                    self._log_login(self.login)
                self.out.append(codec.fail(exc))
                closing = "protocol_error"
        if self.release is None:
            self._write()
        if closing:
            self.session.close(closing)

    def _write(self) -> None:
        self.release = None
        if self.out and self.transport is not None and self.session.reason is None:
            data = b"".join(self.out)
            self.out.clear()
            if self.tls is not None:
                try:
                    data = self.tls.wrap(data)
                except TlsError:
                    self.session.close("protocol_error")
                    return
            self.transport.write(data)

    def _hold(self, seconds: float) -> None:
        """Hold every reply from now on for ``seconds`` more (a SLEEP the statement asked for)."""
        loop = asyncio.get_running_loop()
        self.held_until = max(self.held_until, loop.time()) + seconds
        if self.release is not None:
            self.release.cancel()
        self.release = loop.call_at(self.held_until, self._write)

    def _start_tls(self) -> bool:
        """Answer an SSLRequest; False when the connection is already closing."""
        context = self.server.tls_context()
        if context is None:
            raise ProtocolError(ER_1043_BAD_HANDSHAKE)
        self.login.ssl_request()
        self.tls = TlsLayer(context)
        # The ClientHello may have come in the same read as the request.
        leftover = self.codec.take_buffered()
        if leftover:
            self._decrypt(leftover)
        return self.session.reason is None

    def _send(self, reply: Reply, *, more_results: bool = False) -> None:
        self.out.append(self.codec.send(reply, more_results=more_results))

    # -- login -------------------------------------------------------------------------------------

    def _on_hello(self, hello: HandshakeResponse) -> str:
        if hello.change_user:
            fields = {
                "mysql.command": "COM_CHANGE_USER",
                "mysql.query": events.clip_text(hello.user),
            }
            self.session.emit("mysql.command", fields)
        login = self.login
        return self._on_login_step(login, login.response(hello))

    def _on_auth_data(self, data: bytes) -> str:
        login = self._login
        assert login is not None  # noqa: S101 - the codec reads auth data after a response only
        secure = self.tls is not None and self.tls.established
        return self._on_login_step(login, login.auth_data(data, secure=secure))

    def _on_login_step(self, login: Login, replies: list[Reply]) -> str:
        for reply in replies:
            self._send(reply)
        state = login.state
        if state is AuthState.LOGGED_IN:
            self._logged_in(login)
        elif state is AuthState.CLOSED:
            self._log_login(login)
            return "policy"
        return ""

    def _logged_in(self, login: Login) -> None:
        hello = login.hello
        assert hello is not None  # noqa: S101 - a verdict follows a response
        user = hello.user.decode("utf-8", "backslashreplace")
        tokens = self.server.tokens
        password = (login.password or b"").decode("utf-8", "backslashreplace")
        planted = tokens.live("db-login") and tokens.mysql_login(user, password)
        api = tokens.api_token if tokens.planted("api-token", honeytokens.DATABASE) else ""
        sql = SqlSession(
            user=user,
            host=self.session.peer[0],
            connection_id=self.connection_id,
            server_version=self.server.version,
            variables=self.server.variables,
            database=login.database,
            ssl_cipher=self.tls.cipher() if self.tls is not None else "",
            started=self.server.started,
            rows=self.server.named_rows(
                planted_rows(
                    api, richer=planted, filler=honeytokens.derive(tokens.seed, "mysql.filler")
                )
            ),
            schemas=self.server.schemas,
            removed_syntax=self.server.persona.removed_syntax,
        )
        if self.commands is None:
            self.commands = Commands(sql, hello.capabilities)
        else:
            self.commands.restart(sql, hello.capabilities)
        self._log_login(login)
        if planted:
            fields = tokens.used("db-login", via=DECOY)
            fields["user.name"] = events.clip_text(user)
            self.session.emit(honeytokens.EVENT, fields, rule=honeytokens.RULE)
        self.session.expires = math.inf

    def _log_login(self, login: Login) -> None:
        hello = login.hello
        assert hello is not None  # noqa: S101 - only called once a response arrived
        success = login.password is not None and not login.error
        fields: dict[str, Any] = {
            "user.name": events.clip_text(hello.user),
            "event.outcome": "success" if success else "failure",
            "mysql.auth_plugin": login.checked_plugin or hello.plugin,
            "mysql.auth_response_hex": events.to_hex(login.checked_response, 256),
            "mysql.salt_hex": self.salt.hex(),
            "mysql.client_flags": hello.capabilities,
        }
        if hello.database is not None:
            fields["mysql.database"] = events.clip_text(hello.database)
        if self.tls is not None:
            fields["tls.established"] = self.tls.established
            fields["tls.version"] = self.tls.version()
            fields["tls.cipher"] = self.tls.cipher()
        if hello.attrs:
            fields["mysql.connect_attrs"] = {
                events.clip_text(k, 64): events.clip_text(v, 256) for k, v in hello.attrs
            }
        password = login.password if login.password is not None else login.plaintext
        if password is not None:
            fields["mysql.password"] = events.clip_text(password)
        if login.error:
            fields["mysql.error_code"] = login.error
        self.session.emit("mysql.login", fields)

    # -- commands ----------------------------------------------------------------------------------

    def _on_command(self, cmd: Command) -> str:
        commands = self.commands
        assert commands is not None  # noqa: S101 - commands only follow an accepted login
        result = commands.answer(cmd)
        codec = self.codec
        if result.earlier:
            for reply, status in result.earlier:
                codec.status = status
                self._send(reply, more_results=True)
        codec.status = commands.sql.status
        name = COMMAND_NAMES.get(cmd.command) or f"COM_0x{cmd.command:02x}"
        fields: dict[str, Any] = {"mysql.command": name}
        text, cut = events.clip(result.logged, events.LONG_TEXT_CAP)
        if text:
            fields["mysql.query"] = text
            if cut:
                fields["mysql.query_truncated"] = True
        last = result.reply
        if isinstance(last, Err):
            fields["mysql.error_code"] = last.code
        elif isinstance(last, ResultSet):
            fields["mysql.rows"] = len(last.rows)
        asked = commands.sql.take_sleep()
        if asked:
            cap = self.server.config.max_sleep
            fields["mysql.sleep"] = round(asked, 3)
            if asked > cap:
                fields["mysql.sleep_capped"] = True
            self._hold(min(asked, cap))
        self.session.emit("mysql.command", fields)
        if last is not None:
            self._send(last)
        return "eof" if result.quit else ""


async def start(
    config: MysqlConfig,
    *,
    limits: Limits,
    host: str,
    metrics_port: int = 0,
    proxy: ProxyProtocol | None = None,
    persona_seed: str = "",
) -> Running:
    """Listen on ``config.port``.

    Args:
        config: the decoy's settings.
        limits: connection limits for its guard.
        proxy: PROXY protocol from load balancers in front of it; off when None.
        host: address to bind.
        metrics_port: unused; part of every decoy's signature.
        persona_seed: the install's seed: persona, names, weak passwords, certificates and RSA key
            derive from it.
    """
    del metrics_port
    # The derived keys' primes are found before listening, outside the event loop, so the first
    # client that asks for TLS or the RSA key is not held up by them.
    await asyncio.get_running_loop().run_in_executor(None, derive_keys, persona_seed, config.tls)
    guard = Guard(DECOY, limits, RULE, proxy=proxy)
    guard.expire_within(config.connect_timeout)
    holder: list[Server] = []
    factory = guard.protocol_factory(lambda session: MysqlProtocol(session, holder[0]))
    running = await guard.start(host, [(factory, config.port)])
    addresses = running.addresses
    port = int(addresses[0].rsplit(":", 1)[1]) if addresses else config.port
    holder.append(Server.from_config(config, port, persona_seed))
    return running
