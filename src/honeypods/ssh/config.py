"""Settings of the SSH lure: ``HONEYPODS_SSH_*``, their defaults and their validation."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from honeypods.core.settings import ConfigError
from honeypods.ssh.persona import PERSONAS


def parse_max_startups(value: str) -> tuple[int, int, int]:
    """sshd's MaxStartups: ``start:rate:full`` or a single number (start = full).

    Raises:
        ValueError: the value is malformed.
    """
    parts = value.split(":")
    if len(parts) == 1:
        start = full = int(parts[0], 10)
        rate = 100
    elif len(parts) == 3:
        start, rate, full = (int(p, 10) for p in parts)
    else:
        raise ValueError("expected start:rate:full or a number")
    if not (0 < start <= full and 0 < rate <= 100):
        raise ValueError("need 0 < start <= full and 0 < rate <= 100")
    return start, rate, full


@dataclass(frozen=True)
class SshConfig:
    """SSH lure with an OpenSSH persona."""

    # Port to listen on.
    port: int = 2222
    # OpenSSH build impersonated (docs/personas.md): openssh-8.4p1-debian11,
    # openssh-8.9p1-ubuntu22.04, openssh-9.2p1-debian12 or openssh-9.6p1-ubuntu24.04. Empty: drawn
    # from HONEYPODS_PERSONA_SEED, so one install keeps its persona across restarts.
    persona: str = ""
    # Identification string sent first, without the trailing CR LF. Empty: the persona's. The
    # algorithm lists stay the persona's, so another OpenSSH version here is a tell.
    server_version: str = ""
    # Directory holding ssh_host_{rsa,ecdsa,ed25519}_key. A missing key is derived from
    # HONEYPODS_PERSONA_SEED: the same seed gives the same keys after a restart or an upgrade.
    host_key_dir: str = ""
    # Credentials let in (user:password); empty refuses everyone, as a lure should by default.
    accept: tuple[str, ...] = ()
    # Authentication attempts per connection before disconnecting (OpenSSH MaxAuthTries).
    max_auth_tries: int = 6
    # Seconds to authenticate before disconnecting (OpenSSH LoginGraceTime).
    login_grace_time: float = 120.0
    # Unauthenticated connections before new ones are dropped: sshd's MaxStartups start:rate:full.
    max_startups: str = "10:30:100"
    # Offer keyboard-interactive (PAM's "Password: " prompt), as KbdInteractiveAuthentication yes.
    keyboard_interactive: bool = False
    # pam_unix's fail delay in seconds, which PAM varies by 0.5-1.5 times; 0 for none. A failed
    # password is answered after it, rounded up as sshd rounds (ssh/timing.py).
    password_fail_delay: float = 2.0
    # sshd moduli file for DH group exchange (such as a host's /etc/ssh/moduli); empty uses the
    # subset of Debian's that the package ships.
    moduli_file: str = ""

    def listens(self) -> list[tuple[str, int]]:
        """(setting, port) for every port it binds."""
        return [("HONEYPODS_SSH_PORT", self.port)]

    def check(self) -> None:
        """Raises:
        ConfigError: a value is out of range, or a host key file is not a key."""
        for cred in self.accept:
            if ":" not in cred:
                raise ConfigError(f"HONEYPODS_SSH_ACCEPT: {cred!r} is not user:password")
        if self.persona and self.persona not in PERSONAS:
            raise ConfigError(
                f"HONEYPODS_SSH_PERSONA: {self.persona!r} is none of " + ", ".join(PERSONAS)
            )
        version = self.server_version or "SSH-2.0-"
        if not version.startswith("SSH-2.0-") or len(version) > 253 or not version.isprintable():
            raise ConfigError("HONEYPODS_SSH_SERVER_VERSION: SSH-2.0-..., printable, at most 253")
        if not version.isascii():
            raise ConfigError("HONEYPODS_SSH_SERVER_VERSION must be ASCII")
        if self.max_auth_tries < 1:
            raise ConfigError("HONEYPODS_SSH_MAX_AUTH_TRIES must be at least 1")
        if self.login_grace_time <= 0 or self.password_fail_delay < 0:
            raise ConfigError("HONEYPODS_SSH_LOGIN_GRACE_TIME > 0, PASSWORD_FAIL_DELAY >= 0")
        try:
            parse_max_startups(self.max_startups)
        except ValueError as exc:
            raise ConfigError(f"HONEYPODS_SSH_MAX_STARTUPS={self.max_startups!r}: {exc}") from None
        if self.moduli_file and not Path(self.moduli_file).is_file():
            raise ConfigError(f"HONEYPODS_SSH_MODULI_FILE: no file {self.moduli_file}")
        if self.host_key_dir and not Path(self.host_key_dir).is_dir():
            raise ConfigError(f"HONEYPODS_SSH_HOST_KEY_DIR: no directory {self.host_key_dir}")
        for name in ("ssh_host_rsa_key", "ssh_host_ecdsa_key", "ssh_host_ed25519_key"):
            path = Path(self.host_key_dir or "/nonexistent", name)
            if not path.is_file():
                continue
            try:
                with path.open("rb") as key:
                    head = key.read(11)
            except OSError as exc:
                raise ConfigError(f"HONEYPODS_SSH_HOST_KEY_DIR: {path}: {exc.strerror}") from None
            if head != b"-----BEGIN ":
                raise ConfigError(f"HONEYPODS_SSH_HOST_KEY_DIR: {path} is not a PEM/OpenSSH key")
