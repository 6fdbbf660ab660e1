"""The events of the SSH lure: ids, fields and their meaning (docs/events.md)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from honeypods.core.catalogue import BOOL, INT, STR, EventSpec

EVENTS: Final[Mapping[str, EventSpec]] = {
    "ssh.client_version": EventSpec(
        "alert",
        "The client's identification string.",
        {
            "ssh.client_version": (STR, "Identification string as sent (capped)."),
            "ssh.client_version_truncated": (BOOL, "The line was cut at the cap."),
            "ssh.invalid": (
                BOOL,
                "The line is no identification string OpenSSH accepts; it was answered as "
                "sshd does and the connection closed.",
            ),
        },
        required=("ssh.client_version",),
    ),
    "ssh.kex": EventSpec(
        "alert",
        "Key exchange completed, with the algorithms chosen and the client's fingerprint.",
        {
            "ssh.kex_algorithm": (STR, "Key exchange algorithm."),
            "ssh.host_key_algorithm": (STR, "Host key algorithm."),
            "ssh.cipher": (STR, "Cipher (client to server)."),
            "ssh.mac": (STR, "MAC (client to server)."),
            "ssh.compression": (STR, "Compression (client to server)."),
            "ssh.hassh": (STR, "HASSH fingerprint of the client's KEXINIT."),
            "ssh.hassh_algorithms": (STR, "The string HASSH is the MD5 of."),
        },
    ),
    "ssh.login": EventSpec(
        "alert",
        "One authentication attempt and its outcome.",
        {
            "user.name": (STR, "Username (capped)."),
            "event.outcome": (STR, "`success` or `failure`."),
            "ssh.auth_method": (
                STR,
                "`password`, `keyboard-interactive` or `publickey`; any other method named is "
                "recorded as sent (capped) and refused.",
            ),
            "ssh.password": (STR, "Password in plaintext (capped)."),
            "ssh.key_type": (STR, "Public key algorithm."),
            "ssh.key_fingerprint": (STR, "SHA256 fingerprint of the offered key."),
            "ssh.client_version": (STR, "Client identification string."),
            "ssh.attempt": (INT, "Number of this attempt on the connection, from 1."),
        },
        required=("user.name", "event.outcome", "ssh.auth_method"),
    ),
    "ssh.request": EventSpec(
        "alert",
        "A session request after an accepted login (never run): exec, shell, subsystem, ...",
        {
            "ssh.request": (
                STR,
                "`exec`, `shell`, `subsystem`, `pty-req`, `input` (a shell line), `direct-tcpip` "
                "or `tcpip-forward`.",
            ),
            "ssh.command": (
                STR,
                "Command line, shell line, subsystem name, terminal type or host:port (capped).",
            ),
            "ssh.command_truncated": (BOOL, "The command was cut at the cap."),
        },
        required=("ssh.request",),
    ),
    "ssh.disconnect": EventSpec(
        "alert",
        "Why the SSH session ended, as the protocol saw it.",
        {
            "ssh.disconnect_reason": (STR, "Reason text (capped)."),
            "ssh.disconnect_code": (INT, "SSH disconnect code, if any."),
            "ssh.disconnect_by": (STR, "`client` or `server`."),
        },
    ),
}
