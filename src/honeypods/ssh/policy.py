"""The SSH lure's policy: what the persona's sshd with its distribution's defaults answers, and
what of each connection is recorded.

Rules this module keeps:

1. It decides; the shim (``asyncssh_shim``) acts. Everything here is built on asyncssh's public
   ``SSHServer`` callbacks, plus the few questions the shim asks where asyncssh has no callback
   (the identification line, each authentication request, each failure, each offered public key,
   the end of key exchange). Those return a decision; only the shim touches the SSH protocol.
2. Every authentication request that names a method is one ``ssh.login`` event, numbered from 1
   on its connection. By default every one is refused with sshd's limits: MaxStartups (a random
   early drop before the banner), LoginGraceTime (closed without a message), MaxAuthTries (a
   DISCONNECT instead of the last failure) and sshd's failure timing (``timing``: auth2.c's
   per-user minimum rounded up by doubling, plus PAM's fail delay for a non-empty password).
   ``ssh-userauth`` may be requested again before every try, as paramiko does.
3. Listed credentials (``HONEYPODS_SSH_ACCEPT``) get in, and so does the planted honeytoken login
   (core/honeytokens.py), whose use is also one ``honeytoken.used``; their session channels are
   ``session.RefusingSession``: no shell, ever. Forwarding requests are recorded and refused as
   sshd's refusals read.
4. One ``ssh.disconnect`` per connection: the first reason noted is the one recorded.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence
from typing import Any, Final

import asyncssh

from honeypods.core import events, honeytokens
from honeypods.core.guard import Session
from honeypods.ssh import persona, timing, wire
from honeypods.ssh.session import RefusingSession
from honeypods.ssh.sshd import Policy

__all__ = ["Lure", "Policy"]

# Methods asyncssh asks the SSHServer callbacks about; the others are refused by policy here.
_LIBRARY_METHODS: Final = (b"password", b"publickey", b"keyboard-interactive")


class Lure(asyncssh.SSHServer):
    """One connection's policy, from accept to close: made by the shim's gate at accept, then
    handed to asyncssh as the connection's ``SSHServer``.

    Args:
        session: the guard's session of the connection.
        policy: the decoy's shared policy.
    """

    # One per connection, held open by the thousand before authentication.
    __slots__ = (
        "attempts",
        "client_version",
        "counted",
        "disconnected",
        "failures",
        "grace",
        "method",
        "policy",
        "requests",
        "session",
        "started",
        "user",
    )

    def __init__(self, session: Session, policy: Policy) -> None:
        self.session = session
        self.policy = policy
        self.counted = False
        self.disconnected = False
        self.grace: asyncio.TimerHandle | None = None
        self.client_version = ""
        self.user: str | None = None
        self.method = b""
        self.requests = 0
        self.failures = 0
        self.attempts = 0
        self.started = 0.0

    # -- before key exchange: asked by the shim's gate ---------------------------------------------

    def admit(self) -> bool:
        """Take a MaxStartups slot and start the LoginGraceTime clock, or refuse the connection.

        Returns:
            False when sshd would close it before its banner; the session is then closing.
        """
        policy = self.policy
        if policy.drop_startup():
            self.session.close("over_capacity")
            return False
        self.counted = True
        policy.startups += 1
        self.grace = asyncio.get_running_loop().call_later(
            policy.config.login_grace_time, self._grace_expired
        )
        return True

    def identified(self, line: bytes, bad: bool, transport: asyncio.Transport) -> bool:
        """Record the client's identification line and answer it as sshd does.

        Args:
            line: the line without its CR LF, as ``wire.read_identification`` cuts it.
            bad: whether sshd refuses the line for its bytes alone (NUL, lone CR, length).
            transport: where sshd's cleartext refusal is written.

        Returns:
            Whether key exchange goes on; otherwise the session is closing.
        """
        reply, software = wire.check_identification(line, bad)
        version, cut = events.clip(line)
        fields: dict[str, Any] = {"ssh.client_version": version}
        if cut:
            fields["ssh.client_version_truncated"] = True
        if reply:
            fields["ssh.invalid"] = True
        self.session.emit("ssh.client_version", fields)
        if reply:
            transport.write(reply)
            self.note_disconnect(reply.decode().strip(), None, "server")
            self.session.close("protocol_error")
            return False
        if software.startswith(persona.PROBE_PREFIX) or persona.SCANNER_MARK in software:
            self.note_disconnect("probe or scanner identification", None, "server")
            self.session.close("policy")
            return False
        self.client_version = version
        return True

    def kex_abandoned(self) -> None:
        """The connection closed after the server's KEXINIT, before asyncssh took it over."""
        if not self.disconnected:
            # What connection_lost records for a close the lure did not start, and when: asyncssh
            # reports a lost connection one loop turn later, after the guard's session.closed.
            reason = self.session.reason
            if reason not in (None, "eof"):
                asyncio.get_running_loop().call_soon(self.note_disconnect, reason, None, "server")

    def _grace_expired(self) -> None:
        # sshd's grace alarm exits without a DISCONNECT.
        self.grace = None
        self.note_disconnect("LoginGraceTime exceeded", None, "server")
        self.session.close("deadline")

    # -- the whole connection ----------------------------------------------------------------------

    def note_disconnect(self, reason: str, code: int | None, by: str) -> None:
        """Record why the connection ends, once: later reasons are the first one's consequences."""
        if self.disconnected:
            return
        self.disconnected = True
        fields: dict[str, Any] = {
            "ssh.disconnect_reason": events.clip_text(reason),
            "ssh.disconnect_by": by,
        }
        if code is not None:
            fields["ssh.disconnect_code"] = code
        self.session.emit("ssh.disconnect", fields)

    def release(self) -> None:
        """Leave the MaxStartups count and stop the LoginGraceTime clock (auth done, or gone)."""
        if self.counted:
            self.counted = False
            self.policy.startups -= 1
        if self.grace is not None:
            self.grace.cancel()
            self.grace = None

    def connection_lost(self, exc: Exception | None) -> None:
        self.release()
        if self.disconnected:
            return
        reason = self.session.reason
        if reason not in (None, "eof"):
            self.note_disconnect(reason, None, "server")
        elif isinstance(exc, asyncssh.ConnectionLost) or exc is None:
            # A plain TCP close: session.closed (reason eof) already says it all.
            self.disconnected = True
        elif isinstance(exc, asyncssh.DisconnectError):
            # asyncssh's own reason, for the log only: nothing of it was sent.
            self.note_disconnect(exc.reason, None, "server")

    def key_exchanged(
        self,
        *,
        kex: bytes,
        host_key: bytes,
        cipher: bytes,
        mac: bytes,
        compression: bytes,
        kexinit: bytes,
    ) -> None:
        """The first key exchange is done: its algorithms (client to server) and the client's
        KEXINIT payload, for HASSH."""
        fields: dict[str, Any] = {
            "ssh.kex_algorithm": kex.decode("ascii", "replace"),
            "ssh.host_key_algorithm": host_key.decode("ascii", "replace"),
            "ssh.cipher": cipher.decode("ascii", "replace"),
            "ssh.mac": mac.decode("ascii", "replace"),
            "ssh.compression": compression.decode("ascii", "replace"),
        }
        algorithms = wire.hassh_algorithms(kexinit)
        if algorithms is not None:
            fields["ssh.hassh_algorithms"] = events.clip_text(algorithms, events.LONG_TEXT_CAP)
            fields["ssh.hassh"] = hashlib.md5(
                algorithms.encode("utf-8", "backslashreplace"), usedforsecurity=False
            ).hexdigest()
        self.session.emit("ssh.kex", fields)

    # -- authentication: asked by the shim's connection --------------------------------------------

    async def auth_request(self, user: str, method: bytes) -> str | None:
        """One USERAUTH_REQUEST, before asyncssh looks at its method.

        Returns:
            The text of the DISCONNECT sshd sends instead of an answer, or None to go on.
        """
        if self.user is None:
            self.user = user
        elif user != self.user:
            return persona.DISC_CHANGE_OF_USER.format(
                self.user, "ssh-connection", user, "ssh-connection"
            )
        self.method = method
        self.requests += 1
        policy = self.policy
        if self.requests == 1:
            # sshd's per-connection setup (getpwnam, pam_start) before its timing starts.
            await policy.sleep(timing.SETUP_DELAY)
        self.started = policy.clock()
        if method not in _LIBRARY_METHODS:
            if method != b"none":
                # hostbased, gssapi-*: off in sshd's defaults; a refused attempt all the same.
                self._login(user, events.clip_text(method, 64), {}, success=False)
            # sshd answers no failure sooner than its per-user minimum (auth2.c), "none" included.
            await self._refused(user)
        return None

    def service_request(self, service: bytes) -> str | None:
        """auth2.c ``input_service_request``: ``ssh-userauth`` is accepted again and again until
        the user is authenticated (paramiko asks before every try); any other service ends the
        connection.

        Returns:
            The text of the DISCONNECT sshd sends, or None to accept.
        """
        if service == b"ssh-userauth":
            return None
        return persona.DISC_BAD_SERVICE.format(events.clip_text(service, 64))

    async def _refused(self, user: str, pam: float = 0.0) -> None:
        """Wait as sshd does before a refusal (``timing``): ``pam`` seconds of PAM first, then up
        to the per-user minimum, doubled until it is past what the request took."""
        policy = self.policy
        if pam > 0:
            await policy.sleep(pam)
        elapsed = policy.clock() - self.started
        answer = timing.minimum_time(policy.user_delay(user), elapsed)
        if answer > elapsed:
            await policy.sleep(answer - elapsed)

    def auth_failed(self) -> str | None:
        """auth2.c ``userauth_finish``: the first "none" is free; the MaxAuthTries-th failure is
        answered with a DISCONNECT instead.

        Returns:
            That DISCONNECT's text, or None to answer with USERAUTH_FAILURE and ``methods``.
        """
        if not (self.requests == 1 and self.method == b"none"):
            self.failures += 1
        if self.failures >= self.policy.config.max_auth_tries:
            return persona.DISC_TOO_MANY_FAILURES
        return None

    async def public_key_offered(self, user: str, key_data: bytes) -> bool:
        """Any public key or certificate blob offered, parsed by the library or not: refused."""
        self._login(
            user,
            "publickey",
            {
                "ssh.key_type": events.clip_text(wire.key_type(key_data)),
                "ssh.key_fingerprint": wire.key_fingerprint(key_data),
            },
            success=False,
        )
        await self._refused(user)
        return False

    def _login(self, user: str, method: str, extra: dict[str, Any], *, success: bool) -> None:
        self.attempts += 1
        fields: dict[str, Any] = {
            "user.name": events.clip_text(user),
            "event.outcome": "success" if success else "failure",
            "ssh.auth_method": method,
            "ssh.attempt": self.attempts,
        }
        if self.client_version:
            fields["ssh.client_version"] = self.client_version
        fields.update(extra)
        self.session.emit("ssh.login", fields)

    # -- authentication: asyncssh's SSHServer callbacks --------------------------------------------

    def begin_auth(self, username: str) -> bool:
        return True

    def auth_completed(self) -> None:
        self.release()

    def password_auth_supported(self) -> bool:
        return True

    def public_key_auth_supported(self) -> bool:
        return True

    def kbdint_auth_supported(self) -> bool:
        return self.policy.config.keyboard_interactive

    def get_kbdint_challenge(
        self, username: str, lang: str, submethods: str
    ) -> tuple[str, str, str, list[tuple[str, bool]]]:
        return ("", "", "", [(persona.KBDINT_PROMPT, False)])

    async def validate_kbdint_response(self, username: str, responses: Sequence[str]) -> bool:
        password = responses[0] if responses else ""
        return await self._password(username, password, "keyboard-interactive")

    async def validate_password(self, username: str, password: str) -> bool:
        return await self._password(username, password, "password")

    async def change_password(self, username: str, old_password: str, new_password: str) -> bool:
        return await self._password(username, old_password, "password")

    async def _password(self, username: str, password: str, method: str) -> bool:
        policy, prompt = self.policy, method == "keyboard-interactive"
        planted = policy.planted(username, password)
        # PermitEmptyPasswords no refuses an empty password before PAM, listed or not; the answer
        # to PAM's prompt goes to PAM whatever it is.
        success = planted or ((bool(password) or prompt) and (username, password) in policy.accept)
        self._login(username, method, {"ssh.password": events.clip_text(password)}, success=success)
        if planted:
            fields = policy.tokens.used("bastion-login", via="ssh")
            fields["user.name"] = events.clip_text(username)
            self.session.emit(honeytokens.EVENT, fields, rule=honeytokens.RULE)
        if success:
            return True
        pam = timing.pam_delay(policy.config.password_fail_delay, int(policy.wall()))
        if prompt:
            # Answered in a later packet than the request: PAM's delay, outside auth2.c's minimum.
            await policy.sleep(pam)
        else:
            await self._refused(username, pam if password else 0.0)
        return False

    # -- after authentication ----------------------------------------------------------------------

    def connection_requested(
        self, dest_host: str, dest_port: int, orig_host: str, orig_port: int
    ) -> bool:
        # A pivot attempt names its target: worth recording. sshd would connect; nothing here
        # does, and the refusal reads as the target's.
        target = events.clip_text(f"{dest_host}:{dest_port}")
        self.session.emit("ssh.request", {"ssh.request": "direct-tcpip", "ssh.command": target})
        raise asyncssh.ChannelOpenError(
            asyncssh.OPEN_CONNECT_FAILED, persona.OPEN_CONNECT_REFUSED, ""
        )

    def server_requested(self, listen_host: str, listen_port: int) -> bool:
        target = events.clip_text(f"{listen_host}:{listen_port}")
        self.session.emit("ssh.request", {"ssh.request": "tcpip-forward", "ssh.command": target})
        return False

    def session_requested(self) -> asyncssh.SSHServerSession[bytes]:
        return RefusingSession(self.session)
