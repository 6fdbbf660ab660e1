"""MySQL decoy: the asyncio adapter around ``mysql_codec`` plus the login policy.

Persona: a MySQL 8.0 server (``server_version``) whose accounts use ``auth_plugin``
(``caching_sha2_password`` by default, as MySQL 8.0 creates them). The policy, per login attempt:

* The client answered the greeting with the account's plugin: its scramble is checked against the
  accepted passwords of that user. Otherwise it gets an AuthSwitchRequest to the account's plugin
  with the same salt, as MySQL does, and that answer is checked.
* ``caching_sha2_password``: a scramble that matches is a cache hit (fast-auth success, then OK).
  Anything else gets "perform full authentication", exactly as a real server whose cache does not
  hold the user. Over TLS (offered, as MySQL 8.0 does by default) the client then sends the
  password in the clear; without TLS it asks for the RSA public key and sends the password
  encrypted with it. Either way the decoy reads the plaintext, logs it and checks it. Like MySQL
  8.0 with its auto-generated keys and certificates, one set serves the whole process; it is made
  when first needed (a fraction of a second, once), so scanners that never get that far do not
  pay the ~8 MiB ``cryptography`` costs. Without ``cryptography`` the persona is a server without
  TLS or RSA keys, which refuses the key request with 1045.
* ``mysql_native_password``: the SHA-1 scramble is checked; a mismatch is 1045.
* An empty response is an empty password ("using password: NO").

Every attempt is exactly one ``mysql.login`` event, with the scramble and salt in hex for offline
cracking, and the plaintext password whenever it is known: a scramble matched an accepted one, or
full authentication revealed it. An attempt the client
abandons halfway (it disconnects during the dialogue) is logged as a failure when it leaves.

After login, each command is one ``mysql.command`` event; ``mysql_sql`` decides the answers.
The per-connection protocol is a plain ``asyncio.Protocol``: most contacts are scanners that read
the greeting and leave, and streams would cost a task per connection.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import importlib.util
import math
import os
import secrets
import ssl
import time
from dataclasses import dataclass, field
from typing import Any, Final

from honeypods.core import events
from honeypods.core.guard import Guard, Limits, Running, Session
from honeypods.mysql.codec import (
    NEED_DATA,
    SERVER_CAPABILITIES,
    AuthData,
    AuthMoreData,
    AuthSwitch,
    Capability,
    Com,
    Command,
    Connection,
    ConnectionClosed,
    Eof,
    Err,
    FieldList,
    Greeting,
    HandshakeResponse,
    Ok,
    PrepareOk,
    ProtocolError,
    Reply,
    ResultSet,
    SSLRequest,
    Text,
)
from honeypods.mysql.config import MysqlConfig
from honeypods.mysql.sql import (
    SqlSession,
    answer,
    default_variables,
    er_1227_privilege,
    field_list,
    split_statements,
    use_database,
)
from honeypods.mysql.tls import TlsError, TlsLayer, make_context

DECOY: Final = "mysql"
RULE: Final = "honeypod.vuln.svc"
NATIVE: Final = "mysql_native_password"
CACHING_SHA2: Final = "caching_sha2_password"
FAST_AUTH_SUCCESS: Final = b"\x03"
PERFORM_FULL_AUTHENTICATION: Final = b"\x04"
REQUEST_PUBLIC_KEY: Final = b"\x02"


def er_1045_access_denied(user: str, host: str, password_used: bool) -> Err:
    used = "YES" if password_used else "NO"
    message = f"Access denied for user '{user[:48]}'@'{host[:64]}' (using password: {used})"
    return Err(1045, "28000", message)


ER_1047_UNKNOWN_COMMAND: Final = Err(1047, "08S01", "Unknown command")
ER_1251_NOT_SUPPORTED_AUTH_MODE: Final = Err(
    1251,
    "08004",
    "Client does not support authentication protocol requested by server; consider upgrading "
    "MySQL client",
)
ER_1461_MAX_PREPARED_STMT: Final = Err(
    1461,
    "42000",
    "Can't create more than max_prepared_stmt_count statements (current value: 16382)",
)
# Prepared statements one connection may hold.
MAX_STATEMENTS: Final = 64


def _er_1243(cmd: Command, what: str) -> Err:
    number = int.from_bytes(cmd.argument[:4], "little")
    return Err(
        1243, "HY000", f"Unknown prepared statement handler ({number}) given to mysqld_stmt_{what}"
    )


def _count_params(query: str) -> int:
    """Placeholders outside quotes."""
    count, quote = 0, ""
    for ch in query:
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"`":
            quote = ch
        elif ch == "?":
            count += 1
    return min(count, 0xFFFF)


# Byte b -> b & 0x7F, with NUL and '$' moved up by one: one C call per salt on the accept path.
_SALT_TABLE: Final = bytes((b & 0x7F) + ((b & 0x7F) in (0, 0x24)) for b in range(256))


_COMMAND_NAMES: Final = {int(c): c.name for c in Com}
_WITH_TLS: Final = SERVER_CAPABILITIES | Capability.CLIENT_SSL.value
# Plain ints: IntFlag arithmetic builds an enum member per operation.
_SECURE_CONNECTION: Final = Capability.CLIENT_SECURE_CONNECTION.value
_PLUGIN_AUTH: Final = Capability.CLIENT_PLUGIN_AUTH.value
_MULTI_STATEMENTS: Final = Capability.CLIENT_MULTI_STATEMENTS.value
# Commands this account lacks the privilege for, as SHOW GRANTS says; the error names it.
_PRIVILEGED: Final[dict[int, str]] = {
    Com.COM_SHUTDOWN: "SHUTDOWN",
    Com.COM_REFRESH: "RELOAD",
    Com.COM_DEBUG: "SUPER",
    Com.COM_BINLOG_DUMP: "REPLICATION SLAVE",
    Com.COM_BINLOG_DUMP_GTID: "REPLICATION SLAVE",
    Com.COM_REGISTER_SLAVE: "REPLICATION SLAVE",
    Com.COM_CLONE: "BACKUP_ADMIN",
}


def make_salt() -> bytes:
    """20 bytes as MySQL's generate_user_salt makes them: 7-bit, never NUL or '$'."""
    return os.urandom(20).translate(_SALT_TABLE)


def _xor(a: bytes, b: bytes) -> bytes:
    return (int.from_bytes(a, "big") ^ int.from_bytes(b, "big")).to_bytes(len(a), "big")


def _stages(plugin: str, password: bytes) -> tuple[bytes, bytes]:
    """The two salt-independent hashes of a password: H(password) and H(H(password))."""
    digest = hashlib.sha1 if plugin == NATIVE else hashlib.sha256
    stage1 = digest(password).digest()
    return stage1, digest(stage1).digest()


def scramble_native(password: bytes, salt: bytes) -> bytes:
    """SHA1(password) XOR SHA1(salt + SHA1(SHA1(password)))."""
    stage1, stage2 = _stages(NATIVE, password)
    return _xor(stage1, hashlib.sha1(salt + stage2).digest())  # noqa: S324 - the protocol's hash


def scramble_caching_sha2(password: bytes, salt: bytes) -> bytes:
    """SHA256(password) XOR SHA256(SHA256(SHA256(password)) + salt)."""
    stage1, stage2 = _stages(CACHING_SHA2, password)
    return _xor(stage1, hashlib.sha256(stage2 + salt).digest())


def _mix(plugin: str, stage2: bytes, salt: bytes) -> bytes:
    if plugin == NATIVE:
        return hashlib.sha1(salt + stage2).digest()  # noqa: S324 - the protocol's hash
    return hashlib.sha256(stage2 + salt).digest()


@dataclass
class Server:
    """Settings and process-wide state shared by every connection."""

    config: MysqlConfig
    accounts: dict[bytes, list[bytes]]
    variables: dict[str, str | int | bool]
    next_id: int
    started: float
    # The RSA private key and its OAEP padding, and the public key in PEM; made on first use.
    rsa: tuple[Any, Any] | None = None
    public_pem: bytes = b""
    rsa_tried: bool = False
    # (plugin, password) -> its two salt-independent hashes, so a check costs one hash.
    stages: dict[tuple[str, bytes], tuple[bytes, bytes]] = field(default_factory=dict)
    # TLS, offered when configured and cryptography is installed; the context is made on first use.
    tls_offered: bool = False
    tls: ssl.SSLContext | None = None
    tls_tried: bool = False

    def tls_context(self) -> ssl.SSLContext | None:
        if not self.tls_tried:
            self.tls_tried = True
            self.tls = make_context(self.config.server_version)
        return self.tls

    @classmethod
    def from_config(cls, config: MysqlConfig, port: int) -> Server:
        accounts: dict[bytes, list[bytes]] = {}
        for cred in config.accept:
            user, _, password = cred.partition(":")
            accounts.setdefault(user.encode(), []).append(password.encode())
        # A container's hostname is its short id; a fresh one per process, like a new container.
        hostname = secrets.token_hex(6)
        tls = config.tls and importlib.util.find_spec("cryptography") is not None
        return cls(
            tls_offered=tls,
            config=config,
            accounts=accounts,
            variables=default_variables(config.server_version, hostname, port, tls=tls),
            # Ids continue from what a server up for a while would have handed out.
            next_id=8 + secrets.randbelow(4000),
            started=time.monotonic() - 86400 * (3 + secrets.randbelow(40)),
        )

    def connection_id(self) -> int:
        self.next_id += 1
        return self.next_id

    def public_key(self) -> bytes:
        """The PEM public key, or b"" when this process cannot do RSA."""
        if not self.rsa_tried:
            self.rsa_tried = True
            self.rsa, self.public_pem = _rsa_keys()
        return self.public_pem

    def decrypt(self, data: bytes, salt: bytes) -> bytes | None:
        """The password in a full-authentication packet (RSA-OAEP of password+NUL XOR salt)."""
        if not self.public_key() or self.rsa is None:
            return None
        key, oaep = self.rsa
        try:
            plain = key.decrypt(data, oaep)
        except ValueError:
            return None
        password = bytes(b ^ salt[i % len(salt)] for i, b in enumerate(plain))
        return password[:-1] if password.endswith(b"\0") else password

    def check(self, user: bytes, plugin: str, response: bytes, salt: bytes) -> bytes | None:
        """The accepted password the response proves, or None."""
        candidates = self.accounts.get(user, ())
        if response in (b"", b"\0"):
            return b"" if b"" in candidates else None
        if plugin not in (NATIVE, CACHING_SHA2):
            return None
        for password in candidates:
            if not password:
                continue
            stages = self.stages.get((plugin, password))
            if stages is None:
                stages = self.stages[plugin, password] = _stages(plugin, password)
            stage1, stage2 = stages
            if hmac.compare_digest(_xor(stage1, _mix(plugin, stage2, salt)), response):
                return password
        return None


class MysqlProtocol(asyncio.Protocol):
    """One client connection."""

    def __init__(self, session: Session, server: Server) -> None:
        self.session = session
        self.server = server
        self.codec = Connection(max_packet_size=server.config.max_packet_size)
        self.salt = make_salt()
        self.connection_id = server.connection_id()
        self.transport: asyncio.Transport | None = None
        self.out: list[bytes] = []
        # The attempt under way: the handshake response, and where its dialogue is.
        self.hello: HandshakeResponse | None = None
        self.phase = ""
        self.checked_plugin = ""
        self.checked_response = b""
        self.sql: SqlSession | None = None
        self.plaintext: bytes | None = None
        self.statements: dict[int, str] = {}
        self.tls: TlsLayer | None = None
        self.next_statement = 0
        self.multi_statements = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)  # noqa: S101 - TCP only
        self.transport = transport
        greeting = Greeting(
            server_version=self.server.config.server_version,
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
        if self.hello is not None and self.phase:
            # The client left halfway through the dialogue: still one attempt, failed.
            self._log_login(None)

    # -- dispatch ----------------------------------------------------------------------------------

    def _pump(self) -> None:
        codec = self.codec
        closing = ""
        while not closing:
            try:
                event = codec.next_event()
            except ProtocolError as exc:
                if self.hello is not None and self.phase:
                    self._log_login(None, error=exc.code)
                self.out.append(codec.fail(exc))
                closing = "protocol_error"
                break
            if event is NEED_DATA:
                break
            if isinstance(event, Command):  # the common case, once logged in
                closing = self._on_command(event)
            elif isinstance(event, ConnectionClosed):
                closing = "eof"
            elif isinstance(event, HandshakeResponse):
                closing = self._on_hello(event)
            elif isinstance(event, SSLRequest):
                context = self.server.tls_context()
                if context is None:
                    self.out.append(codec.fail(ProtocolError(1043, "08S01", "Bad handshake")))
                    closing = "protocol_error"
                    break
                self.tls = TlsLayer(context)
                # The ClientHello may have come in the same read as the request.
                leftover = codec.take_buffered()
                if leftover and self.tls is not None:
                    self._decrypt(leftover)
                if self.session.reason is not None:
                    return
            elif isinstance(event, AuthData):
                closing = self._on_auth_data(event.data)
        if self.out and self.transport is not None:
            data = b"".join(self.out)
            self.out.clear()
            if self.tls is not None:
                try:
                    data = self.tls.wrap(data)
                except TlsError:
                    self.session.close("protocol_error")
                    return
            self.transport.write(data)
        if closing:
            self.session.close(closing)

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
            # A new user starts a fresh session: MySQL drops the old one's statements too.
            self.plaintext = None
            self.statements.clear()
        self.hello = hello
        self.phase = "hello"
        account_plugin = self.server.config.auth_plugin
        client_plugin = hello.plugin
        if not client_plugin and hello.capabilities & _SECURE_CONNECTION:
            client_plugin = NATIVE
        if client_plugin == account_plugin:
            return self._check(account_plugin, hello.auth_response)
        if not hello.capabilities & _PLUGIN_AUTH:
            self.checked_plugin, self.checked_response = client_plugin, hello.auth_response
            return self._refuse(ER_1251_NOT_SUPPORTED_AUTH_MODE)
        self.phase = "switch"
        self.checked_plugin, self.checked_response = client_plugin, hello.auth_response
        self._send(AuthSwitch(account_plugin, self.salt + b"\0"))
        return ""

    def _on_auth_data(self, data: bytes) -> str:
        if self.phase == "switch":
            return self._check(self.server.config.auth_plugin, data)
        if self.phase == "full_auth" and data == REQUEST_PUBLIC_KEY:
            pem = self.server.public_key()
            if not pem:
                return self._refuse(self._denied())
            self.phase = "rsa"
            self._send(AuthMoreData(pem))
            return ""
        if self.phase in ("full_auth", "rsa"):
            # A client holding the key already skips the request and sends the password at once.
            assert self.hello is not None  # noqa: S101 - set by _on_hello
            password = self.server.decrypt(data, self.salt)
            if password is None:
                if self.phase == "full_auth" and data.endswith(b"\0"):
                    # Over TLS the password comes in the clear, as MySQL expects. Some clients
                    # (Connector/Python's pure driver) send it so without TLS too: MySQL refuses
                    # it there; we refuse it and keep it.
                    self.plaintext = data[:-1]
                    secure = self.tls is not None and self.tls.established
                    if secure and self.plaintext in self.server.accounts.get(self.hello.user, ()):
                        return self._accept(self.plaintext)
                return self._refuse(self._denied())
            self.plaintext = password
            if password in self.server.accounts.get(self.hello.user, ()):
                return self._accept(password)
            return self._refuse(self._denied())
        return self._refuse(self._denied())

    def _check(self, plugin: str, response: bytes) -> str:
        assert self.hello is not None  # noqa: S101 - set by _on_hello
        self.checked_plugin, self.checked_response = plugin, response
        password = self.server.check(self.hello.user, plugin, response, self.salt)
        if password is None:
            if plugin == CACHING_SHA2 and response not in (b"", b"\0"):
                self.phase = "full_auth"
                self._send(AuthMoreData(PERFORM_FULL_AUTHENTICATION))
                return ""
            return self._refuse(self._denied())
        if plugin == CACHING_SHA2 and password:
            self._send(AuthMoreData(FAST_AUTH_SUCCESS))
        return self._accept(password)

    def _denied(self) -> Err:
        assert self.hello is not None  # noqa: S101 - set by _on_hello
        used = self.checked_response not in (b"", b"\0")
        user = self.hello.user.decode("utf-8", "backslashreplace")
        return er_1045_access_denied(user, self.session.peer[0], used)

    def _refuse(self, err: Err) -> str:
        self._log_login(None, error=err.code)
        self._send(err)
        return "policy"

    def _accept(self, password: bytes) -> str:
        hello = self.hello
        assert hello is not None  # noqa: S101 - set by _on_hello
        sql = SqlSession(
            user=hello.user.decode("utf-8", "backslashreplace"),
            host=self.session.peer[0],
            connection_id=self.connection_id,
            server_version=self.server.config.server_version,
            variables=self.server.variables,
            ssl_cipher=self.tls.cipher() if self.tls is not None else "",
            started=self.server.started,
        )
        self.sql = sql
        self.multi_statements = bool(hello.capabilities & _MULTI_STATEMENTS)
        reply: Reply = Ok()
        if hello.database:
            chosen = use_database(hello.database.decode("utf-8", "backslashreplace"), sql)
            if isinstance(chosen, Err):
                self._log_login(password, error=chosen.code)
                self._send(chosen)
                return "policy"
        self._log_login(password)
        self._send(reply)
        self.session.expires = math.inf
        return ""

    def _log_login(self, password: bytes | None, *, error: int = 0) -> None:
        hello = self.hello
        assert hello is not None  # noqa: S101 - only called once a response arrived
        self.phase = ""
        fields: dict[str, Any] = {
            "user.name": events.clip_text(hello.user),
            "event.outcome": "success" if password is not None and not error else "failure",
            "mysql.auth_plugin": self.checked_plugin or hello.plugin,
            "mysql.auth_response_hex": events.to_hex(self.checked_response, 256),
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
        if password is None:
            password = self.plaintext
        if password is not None:
            fields["mysql.password"] = events.clip_text(password)
        if error:
            fields["mysql.error_code"] = error
        self.session.emit("mysql.login", fields)

    # -- commands ----------------------------------------------------------------------------------

    def _on_command(self, cmd: Command) -> str:
        sql = self.sql
        assert sql is not None  # noqa: S101 - commands only follow an accepted login
        name = _COMMAND_NAMES.get(cmd.command) or f"COM_0x{cmd.command:02x}"
        # COM_FIELD_LIST's table name ends in a NUL; keep the log readable.
        text, cut = events.clip(cmd.argument.rstrip(b"\0"), events.LONG_TEXT_CAP)
        reply: Reply | None
        closing = ""
        code = cmd.command
        if code == Com.COM_QUIT:
            reply, closing = None, "eof"
        elif code == Com.COM_QUERY:
            reply = self._query(cmd.argument.decode("utf-8", "replace"), sql)
        elif code == Com.COM_INIT_DB:
            reply = use_database(cmd.argument.decode("utf-8", "replace"), sql)
        elif code == Com.COM_PING:
            reply = Ok()
        elif code == Com.COM_RESET_CONNECTION:
            sql.autocommit, sql.in_transaction = True, False
            self.statements.clear()
            reply = Ok()
        elif code == Com.COM_FIELD_LIST:
            table = cmd.argument.split(b"\0", 1)[0].decode("utf-8", "replace")
            found = field_list(table, sql)
            reply = found if isinstance(found, Err) else FieldList(found)
        elif code == Com.COM_STATISTICS:
            reply = Text(self._statistics().encode())
        elif code == Com.COM_SET_OPTION and cmd.argument in (b"\0\0", b"\1\0"):
            self.multi_statements = cmd.argument == b"\0\0"  # MYSQL_OPTION_MULTI_STATEMENTS_ON
            reply = Eof()
        elif code == Com.COM_STMT_PREPARE:
            reply = self._prepare(cmd.argument.decode("utf-8", "replace"), sql)
        elif code == Com.COM_STMT_EXECUTE:
            reply = self._execute(cmd.argument, sql)
            text, cut = events.clip(self._statement(cmd.argument) or "", events.LONG_TEXT_CAP)
        elif code == Com.COM_STMT_RESET:
            reply = Ok() if self._statement(cmd.argument) is not None else _er_1243(cmd, "reset")
        elif code == Com.COM_STMT_CLOSE:
            self.statements.pop(int.from_bytes(cmd.argument[:4], "little"), None)
            reply = None  # no answer, by protocol
        elif code == Com.COM_STMT_SEND_LONG_DATA:
            reply = None  # no answer, by protocol
        elif code == Com.COM_PROCESS_INFO:
            reply = answer("SHOW PROCESSLIST", sql)
        elif code == Com.COM_PROCESS_KILL and len(cmd.argument) == 4:
            reply = Err(
                1094, "HY000", f"Unknown thread id: {int.from_bytes(cmd.argument, 'little')}"
            )
        elif code in _PRIVILEGED:
            reply = er_1227_privilege(_PRIVILEGED[code])
        else:
            reply = ER_1047_UNKNOWN_COMMAND
        self.codec.status = sql.status
        fields: dict[str, Any] = {"mysql.command": name}
        if text:
            fields["mysql.query"] = text
            if cut:
                fields["mysql.query_truncated"] = True
        if isinstance(reply, Err):
            fields["mysql.error_code"] = reply.code
        elif isinstance(reply, ResultSet):
            fields["mysql.rows"] = len(reply.rows)
        self.session.emit("mysql.command", fields)
        if reply is not None:
            self._send(reply)
        return closing

    def _query(self, query: str, sql: SqlSession) -> Reply:
        """Answer a COM_QUERY; with multi-statements on, every result but the last is sent here."""
        statements = split_statements(query) if self.multi_statements else [query]
        for statement in statements[:-1]:
            reply = answer(statement, sql)
            if isinstance(reply, Err):
                return reply  # MySQL stops at the first error
            self.codec.status = sql.status
            self._send(reply, more_results=True)
        return answer(statements[-1], sql)

    def _prepare(self, query: str, sql: SqlSession) -> Reply:
        result = answer(query, sql)
        if isinstance(result, Err):
            return result
        if len(self.statements) >= MAX_STATEMENTS:
            # max_prepared_stmt_count is per server; this bounds one connection's memory.
            return ER_1461_MAX_PREPARED_STMT
        self.next_statement += 1
        self.statements[self.next_statement] = query
        columns = result.columns if isinstance(result, ResultSet) else ()
        return PrepareOk(self.next_statement, _count_params(query), columns)

    def _statement(self, argument: bytes) -> str | None:
        if len(argument) < 4:
            return None
        return self.statements.get(int.from_bytes(argument[:4], "little"))

    def _execute(self, argument: bytes, sql: SqlSession) -> Reply:
        query = self._statement(argument)
        if query is None:
            return _er_1243(Command(Com.COM_STMT_EXECUTE, argument), "execute")
        result = answer(query, sql)
        if isinstance(result, ResultSet):
            return ResultSet(result.columns, result.rows, binary=True)
        return result

    def _statistics(self) -> str:
        uptime = int(time.monotonic() - self.server.started)
        questions = 40 + uptime // 7
        return (
            f"Uptime: {uptime}  Threads: 2  Questions: {questions}  Slow queries: 0  "
            f"Opens: 187  Flush tables: 3  Open tables: 106  "
            f"Queries per second avg: {questions / max(uptime, 1):.3f}"
        )


def _rsa_keys() -> tuple[tuple[Any, Any] | None, bytes]:
    try:
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import padding, rsa
    except ImportError:
        return None, b""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    # MySQL 8.0 pads with RSA_PKCS1_OAEP_PADDING: OAEP with SHA-1 and MGF1-SHA-1.
    oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(), label=None)  # noqa: S303 - the protocol's choice
    return (key, oaep), pem


async def start(
    config: MysqlConfig, *, limits: Limits, host: str, metrics_port: int = 0
) -> Running:
    """Listen on ``config.port``.

    Args:
        config: the decoy's settings.
        limits: connection limits for its guard.
        host: address to bind.
        metrics_port: unused; part of every decoy's signature.
    """
    del metrics_port
    guard = Guard(DECOY, limits, RULE)
    guard.expire_within(config.connect_timeout)
    holder: list[Server] = []
    factory = guard.protocol_factory(lambda session: MysqlProtocol(session, holder[0]))
    running = await guard.start(host, [(factory, config.port)])
    addresses = running.addresses
    port = int(addresses[0].rsplit(":", 1)[1]) if addresses else config.port
    holder.append(Server.from_config(config, port))
    return running
