"""The OpenSSH build the SSH lure impersonates: Debian 11 (bullseye), OpenSSH 8.4p1-5+deb11u3.

Data only, sans-IO: this module imports neither asyncio nor anything of ``honeypods.core`` (nor the
SSH library), so the persona can be read, tested and compared with a real sshd on its own.

Why this build: OpenSSH 8.5 and later add ``sntrup761x25519-sha512@openssh.com`` to their key
exchange list (first from 9.0), and a modern client picks it whenever the server offers it; the SSH
library cannot do it without liboqs, so a persona that offers it cannot finish a key exchange. 8.4p1
offers nothing the library cannot negotiate, and bullseye still runs on many hosts.

Every list below is in the exact order that build sends, taken from OpenSSH 8.4p1's sources:

* key exchange: ``KEX_SERVER_KEX`` in ``myproposal.h``, then the strict-kex marker that Debian's
  CVE-2023-48795 (Terrapin) backport in ``+deb11u3`` appends (DSA-5586-1). Before 9.6 the server does
  not advertise ``ext-info-s``; it still answers a client's ``ext-info-c``.
* host keys: ``list_hostkey_types()`` in ``sshd.c`` walks the default HostKey files in order (RSA,
  ECDSA, Ed25519); RSA contributes ``rsa-sha2-512,rsa-sha2-256`` and then ``ssh-rsa``.
* ciphers and MACs: ``KEX_SERVER_ENCRYPT`` and ``KEX_SERVER_MAC``; compression: ``none,zlib@openssh.com``
  (``Compression`` defaults to delayed).
* ``server-sig-algs`` in SSH_MSG_EXT_INFO: ``sshkey_alg_list(0, 1, 1, ',')``, the order of
  ``keytypes[]`` in ``sshkey.c`` without certificates and without XMSS (not built by Debian); 8.4 sends
  no other extension.
* user authentication: ``authmethods[]`` order in ``auth2.c``; Debian's sshd_config turns
  ``ChallengeResponseAuthentication`` off, so the default list is ``publickey,password``.
"""

from __future__ import annotations

from typing import Final

SERVER_VERSION: Final = "SSH-2.0-OpenSSH_8.4p1 Debian-5+deb11u3"

KEX_ALGS: Final = (
    "curve25519-sha256",
    "curve25519-sha256@libssh.org",
    "ecdh-sha2-nistp256",
    "ecdh-sha2-nistp384",
    "ecdh-sha2-nistp521",
    "diffie-hellman-group-exchange-sha256",
    "diffie-hellman-group16-sha512",
    "diffie-hellman-group18-sha512",
    "diffie-hellman-group14-sha256",
)
# Appended after KEX_ALGS in the KEXINIT; markers, not algorithms.
KEX_MARKERS: Final = ("kex-strict-s-v00@openssh.com",)

HOST_KEY_ALGS: Final = (
    "rsa-sha2-512",
    "rsa-sha2-256",
    "ssh-rsa",
    "ecdsa-sha2-nistp256",
    "ssh-ed25519",
)

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

SERVER_SIG_ALGS: Final = (
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
# The largest packet length sshd reads; a longer one is answered with DISC_PACKET_CORRUPT.
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
