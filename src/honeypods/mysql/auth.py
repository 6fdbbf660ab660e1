"""The MySQL decoy's login dialogue: what it answers at each step, as one state machine.

Policy, per login attempt (MySQL 8.0 with accounts on ``Accounts.plugin``):

* The client answered the greeting with the account's plugin: its scramble is checked against the
  accepted passwords of that user. Otherwise it gets an AuthSwitchRequest to the account's plugin
  with the same salt, as MySQL does, and that answer is checked. A client that cannot switch
  (no CLIENT_PLUGIN_AUTH) gets 1251.
* ``caching_sha2_password``: a scramble that matches is a cache hit (fast-auth success, then OK).
  Anything else gets "perform full authentication", exactly as a real server whose cache does not
  hold the user. Over TLS the client then sends the password in the clear; without TLS it asks for
  the RSA public key and sends the password encrypted with it. Either way the plaintext is kept
  for the login event and checked. Without an RSA key the key request is refused with 1045.
* ``mysql_native_password``: the SHA-1 scramble is checked; a mismatch is 1045.
* An empty response is an empty password ("using password: NO").
* A login naming a database the account may not use is refused with that database's error.

States (``AuthState``) and the one transition table (``_TRANSITIONS``), keyed by a state and a
``Move``, which is either a packet of the client's or an answer of ours:

* Rule 1. The dialogue starts with the greeting sent, ``GREETING_SENT``. The client answers with a
  HandshakeResponse41 (``RESPONSE``, to ``HANDSHAKE_RECEIVED``) or, if the greeting offered
  CLIENT_SSL, with an SSLRequest (``SSL_REQUEST``, to ``TLS``); in ``TLS`` the response comes
  inside the encrypted stream.
* Rule 2. ``HANDSHAKE_RECEIVED`` is our move, made at once: an AuthSwitchRequest (``SWITCH``, to
  ``SWITCH_SENT``), caching_sha2's "perform full authentication" (``FULL_AUTH``, to
  ``FULL_AUTH``), or the verdict.
* Rule 3. The states that wait for auth data (``SWITCH_SENT``, ``FULL_AUTH``, ``KEY_SENT``) read
  the client's packet (``AUTH_DATA``) in their own terms and stay; our answer moves on: full
  authentication after a switch, the public key after a key request (``PUBLIC_KEY``, to
  ``KEY_SENT``), or the verdict. There is at most one switch and one key.
* Rule 4. The verdict: ``ACCEPT`` (OK) to ``LOGGED_IN``, ``REFUSE`` (ERR) to ``CLOSED``. In
  ``LOGGED_IN`` a COM_CHANGE_USER is a new attempt (``CHANGE_USER``, to ``HANDSHAKE_RECEIVED``).
* Rule 5. ``END`` (the client left, or broke the protocol) leads to ``CLOSED`` from every state.
  An attempt between its response and its verdict (``pending``) is then abandoned: still one
  attempt, logged as failed.
* Rule 6. Any other pair is an unknown transition. For a client packet it raises
  ``ProtocolError`` 1043 Bad handshake, what MySQL answers a dialogue it cannot follow; for an
  answer of ours, ``LocalProtocolError`` (a bug).

Sans-IO: no asyncio, nothing of ``honeypods.core``; the adapter sends the replies and logs.
"""

from __future__ import annotations

import enum
from typing import Final

from honeypods.mysql.codec.constants import (
    CACHING_SHA2,
    CLIENT_PLUGIN_AUTH,
    CLIENT_SECURE_CONNECTION,
    FAST_AUTH_SUCCESS,
    NATIVE,
    PERFORM_FULL_AUTHENTICATION,
    REQUEST_PUBLIC_KEY,
)
from honeypods.mysql.codec.packets import AuthMoreData, AuthSwitch, HandshakeResponse, Ok, Reply
from honeypods.mysql.errors import (
    ER_1043_BAD_HANDSHAKE,
    ER_1251_NOT_SUPPORTED_AUTH_MODE,
    Err,
    LocalProtocolError,
    ProtocolError,
    er_1045_access_denied,
)
from honeypods.mysql.passwords import EMPTY_RESPONSES, Accounts, RsaKeys
from honeypods.mysql.sql import database_named
from honeypods.mysql.sql.schema import SCHEMAS, Schemas


class AuthState(enum.Enum):
    GREETING_SENT = "greeting_sent"  # HandshakeV10 sent; the response or an SSLRequest is due
    TLS = "tls"  # SSLRequest received; the response comes inside TLS
    HANDSHAKE_RECEIVED = "handshake_received"  # a response (or COM_CHANGE_USER) to answer
    SWITCH_SENT = "switch_sent"  # AuthSwitchRequest sent; the scramble for our plugin is due
    FULL_AUTH = "full_auth"  # full authentication asked; a key request or the password is due
    KEY_SENT = "key_sent"  # the RSA public key sent; the encrypted password is due
    LOGGED_IN = "logged_in"  # decided: accepted; commands follow
    CLOSED = "closed"  # decided: refused; or the client left

    # Singletons compared by identity; Enum's own __hash__ runs in Python on every lookup.
    __hash__ = object.__hash__


class Move(enum.Enum):
    # The client's packets.
    SSL_REQUEST = "ssl_request"
    RESPONSE = "response"
    CHANGE_USER = "change_user"
    AUTH_DATA = "auth_data"
    END = "end"
    # Our answers.
    SWITCH = "switch"
    FULL_AUTH = "full_auth"
    PUBLIC_KEY = "public_key"
    ACCEPT = "accept"
    REFUSE = "refuse"

    __hash__ = object.__hash__


_CLIENT_MOVES: Final = frozenset(
    (Move.SSL_REQUEST, Move.RESPONSE, Move.CHANGE_USER, Move.AUTH_DATA, Move.END)
)
_VERDICTS: Final = {Move.ACCEPT: AuthState.LOGGED_IN, Move.REFUSE: AuthState.CLOSED}
_TRANSITIONS: Final[dict[tuple[AuthState, Move], AuthState]] = {
    (AuthState.GREETING_SENT, Move.SSL_REQUEST): AuthState.TLS,
    (AuthState.GREETING_SENT, Move.RESPONSE): AuthState.HANDSHAKE_RECEIVED,
    (AuthState.TLS, Move.RESPONSE): AuthState.HANDSHAKE_RECEIVED,
    (AuthState.LOGGED_IN, Move.CHANGE_USER): AuthState.HANDSHAKE_RECEIVED,
    (AuthState.HANDSHAKE_RECEIVED, Move.SWITCH): AuthState.SWITCH_SENT,
    (AuthState.HANDSHAKE_RECEIVED, Move.FULL_AUTH): AuthState.FULL_AUTH,
    (AuthState.SWITCH_SENT, Move.AUTH_DATA): AuthState.SWITCH_SENT,
    (AuthState.SWITCH_SENT, Move.FULL_AUTH): AuthState.FULL_AUTH,
    (AuthState.FULL_AUTH, Move.AUTH_DATA): AuthState.FULL_AUTH,
    (AuthState.FULL_AUTH, Move.PUBLIC_KEY): AuthState.KEY_SENT,
    (AuthState.KEY_SENT, Move.AUTH_DATA): AuthState.KEY_SENT,
    **{
        (state, verdict): after
        for state in (
            AuthState.HANDSHAKE_RECEIVED,
            AuthState.SWITCH_SENT,
            AuthState.FULL_AUTH,
            AuthState.KEY_SENT,
        )
        for verdict, after in _VERDICTS.items()
    },
    **{(state, Move.END): AuthState.CLOSED for state in AuthState},
}
# Between a response and its verdict: leaving here abandons an attempt.
_PENDING: Final = frozenset(
    (AuthState.HANDSHAKE_RECEIVED, AuthState.SWITCH_SENT, AuthState.FULL_AUTH, AuthState.KEY_SENT)
)
_OK: Final = Ok()
_FAST_AUTH: Final = AuthMoreData(FAST_AUTH_SUCCESS)
_FULL_AUTH: Final = AuthMoreData(PERFORM_FULL_AUTHENTICATION)


class Login:
    """The login dialogue of one connection: the client's packets in, our replies out.

    After each step ``state`` says where the dialogue is; once it is ``LOGGED_IN`` or ``CLOSED``
    the attempt is decided, and ``hello``, ``password``, ``error`` and the rest describe it.

    Args:
        accounts: the logins let in and their plugin.
        keys: the process's RSA key pair.
        salt: the greeting's 20-byte salt; every scramble of this connection is made with it.
        host: the client's address, as access-denied errors name it.
        schemas: the install's schemas, which a login may name as its database.
    """

    __slots__ = (
        "accounts",
        "checked_plugin",
        "checked_response",
        "database",
        "error",
        "hello",
        "host",
        "keys",
        "password",
        "plaintext",
        "salt",
        "schemas",
        "state",
    )

    def __init__(
        self, accounts: Accounts, keys: RsaKeys, salt: bytes, host: str, schemas: Schemas = SCHEMAS
    ) -> None:
        self.accounts = accounts
        self.schemas = schemas
        self.keys = keys
        self.salt = salt
        self.host = host
        self.state = AuthState.GREETING_SENT
        self.hello: HandshakeResponse | None = None
        # The plugin and response the verdict was reached on (the switch's, if there was one).
        self.checked_plugin = ""
        self.checked_response = b""
        # A plaintext password full authentication revealed, accepted or not.
        self.plaintext: bytes | None = None
        # The verdict: the accepted password the client proved, and the error code if refused.
        self.password: bytes | None = None
        self.error = 0
        self.database: str | None = None

    @property
    def pending(self) -> bool:
        """Whether an attempt is under way: responded to, not yet decided."""
        return self.state in _PENDING

    def _move(self, move: Move) -> None:
        after = _TRANSITIONS.get((self.state, move))
        if after is None:
            if move in _CLIENT_MOVES:
                raise ProtocolError(ER_1043_BAD_HANDSHAKE)
            raise LocalProtocolError(f"cannot {move.name} in auth state {self.state.name}")
        self.state = after

    # -- the client's packets ------------------------------------------------------------------------

    def ssl_request(self) -> None:
        """An SSLRequest: TLS follows, and the response inside it."""
        self._move(Move.SSL_REQUEST)

    def response(self, hello: HandshakeResponse) -> list[Reply]:
        """A HandshakeResponse41 or COM_CHANGE_USER: a new attempt. Returns the replies."""
        self._move(Move.CHANGE_USER if hello.change_user else Move.RESPONSE)
        self.hello = hello
        self.plaintext = self.password = self.database = None
        self.error = 0
        plugin = self.accounts.plugin
        client_plugin = hello.plugin
        if not client_plugin and hello.capabilities & CLIENT_SECURE_CONNECTION:
            client_plugin = NATIVE
        if client_plugin == plugin:
            return self._check(plugin, hello.auth_response)
        self.checked_plugin, self.checked_response = client_plugin, hello.auth_response
        if not hello.capabilities & CLIENT_PLUGIN_AUTH:
            return self._refuse(ER_1251_NOT_SUPPORTED_AUTH_MODE)
        self._move(Move.SWITCH)
        return [AuthSwitch(plugin, self.salt + b"\0")]

    def auth_data(self, data: bytes, *, secure: bool) -> list[Reply]:
        """A packet of the auth dialogue. Returns the replies.

        Args:
            data: the packet.
            secure: the connection runs over TLS, so a cleartext password is acceptable.
        """
        self._move(Move.AUTH_DATA)
        state = self.state
        if state is AuthState.SWITCH_SENT:
            return self._check(self.accounts.plugin, data)
        if state is AuthState.FULL_AUTH and data == REQUEST_PUBLIC_KEY:
            pem = self.keys.public_key()
            if not pem:
                return self._refuse(self._denied())
            self._move(Move.PUBLIC_KEY)
            return [AuthMoreData(pem)]
        # Full authentication: a client holding the key already skips the request and sends the
        # RSA-encrypted password at once.
        assert self.hello is not None  # noqa: S101 - a response came first (the table says so)
        user = self.hello.user
        password = self.keys.decrypt(data, self.salt)
        if password is None:
            if state is AuthState.FULL_AUTH and data.endswith(b"\0"):
                # Over TLS the password comes in the clear, as MySQL expects. Some clients
                # (Connector/Python's pure driver) send it so without TLS too: MySQL refuses it
                # there; we refuse it and keep it.
                self.plaintext = data[:-1]
                if secure and self.accounts.knows(user, self.plaintext):
                    return self._accept(self.plaintext)
            return self._refuse(self._denied())
        self.plaintext = password
        if self.accounts.knows(user, password):
            return self._accept(password)
        return self._refuse(self._denied())

    def refused(self, hello: HandshakeResponse, error: int) -> None:
        """A response refused unread (a pre-4.1 client's): one failed attempt, and the end."""
        self.hello = hello
        self.checked_plugin, self.checked_response = hello.plugin, hello.auth_response
        self.error = error
        self._move(Move.END)

    def end(self, error: int = 0) -> bool:
        """The client left, or broke the protocol with ``error``.

        Returns:
            Whether that abandoned an attempt, which is then one failed login.
        """
        abandoned = self.pending
        if abandoned and error:
            self.error = error
        self._move(Move.END)
        return abandoned

    # -- our answers ---------------------------------------------------------------------------------

    def _check(self, plugin: str, response: bytes) -> list[Reply]:
        assert self.hello is not None  # noqa: S101 - set by response()
        self.checked_plugin, self.checked_response = plugin, response
        password = self.accounts.check(self.hello.user, plugin, response, self.salt)
        if password is None:
            if plugin == CACHING_SHA2 and response not in EMPTY_RESPONSES:
                self._move(Move.FULL_AUTH)
                return [_FULL_AUTH]
            return self._refuse(self._denied())
        if plugin == CACHING_SHA2 and password:
            return [_FAST_AUTH, *self._accept(password)]
        return self._accept(password)

    def _accept(self, password: bytes) -> list[Reply]:
        assert self.hello is not None  # noqa: S101 - set by response()
        self.password = password
        if self.hello.database:
            user = self.hello.user.decode("utf-8", "backslashreplace")
            name = self.hello.database.decode("utf-8", "backslashreplace")
            chosen = database_named(name, user, self.schemas)
            if isinstance(chosen, Err):
                # The password was right; the login still fails, as MySQL's does.
                return self._refuse(chosen)
            self.database = chosen
        self._move(Move.ACCEPT)
        return [_OK]

    def _refuse(self, err: Err) -> list[Reply]:
        self.error = err.code
        self._move(Move.REFUSE)
        return [err]

    def _denied(self) -> Err:
        assert self.hello is not None  # noqa: S101 - set by response()
        used = self.checked_response not in EMPTY_RESPONSES
        user = self.hello.user.decode("utf-8", "backslashreplace")
        return er_1045_access_denied(user, self.host, used)
