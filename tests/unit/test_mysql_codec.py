"""Byte tables for the MySQL codec: exact packets out, events in, fed whole and byte by byte."""

from __future__ import annotations

import ast
import re
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest

from honeypods.mysql import auth, errors, passwords
from honeypods.mysql import sql as mysql_sql
from honeypods.mysql.codec import (
    NEED_DATA,
    SERVER_CAPABILITIES,
    AuthData,
    AuthMoreData,
    AuthSwitch,
    Capability,
    Column,
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
    ProtocolError,
    ResultSet,
    SSLRequest,
    State,
    Text,
)
from honeypods.mysql.codec.constants import CACHING_SHA2, NATIVE

SALT = bytes(range(1, 21))

# HandshakeV10 as MySQL 8.0 sends it, with CLIENT_SSL and zstd compression cleared.
GREETING = (
    bytes.fromhex(
        "4a000000"  # length 74, sequence 0
        "0a"  # protocol version 10
        "382e302e333600"  # "8.0.36\0"
        "0c000000"  # connection id 12
        "0102030405060708"  # salt, first 8 bytes
        "00"  # filler
        "fff7"  # capabilities, lower 16 bits: 0xffff without SSL (0x800)
        "ff"  # collation 255, utf8mb4_0900_ai_ci
        "0200"  # status: autocommit
        "ffdb"  # capabilities, upper: 0xdfff without ZSTD (bit 26)
        "15"  # auth data length 21
        "00000000000000000000"  # reserved
        "090a0b0c0d0e0f101112131400"  # salt, last 12 bytes, NUL
    )
    + b"caching_sha2_password\0"
)

CLIENT_CAPS = (
    Capability.CLIENT_LONG_PASSWORD
    | Capability.CLIENT_PROTOCOL_41
    | Capability.CLIENT_SECURE_CONNECTION
    | Capability.CLIENT_CONNECT_WITH_DB
    | Capability.CLIENT_PLUGIN_AUTH
    | Capability.CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA
    | Capability.CLIENT_CONNECT_ATTRS
)


def _packet(seq: int, payload: bytes) -> bytes:
    return len(payload).to_bytes(3, "little") + bytes((seq,)) + payload


def _response(
    caps: int = CLIENT_CAPS,
    user: bytes = b"root",
    auth: bytes = b"\xaa" * 32,
    db: bytes = b"app_prod",
    plugin: bytes = b"caching_sha2_password",
) -> bytes:
    attrs = b"\x0c_client_name\x07pymysql" + b"\x03_os\x05Linux"
    return b"".join(
        (
            int(caps).to_bytes(4, "little"),
            (16 << 20).to_bytes(4, "little"),
            b"\xff",
            b"\0" * 23,
            user + b"\0",
            bytes((len(auth),)) + auth,
            db + b"\0",
            plugin + b"\0",
            bytes((len(attrs),)) + attrs,
        )
    )


def _greeted(max_packet_size: int = 1 << 20) -> tuple[Connection, bytes]:
    conn = Connection(max_packet_size=max_packet_size)
    out = conn.greet(Greeting("8.0.36", 12, SALT))
    return conn, out


def _events(conn: Connection, data: bytes, *, bytewise: bool) -> list[object]:
    chunks = [data[i : i + 1] for i in range(len(data))] if bytewise else [data]
    out: list[object] = []
    for chunk in chunks:
        conn.receive_data(chunk)
        while True:
            event = conn.next_event()
            if event is NEED_DATA:
                break
            out.append(event)
            if isinstance(event, ConnectionClosed | HandshakeResponse | AuthData):
                break  # the caller answers before the next packet
    return out


def test_greeting_bytes() -> None:
    conn, out = _greeted()
    assert out == GREETING
    assert conn.state is State.HANDSHAKE


@pytest.mark.parametrize("bytewise", [False, True])
def test_handshake_response(bytewise: bool) -> None:
    conn, _ = _greeted()
    events = _events(conn, _packet(1, _response()), bytewise=bytewise)
    assert events == [
        HandshakeResponse(
            capabilities=CLIENT_CAPS,
            max_packet_size=16 << 20,
            collation=255,
            user=b"root",
            auth_response=b"\xaa" * 32,
            database=b"app_prod",
            plugin="caching_sha2_password",
            attrs=(("_client_name", "pymysql"), ("_os", "Linux")),
        )
    ]
    assert conn.state is State.AUTH


@pytest.mark.parametrize("bytewise", [False, True])
def test_full_dialogue_bytes(bytewise: bool) -> None:
    conn, _ = _greeted()
    _events(conn, _packet(1, _response()), bytewise=bytewise)
    assert conn.send(AuthMoreData(b"\x04")) == bytes.fromhex("020000020104")
    assert _events(conn, _packet(3, b"\x02"), bytewise=bytewise) == [AuthData(b"\x02")]
    assert conn.send(Err(1045, "28000", "x")) == bytes.fromhex("0a000004ff1504233238303030") + b"x"
    assert conn.state is State.CLOSED


def test_auth_switch_then_ok() -> None:
    conn, _ = _greeted()
    _events(conn, _packet(1, _response(plugin=b"mysql_native_password")), bytewise=False)
    out = conn.send(AuthSwitch("mysql_native_password", SALT + b"\0"))
    assert out == _packet(2, b"\xfemysql_native_password\0" + SALT + b"\0")
    assert _events(conn, _packet(3, b"\x11" * 20), bytewise=False) == [AuthData(b"\x11" * 20)]
    # OK: header, affected rows 0, insert id 0, status autocommit, no warnings.
    assert conn.send(Ok()) == bytes.fromhex("0700000400000002000000")
    assert conn.state is State.COMMAND


def _logged_in(caps: int = CLIENT_CAPS) -> Connection:
    conn, _ = _greeted()
    _events(conn, _packet(1, _response(caps=caps)), bytewise=False)
    conn.send(Ok())
    return conn


@pytest.mark.parametrize("bytewise", [False, True])
def test_commands(bytewise: bool) -> None:
    conn = _logged_in()
    data = _packet(0, b"\x03SELECT 1") + _packet(0, b"") + _packet(0, b"\x0e") + _packet(0, b"\x01")
    events = []
    chunks = [data[i : i + 1] for i in range(len(data))] if bytewise else [data]
    for chunk in chunks:
        conn.receive_data(chunk)
        while (event := conn.next_event()) is not NEED_DATA:
            events.append(event)
            conn.send(Ok())
    assert events == [
        Command(Com.COM_QUERY, b"SELECT 1"),
        Command(Com.COM_SLEEP, b""),
        Command(Com.COM_PING, b""),
        Command(Com.COM_QUIT, b""),
    ]


@pytest.mark.parametrize(
    ("payload", "command"),
    [
        (b"\x03\x00\x01SELECT 1", Command(Com.COM_QUERY, b"SELECT 1")),
        (
            # One attribute "trace" of type VAR_STRING (0xfd) with value "abc".
            b"\x03\x01\x01\x00\x01\xfd\x00\x05trace\x03abcSELECT 2",
            Command(Com.COM_QUERY, b"SELECT 2", (("trace", b"abc"),)),
        ),
        (
            # A NULL attribute (bitmap bit 0) and a LONGLONG one.
            b"\x03\x02\x01\x01\x01\x06\x00\x01a\x08\x00\x01b" + (7).to_bytes(8, "little") + b"Q",
            Command(Com.COM_QUERY, b"Q", (("a", b""), ("b", (7).to_bytes(8, "little")))),
        ),
    ],
)
def test_query_attributes(payload: bytes, command: Command) -> None:
    conn = _logged_in(CLIENT_CAPS | Capability.CLIENT_QUERY_ATTRIBUTES)
    assert _events(conn, _packet(0, payload), bytewise=True) == [command]


@pytest.mark.parametrize(
    "payload",
    [
        b"\x03",
        b"\x03\x05\x01",
        b"\x03\x01\x01\x00\x02\xfd\x00\x00",
        b"\x03\x01\x01\x00\x01\x99\x00\x00x",
    ],
)
def test_malformed_query_attributes(payload: bytes) -> None:
    conn = _logged_in(CLIENT_CAPS | Capability.CLIENT_QUERY_ATTRIBUTES)
    conn.receive_data(_packet(0, payload))
    with pytest.raises(ProtocolError) as info:
        conn.next_event()
    assert (info.value.code, info.value.message) == (1835, "Malformed communication packet.")


def test_compression_after_login() -> None:
    conn, _ = _greeted()
    _events(
        conn, _packet(1, _response(caps=CLIENT_CAPS | Capability.CLIENT_COMPRESS)), bytewise=False
    )
    # The OK ending authentication is still plain; everything after it is compressed.
    assert conn.send(Ok()) == _packet(2, b"\x00\x00\x00\x02\x00\x00\x00")
    query = _packet(0, b"\x03SELECT VERSION()")
    # A short packet goes uncompressed inside the compressed frame (uncompressed length 0).
    short = len(query).to_bytes(3, "little") + b"\x00" + b"\x00\x00\x00" + query
    assert _events(conn, short, bytewise=True) == [Command(Com.COM_QUERY, b"SELECT VERSION()")]
    out = conn.send(ResultSet((Column("VERSION()"),), (("8.0.36",),)))
    assert out[3] == 1  # compressed sequence id
    plain = int.from_bytes(out[4:7], "little")
    inner = zlib.decompress(out[7:])
    assert len(inner) == plain
    assert inner.endswith(_packet(5, b"\xfe\x00\x00\x02\x00"))
    # A compressed client packet.
    body = _packet(0, b"\x03" + b"x" * 200)
    packed = zlib.compress(body)
    frame = len(packed).to_bytes(3, "little") + b"\x00" + len(body).to_bytes(3, "little") + packed
    assert _events(conn, frame, bytewise=False) == [Command(Com.COM_QUERY, b"x" * 200)]
    conn.send(Ok())
    bomb = zlib.compress(b"\0" * 100)
    conn.receive_data(len(bomb).to_bytes(3, "little") + b"\x00" + (10).to_bytes(3, "little") + bomb)
    with pytest.raises(ProtocolError) as info:
        conn.next_event()
    assert info.value.code == 1157


@pytest.mark.parametrize("bytewise", [False, True])
def test_change_user_starts_a_new_dialogue(bytewise: bool) -> None:
    conn = _logged_in()
    payload = b"\x11admin\0" + b"\x20" + b"\x07" * 32 + b"billing\0" + b"\xff\x00"
    payload += b"caching_sha2_password\0" + b"\x04\x01a\x01b"
    (event,) = _events(conn, _packet(0, payload), bytewise=bytewise)
    assert event == HandshakeResponse(
        capabilities=CLIENT_CAPS,
        max_packet_size=0,
        collation=255,
        user=b"admin",
        auth_response=b"\x07" * 32,
        database=b"billing",
        plugin="caching_sha2_password",
        attrs=(("a", "b"),),
        change_user=True,
    )
    assert conn.state is State.AUTH
    assert conn.send(AuthMoreData(b"\x03")) == _packet(1, b"\x01\x03")
    conn.send(Ok())
    assert conn.state is State.COMMAND
    conn.receive_data(_packet(0, b"\x11root"))
    with pytest.raises(ProtocolError) as info:
        conn.next_event()
    assert info.value.code == 1047


def test_more_results_flag() -> None:
    conn = _logged_in()
    conn.receive_data(_packet(0, b"\x03SELECT 1; DO 1"))
    conn.next_event()
    first = conn.send(ResultSet((Column("1"),), (("1",),)), more_results=True)
    # Both EOFs of the first result carry SERVER_MORE_RESULTS_EXISTS (0x0008).
    assert first.count(b"\xfe\x00\x00\x0a\x00") == 2
    # The last result goes on with the sequence ids, without the flag.
    assert conn.send(Ok()) == _packet(6, b"\x00\x00\x00\x02\x00\x00\x00")


def test_result_set_with_eof_packets() -> None:
    conn = _logged_in()
    conn.receive_data(_packet(0, b"\x03SELECT VERSION()"))
    assert isinstance(conn.next_event(), Command)
    out = conn.send(ResultSet((Column("V", length=24),), (("8.0.36",), (None,))))
    column = (
        b"\x03def\x00\x00\x00\x01V\x00"  # catalog, schema, table, org_table, name, org_name
        b"\x0c\xff\x00\x18\x00\x00\x00\xfd\x00\x00\x00\x00\x00"  # fixed part: utf8mb4, 24, VAR_STRING
    )
    assert out == b"".join(
        (
            _packet(1, b"\x01"),
            _packet(2, column),
            _packet(3, b"\xfe\x00\x00\x02\x00"),
            _packet(4, b"\x068.0.36"),
            _packet(5, b"\xfb"),
            _packet(6, b"\xfe\x00\x00\x02\x00"),
        )
    )


def test_result_set_deprecate_eof_and_session_track() -> None:
    caps = CLIENT_CAPS | Capability.CLIENT_DEPRECATE_EOF | Capability.CLIENT_SESSION_TRACK
    conn = _logged_in(caps)
    conn.receive_data(_packet(0, b"\x03SELECT 1"))
    conn.next_event()
    out = conn.send(ResultSet((Column("1"),), ()))
    # No EOF after the columns; the end is an OK packet with a 0xFE header.
    assert out.endswith(_packet(3, b"\xfe\x00\x00\x02\x00\x00\x00"))
    conn.receive_data(_packet(0, b"\x02app_prod"))
    conn.next_event()
    ok = conn.send(Ok(session_state=b"\x01\x09\x08app_prod"))
    # Status gains SERVER_SESSION_STATE_CHANGED; empty info, then the state block.
    assert ok == _packet(1, b"\x00\x00\x00\x02\x40\x00\x00\x00\x0b\x01\x09\x08app_prod")


def test_other_replies() -> None:
    conn = _logged_in()
    for payload, reply, expected in [
        (b"\x09", Text(b"Uptime: 1"), b"Uptime: 1"),
        (b"\x1b\x00\x00", Eof(), b"\xfe\x00\x00\x02\x00"),
    ]:
        conn.receive_data(_packet(0, payload))
        conn.next_event()
        assert conn.send(reply) == _packet(1, expected)
    conn.receive_data(_packet(0, b"\x04users\0"))
    conn.next_event()
    out = conn.send(FieldList((Column("id", default="0"),)))
    assert out.endswith(_packet(2, b"\xfe\x00\x00\x02\x00"))
    assert b"\x010" in out  # the default value follows the definition


@pytest.mark.parametrize("bytewise", [False, True])
def test_ssl_request_then_response_inside_tls(bytewise: bool) -> None:
    conn = Connection()
    conn.greet(
        Greeting("8.0.36", 12, SALT, capabilities=SERVER_CAPABILITIES | Capability.CLIENT_SSL)
    )
    payload = (CLIENT_CAPS | Capability.CLIENT_SSL).to_bytes(4, "little") + bytes(28)
    events = _events(conn, _packet(1, payload) + b"\x16\x03\x01", bytewise=bytewise)
    assert events == [SSLRequest(CLIENT_CAPS | Capability.CLIENT_SSL, 0)]
    assert conn.state is State.HANDSHAKE
    assert conn.take_buffered() == b"\x16\x03\x01"
    # What the adapter decrypts comes back in with the next sequence id.
    assert len(_events(conn, _packet(2, _response()), bytewise=bytewise)) == 1
    assert conn.state is State.AUTH


def test_ssl_request_when_not_offered_is_a_bad_handshake() -> None:
    conn, _ = _greeted()
    payload = (CLIENT_CAPS | Capability.CLIENT_SSL).to_bytes(4, "little") + bytes(28)
    conn.receive_data(_packet(1, payload))
    with pytest.raises(ProtocolError) as info:
        conn.next_event()
    assert info.value.code == 1043


@pytest.mark.parametrize(
    "payload",
    [
        b"",  # empty
        b"\x05\x82",  # short capability flags
        (0x8205).to_bytes(4, "little") + bytes(28),  # 32 bytes, no SSL, no user
        (CLIENT_CAPS & ~Capability.CLIENT_PROTOCOL_41).to_bytes(4, "little") + bytes(40),  # 3.20
        _response()[:40],  # user without its NUL
        _response(auth=b"")[:-30] + b"\xff",  # length beyond the packet
        _response(user=b"u" * 200),  # longer than any MySQL user name
    ],
)
@pytest.mark.parametrize("bytewise", [False, True])
def test_bad_handshake(payload: bytes, bytewise: bool) -> None:
    conn, _ = _greeted()
    with pytest.raises(ProtocolError) as info:
        _events(conn, _packet(1, payload), bytewise=bytewise)
    assert (info.value.code, info.value.sqlstate, info.value.message) == (
        1043,
        "08S01",
        "Bad handshake",
    )
    assert conn.fail(info.value) == _packet(2, b"\xff\x13\x04#08S01Bad handshake")


def test_packet_too_big_refused_from_its_header() -> None:
    conn, _ = _greeted(max_packet_size=1024)
    conn.receive_data((1025).to_bytes(3, "little") + b"\x01")
    with pytest.raises(ProtocolError) as info:
        conn.next_event()
    assert info.value.code == 1153
    assert info.value.message == "Got a packet bigger than 'max_allowed_packet' bytes"


def test_out_of_order() -> None:
    conn = _logged_in()
    conn.receive_data(_packet(3, b"\x0e"))
    with pytest.raises(ProtocolError) as info:
        conn.next_event()
    assert (info.value.code, info.value.message) == (1156, "Got packets out of order")


def test_continuation_packets_are_joined() -> None:
    conn = _logged_in()
    conn.max_packet_size = 1 << 25
    big = b"\x03" + b"x" * 0xFFFFFE
    conn.receive_data(_packet(0, big) + _packet(1, b"tail"))
    event = conn.next_event()
    assert event == Command(Com.COM_QUERY, big[1:] + b"tail")


def test_eof_mid_packet_and_after() -> None:
    conn, _ = _greeted()
    conn.receive_data(_packet(1, _response())[:10])
    assert conn.next_event() is NEED_DATA
    conn.receive_data(b"")
    assert conn.next_event() == ConnectionClosed()
    assert conn.next_event() == ConnectionClosed()


def test_wrong_reply_for_state_is_a_bug() -> None:
    conn, _ = _greeted()
    with pytest.raises(RuntimeError):
        conn.send(Ok())


def test_reply_constants_match_their_codes() -> None:
    named = 0
    for module in (errors,):
        for name, value in vars(module).items():
            m = re.match(r"(?i)er_(\d{4})_", name)
            if not m:
                continue
            err = value if isinstance(value, Err) else None
            if err is None and callable(value):
                arity = value.__code__.co_argcount
                err = value(*[_arg(value, i) for i in range(arity)])
            assert isinstance(err, Err), name
            assert err.code == int(m.group(1)), name
            assert re.fullmatch(r"[0-9A-Z]{5}", err.sqlstate), name
            named += 1
    assert named >= 10


def _arg(fn: object, i: int) -> object:
    names = fn.__code__.co_varnames  # type: ignore[attr-defined]
    if names[i] == "s":
        return mysql_sql.SqlSession("root", "10.0.0.1", 5, "8.0.36", {})
    if names[i] == "password_used":
        return True
    return "x"


def test_access_denied_text_is_mysqls() -> None:
    err = errors.er_1045_access_denied("root", "10.1.2.3", True)
    assert err.message == "Access denied for user 'root'@'10.1.2.3' (using password: YES)"
    assert err.sqlstate == "28000"


def test_scrambles_match_known_vectors() -> None:
    # Computed with PyMySQL's scramble_native_password / scramble_caching_sha2.
    pymysql = pytest.importorskip("pymysql._auth")
    for password in (b"root", b"p\xc3\xa4ss", b"x" * 64):
        assert passwords.scramble_native(password, SALT) == pymysql.scramble_native_password(
            password, SALT
        )
        assert passwords.scramble_caching_sha2(password, SALT) == pymysql.scramble_caching_sha2(
            password, SALT
        )


def test_salt_looks_like_mysqls() -> None:
    for _ in range(200):
        salt = passwords.make_salt()
        assert len(salt) == 20
        assert all(0 < b < 0x80 and b != 0x24 for b in salt)


def test_no_other_module_writes_an_error_code() -> None:
    # errors.py is the one catalogue: elsewhere an Err or ProtocolError is built from its names.
    package = Path(errors.__file__).parent
    offenders = []
    for path in sorted(package.rglob("*.py")):
        if path == Path(errors.__file__):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in ("Err", "ProtocolError")
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                offenders.append(f"{path.relative_to(package)}:{node.lineno}")
    assert offenders == []


def test_protocol_error_carries_its_reply() -> None:
    error = ProtocolError(errors.ER_1156_PACKETS_OUT_OF_ORDER)
    assert (error.code, error.sqlstate, error.message) == (
        1156,
        "08S01",
        "Got packets out of order",
    )
    assert error.reply is errors.ER_1156_PACKETS_OUT_OF_ORDER
    local = errors.LocalProtocolError("cannot send Ok in state HANDSHAKE")
    assert isinstance(local, ProtocolError)
    assert isinstance(local, RuntimeError)


# -- the login dialogue's state machine (mysql.auth) ------------------------------------------------

ACCOUNTS = ["root:root", "root:", "admin:admin"]
KEYS = passwords.RsaKeys()  # one key pair for the module, as one serves a process


def _login(plugin: str = CACHING_SHA2) -> auth.Login:
    return auth.Login(passwords.Accounts(ACCOUNTS, plugin), KEYS, SALT, "10.1.2.3")


def _hello(
    *,
    user: bytes = b"root",
    response: bytes = b"",
    plugin: str = CACHING_SHA2,
    caps: int = CLIENT_CAPS,
    database: bytes | None = None,
    change_user: bool = False,
) -> HandshakeResponse:
    return HandshakeResponse(
        int(caps), 1 << 24, 255, user, response, database, plugin, change_user=change_user
    )


def _denied(used: bool = True) -> Err:
    return errors.er_1045_access_denied("root", "10.1.2.3", used)


def test_auth_fast_path_is_one_step() -> None:
    login = _login()
    replies = login.response(_hello(response=passwords.scramble_caching_sha2(b"root", SALT)))
    assert replies == [AuthMoreData(b"\x03"), Ok()]
    assert login.state is auth.AuthState.LOGGED_IN
    assert (login.password, login.error, login.pending) == (b"root", 0, False)
    assert login.end() is False


def test_auth_empty_password() -> None:
    login = _login()
    assert login.response(_hello(response=b"")) == [Ok()]
    assert login.password == b""


@pytest.mark.parametrize("secure", [False, True])
def test_auth_full_authentication_in_the_clear(secure: bool) -> None:
    login = _login()
    assert login.response(_hello(response=b"\x01" * 32)) == [AuthMoreData(b"\x04")]
    assert login.state is auth.AuthState.FULL_AUTH
    assert login.pending
    replies = login.auth_data(b"root\0", secure=secure)
    # Over TLS the cleartext password is checked; without it, refused but kept.
    assert replies == ([Ok()] if secure else [_denied()])
    assert login.state is (auth.AuthState.LOGGED_IN if secure else auth.AuthState.CLOSED)
    assert login.plaintext == b"root"


def test_auth_full_authentication_with_the_public_key() -> None:
    pytest.importorskip("cryptography")
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding

    login = _login()
    login.response(_hello(user=b"admin", response=b"\x01" * 32))
    (reply,) = login.auth_data(b"\x02", secure=False)
    assert isinstance(reply, AuthMoreData)
    assert reply.data.startswith(b"-----BEGIN PUBLIC KEY-----")
    assert login.state is auth.AuthState.KEY_SENT
    key = serialization.load_pem_public_key(reply.data)
    mixed = bytes(b ^ SALT[i % 20] for i, b in enumerate(b"wrong\0"))
    sha1 = hashes.SHA1()  # noqa: S303 - MySQL's OAEP padding uses SHA-1
    oaep = padding.OAEP(mgf=padding.MGF1(sha1), algorithm=sha1, label=None)
    encrypted = key.encrypt(mixed, oaep)  # type: ignore[union-attr]
    refused = login.auth_data(encrypted, secure=False)
    assert refused == [errors.er_1045_access_denied("admin", "10.1.2.3", True)]
    assert (login.state, login.plaintext, login.error) == (auth.AuthState.CLOSED, b"wrong", 1045)


def test_auth_switch_to_the_accounts_plugin() -> None:
    login = _login(NATIVE)
    assert login.response(_hello(response=b"\x01" * 32)) == [AuthSwitch(NATIVE, SALT + b"\0")]
    assert login.state is auth.AuthState.SWITCH_SENT
    assert login.auth_data(passwords.scramble_native(b"root", SALT), secure=False) == [Ok()]
    assert (login.checked_plugin, login.password) == (NATIVE, b"root")


def test_auth_refusals() -> None:
    login = _login()
    caps = CLIENT_CAPS & ~Capability.CLIENT_PLUGIN_AUTH
    assert login.response(_hello(plugin=NATIVE, caps=caps)) == [
        errors.ER_1251_NOT_SUPPORTED_AUTH_MODE
    ]
    assert login.state is auth.AuthState.CLOSED
    login = _login()
    # The password is right, the database is not the account's: refused, the password kept.
    assert login.response(_hello(database=b"mysql")) == [
        errors.er_1044_db_access_denied("root", "mysql")
    ]
    assert (login.password, login.error) == (b"", 1044)
    login = _login(NATIVE)
    assert login.response(_hello(plugin=NATIVE, response=b"\x01" * 20)) == [_denied()]


def test_auth_abandoned_attempt_and_change_user() -> None:
    login = _login()
    login.response(_hello(response=b"\x01" * 32))
    assert login.end(1156) is True  # pending: one failed attempt, with the protocol's error
    assert (login.state, login.error) == (auth.AuthState.CLOSED, 1156)
    assert login.end() is False
    login = _login()
    login.response(_hello())
    login.response(_hello(user=b"admin", response=b"", change_user=True))
    assert (login.state, login.error) == (auth.AuthState.CLOSED, 1045)


def _ssl(login: auth.Login) -> None:
    login.ssl_request()


def _first_login(login: auth.Login) -> None:
    login.response(_hello())


@pytest.mark.parametrize(
    ("before", "step", "code"),
    [
        # Auth data before any response.
        (None, lambda login: login.auth_data(b"x", secure=False), 1043),
        (_ssl, _ssl, 1043),  # a second SSLRequest
        (None, lambda login: login.response(_hello(change_user=True)), 1043),  # before a login
        (_first_login, _first_login, 1043),  # a second response after the verdict
        (None, lambda login: login._move(auth.Move.ACCEPT), 1105),  # our verdict, nothing asked
    ],
)
def test_auth_unknown_transitions_raise(
    before: Callable[[auth.Login], None] | None, step: Callable[[auth.Login], object], code: int
) -> None:
    login = _login()
    if before is not None:
        before(login)
    with pytest.raises(ProtocolError) as info:
        step(login)
    assert info.value.code == code
    assert isinstance(info.value, errors.LocalProtocolError) is (code == 1105)


def test_auth_table_covers_every_state() -> None:
    table = auth._TRANSITIONS
    reached = {auth.AuthState.GREETING_SENT} | set(table.values())
    assert reached == set(auth.AuthState)
    assert all((state, auth.Move.END) in table for state in auth.AuthState)


def test_sans_io_modules_import_neither_asyncio_nor_core() -> None:
    # The codec, the persona and the policy modules (h11's rule); server.py and tls.py adapt.
    package = Path(errors.__file__).parent
    sans_io = [*package.glob("codec/*.py"), *package.glob("sql/*.py")]
    sans_io += [package / f"{name}.py" for name in ("auth", "commands", "errors", "passwords")]
    for path in sans_io:
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert name.split(".")[0] != "asyncio", path
                assert not name.startswith("honeypods.core"), path


def test_no_module_over_400_lines() -> None:
    package = Path(errors.__file__).parent
    sizes = {p.name: len(p.read_text().splitlines()) for p in package.rglob("*.py")}
    assert max(sizes.values()) <= 400, sizes
