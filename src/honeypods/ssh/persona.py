"""The OpenSSH builds the SSH lure impersonates, one ``Persona`` each, and what they share.

Data only, sans-IO: this module imports neither asyncio nor anything of ``honeypods.core`` (nor the
SSH library), so each persona can be read, tested and compared with a real sshd on its own.

The builds (``PERSONAS``), each with the name ``HONEYPODS_SSH_PERSONA`` pins:

* ``openssh-8.4p1-debian11``: Debian 11 (bullseye), 8.4p1-5+deb11u3.
* ``openssh-8.9p1-ubuntu22.04``: Ubuntu 22.04 (jammy), 8.9p1-3ubuntu0.10.
* ``openssh-9.2p1-debian12``: Debian 12 (bookworm), 9.2p1-2+deb12u10, the build that
  ``scripts/install-deps.sh`` installs; ``tests/integration/test_ssh_personas.py`` compares the
  lure with it on the wire.
* ``openssh-9.6p1-ubuntu24.04``: Ubuntu 24.04 (noble), 9.6p1-3ubuntu13.5.

OpenSSH 8.5 and later offer ``sntrup761x25519-sha512@openssh.com`` (8.5 to 8.9 after the ECDH
methods, 9.0 and later first), which a modern client picks whenever it is offered; the SSH library
does it only with liboqs, so ``ssh/sntrup.py`` does the server's half. No persona offers
``mlkem768x25519-sha256`` (OpenSSH 9.9).

Where each list comes from, in the exact order the build sends it:

* key exchange: ``KEX_SERVER_KEX`` in ``myproposal.h`` of that release, then the markers. Debian
  and Ubuntu backported strict key exchange (CVE-2023-48795, Terrapin) to 8.4p1 and 8.9p1, which
  append ``kex-strict-s-v00@openssh.com``; 9.6 appends ``ext-info-s`` too. Debian 12's 9.2p1 also
  offers the name ``sntrup761x25519-sha512`` first, as the real one here shows.
* host keys: ``list_hostkey_types()`` in ``sshd.c`` walks the default HostKey files in order (RSA,
  ECDSA, Ed25519); RSA contributes ``rsa-sha2-512,rsa-sha2-256``, and ``ssh-rsa`` too before 8.8.
* ciphers and MACs: ``KEX_SERVER_ENCRYPT`` and ``KEX_SERVER_MAC``, the same in all four;
  compression ``none,zlib@openssh.com`` (``Compression`` defaults to delayed).
* ``server-sig-algs`` in SSH_MSG_EXT_INFO: up to 9.5 ``sshkey_alg_list(0, 1, 1, ',')``, the order
  of ``keytypes[]`` (8.x) or ``keyimpls[]`` (9.x) in ``sshkey.c`` without certificates and XMSS;
  from 9.6 the signature algorithms of ``PubkeyAcceptedAlgorithms`` (``kex_set_server_sig_algs``).
  Then ``publickey-hostbound@openssh.com`` (8.9) and ``ping@openssh.com`` (9.5), both ``0``.
* user authentication: ``authmethods[]`` order in ``auth2.c``; the distributions' sshd_config
  turn keyboard-interactive off, so the default list is ``publickey,password``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

CIPHERS: Final = (
    "chacha20-poly1305@openssh.com",
    "aes128-ctr",
    "aes192-ctr",
    "aes256-ctr",
    "aes128-gcm@openssh.com",
    "aes256-gcm@openssh.com",
)

MACS: Final = (
    "umac-64-etm@openssh.com",
    "umac-128-etm@openssh.com",
    "hmac-sha2-256-etm@openssh.com",
    "hmac-sha2-512-etm@openssh.com",
    "hmac-sha1-etm@openssh.com",
    "umac-64@openssh.com",
    "umac-128@openssh.com",
    "hmac-sha2-256",
    "hmac-sha2-512",
    "hmac-sha1",
)

COMPRESSION: Final = ("none", "zlib@openssh.com")


@dataclass(frozen=True)
class Persona:
    """One OpenSSH build: what it sends before authentication."""

    name: str
    # The distribution and package version.
    build: str
    server_version: str
    kex_algs: tuple[str, ...]
    # Appended after kex_algs in the KEXINIT; markers, not algorithms.
    kex_markers: tuple[str, ...]
    host_key_algs: tuple[str, ...]
    server_sig_algs: tuple[str, ...]
    # EXT_INFO extensions after server-sig-algs, (name, value), in order.
    extensions: tuple[tuple[str, str], ...]
    ciphers: tuple[str, ...] = CIPHERS
    macs: tuple[str, ...] = MACS
    compression: tuple[str, ...] = COMPRESSION


_DH: Final = (
    "diffie-hellman-group-exchange-sha256",
    "diffie-hellman-group16-sha512",
    "diffie-hellman-group18-sha512",
    "diffie-hellman-group14-sha256",
)
_ECDH: Final = (
    "curve25519-sha256",
    "curve25519-sha256@libssh.org",
    "ecdh-sha2-nistp256",
    "ecdh-sha2-nistp384",
    "ecdh-sha2-nistp521",
)
SNTRUP: Final = "sntrup761x25519-sha512@openssh.com"
_STRICT: Final = "kex-strict-s-v00@openssh.com"

_HOST_KEY_ALGS: Final = ("rsa-sha2-512", "rsa-sha2-256", "ecdsa-sha2-nistp256", "ssh-ed25519")

# keytypes[] of 8.x's sshkey.c.
_SIG_ALGS_8: Final = (
    "ssh-ed25519",
    "sk-ssh-ed25519@openssh.com",
    "ssh-rsa",
    "rsa-sha2-256",
    "rsa-sha2-512",
    "ssh-dss",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ecdsa-sha2-nistp256@openssh.com",
    "webauthn-sk-ecdsa-sha2-nistp256@openssh.com",
)
# keyimpls[] of 9.x's sshkey.c.
_SIG_ALGS_9: Final = (
    "ssh-ed25519",
    "sk-ssh-ed25519@openssh.com",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ecdsa-sha2-nistp256@openssh.com",
    "webauthn-sk-ecdsa-sha2-nistp256@openssh.com",
    "ssh-dss",
    "ssh-rsa",
    "rsa-sha2-256",
    "rsa-sha2-512",
)
# KEX_DEFAULT_PK_ALG's signature algorithms, each once (9.6's kex_set_server_sig_algs).
_SIG_ALGS_96: Final = (
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
    "rsa-sha2-512",
    "rsa-sha2-256",
)
_HOSTBOUND: Final = ("publickey-hostbound@openssh.com", "0")


PERSONAS: Final = {
    p.name: p
    for p in (
        Persona(
            name="openssh-8.4p1-debian11",
            build="Debian 11 (bullseye), openssh-server 1:8.4p1-5+deb11u3",
            server_version="SSH-2.0-OpenSSH_8.4p1 Debian-5+deb11u3",
            kex_algs=_ECDH + _DH,
            kex_markers=(_STRICT,),
            host_key_algs=("rsa-sha2-512", "rsa-sha2-256", "ssh-rsa", *_HOST_KEY_ALGS[2:]),
            server_sig_algs=_SIG_ALGS_8,
            extensions=(),
        ),
        Persona(
            name="openssh-8.9p1-ubuntu22.04",
            build="Ubuntu 22.04 (jammy), openssh-server 1:8.9p1-3ubuntu0.10",
            server_version="SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.10",
            kex_algs=(*_ECDH, SNTRUP, *_DH),
            kex_markers=(_STRICT,),
            host_key_algs=_HOST_KEY_ALGS,
            server_sig_algs=_SIG_ALGS_8,
            extensions=(_HOSTBOUND,),
        ),
        Persona(
            name="openssh-9.2p1-debian12",
            build="Debian 12 (bookworm), openssh-server 1:9.2p1-2+deb12u10",
            server_version="SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10",
            kex_algs=("sntrup761x25519-sha512", SNTRUP, *_ECDH, *_DH),
            kex_markers=(_STRICT,),
            host_key_algs=_HOST_KEY_ALGS,
            server_sig_algs=_SIG_ALGS_9,
            extensions=(_HOSTBOUND,),
        ),
        Persona(
            name="openssh-9.6p1-ubuntu24.04",
            build="Ubuntu 24.04 (noble), openssh-server 1:9.6p1-3ubuntu13.5",
            server_version="SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13.5",
            kex_algs=(SNTRUP, *_ECDH, *_DH),
            kex_markers=("ext-info-s", _STRICT),
            host_key_algs=_HOST_KEY_ALGS,
            server_sig_algs=_SIG_ALGS_96,
            extensions=(_HOSTBOUND, ("ping@openssh.com", "0")),
        ),
    )
}
# The persona of callers that name none and have no seed (tests building a Policy directly).
DEFAULT: Final = PERSONAS["openssh-8.4p1-debian11"]

# Host key files as sshd names them, with the type and size ssh-keygen -A makes for this version.
HOST_KEYS: Final = (
    ("ssh_host_rsa_key", "ssh-rsa", 3072),
    ("ssh_host_ecdsa_key", "ecdsa-sha2-nistp256", 256),
    ("ssh_host_ed25519_key", "ssh-ed25519", 256),
)

AUTH_METHODS: Final = ("publickey", "password")
AUTH_METHODS_KBDINT: Final = ("publickey", "password", "keyboard-interactive")

# Texts sshd writes in the clear before key exchange (kex.c send_error), then closes.
IDENT_INVALID: Final = b"Invalid SSH identification string.\r\n"
IDENT_MAJOR_DIFFERS: Final = b"Protocol major versions differ.\r\n"
IDENT_MAX_LEN: Final = 8192  # SSH_MAX_BANNER_LEN

# SSH_MSG_DISCONNECT texts sshd sends (packet.c, auth.c, auth2.c); lang is always empty.
DISC_PROTOCOL_ERROR: Final = 2
DISC_TOO_MANY_FAILURES: Final = "Too many authentication failures"
DISC_PACKET_CORRUPT: Final = "Packet corrupt"
# The largest packet length sshd reads; a longer one ends the connection: sshd queues a
# DISC_PACKET_CORRUPT DISCONNECT and exits before writing it (sshpkt_fatal).
MAX_PACKET_LEN: Final = 256 * 1024  # PACKET_MAX_SIZE in packet.c
DISC_CHANGE_OF_USER: Final = "Change of username or service not allowed: ({},{}) -> ({},{})"
# A SERVICE_REQUEST for anything but ssh-userauth before authentication (auth2.c).
DISC_BAD_SERVICE: Final = "bad service request {}"

# Client software strings sshd hangs up on silently (compat.c SSH_BUG_PROBE / SSH_BUG_SCANNER).
PROBE_PREFIX: Final = "Probe-"
SCANNER_MARK: Final = "SSH_Version_Mapper"

# SSH_MSG_CHANNEL_OPEN_FAILURE texts (serverloop.c): a refused open is "open failed"; a forward
# whose connect fails carries strerror's text instead.
OPEN_FAILED: Final = "open failed"
OPEN_CONNECT_REFUSED: Final = "Connection refused"

# The keyboard-interactive prompt PAM's conversation sends through sshd.
KBDINT_PROMPT: Final = "Password: "
