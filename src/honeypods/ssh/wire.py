"""What the SSH lure reads from a client's bytes by itself: the identification line, the KEXINIT
name-lists HASSH is computed from, the key type and fingerprint of an offered public key.

Rules this module keeps:

1. Sans-IO, as the persona: it imports neither asyncio nor anything of ``honeypods.core``, nor the
   SSH library. Functions take bytes and return values.
2. Malformed input is an answer, never an exception: a short or odd buffer gives ``None``, an
   empty string or the reply sshd would send.
3. The identification line is judged as OpenSSH 8.4's ``kex_exchange_identification`` judges it,
   with its limits (``persona.IDENT_MAX_LEN``) and its texts.
"""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Final

from honeypods.ssh import persona

# sscanf("SSH-%d.%d-%[^\n]") in kex.c: two integers and at least one more character.
_IDENT: Final = re.compile(rb"SSH-\s*([+-]?\d+)\.\s*([+-]?\d+)-(.+)", re.DOTALL)
# More significant digits than an int holds cannot be a version sshd accepts; Python's int() would
# refuse a few thousand of them with ValueError.
_MAX_DIGITS: Final = 9


def read_identification(buf: bytes) -> tuple[bytes, bytes, bool] | None:
    """Cut the identification line off the start of ``buf``, as sshd reads it byte by byte.

    Returns:
        None while the line may still be valid and is not complete; otherwise the line without its
        CR LF, the bytes after it, and whether sshd would already refuse it (a NUL, a CR not
        followed by LF, or more than ``IDENT_MAX_LEN`` bytes).
    """
    end = buf.find(b"\n", 0, persona.IDENT_MAX_LEN + 2)
    line = buf if end < 0 else buf[:end]
    if line.endswith(b"\r"):
        line = line[:-1]
    bad = b"\0" in line or b"\r" in line or len(line) > persona.IDENT_MAX_LEN
    if end < 0 and not bad:
        return None
    return line, buf[end + 1 :] if end >= 0 else b"", bad


def _version_number(text: bytes) -> int:
    # What %d stores for an optional sign and decimal digits, leading zeros included.
    if len(text) <= _MAX_DIGITS:
        return int(text)
    digits = text.lstrip(b"+-").lstrip(b"0")
    if len(digits) > _MAX_DIGITS:
        return -1
    value = int(digits or b"0")
    return -value if text.startswith(b"-") else value


def check_identification(line: bytes, bad: bool) -> tuple[bytes, str]:
    """sshd's verdict on an identification line (``read_identification``'s result).

    Returns:
        The text sshd writes before closing (``IDENT_INVALID``, ``IDENT_MAJOR_DIFFERS``) and an
        empty string; or, for a line it accepts, empty bytes and the software field, decoded.
    """
    match = _IDENT.fullmatch(line) if not bad and line.startswith(b"SSH-") else None
    if match is None:
        return persona.IDENT_INVALID, ""
    major, minor = _version_number(match[1]), _version_number(match[2])
    if not (major == 2 or (major == 1 and minor == 99)):
        return persona.IDENT_MAJOR_DIFFERS, ""
    return b"", match[3].decode("utf-8", "replace")


def hassh_algorithms(kexinit: bytes) -> str | None:
    """The HASSH input from a client's KEXINIT payload: kex;ciphers;macs;compression (c->s).

    Returns:
        The string, or None when the payload does not parse.
    """
    # Message number and 16-byte cookie, then name-lists as uint32-prefixed strings (RFC 4253 7.1).
    pos = 17
    lists: list[bytes] = []
    for _ in range(8):
        if len(kexinit) < pos + 4:
            return None
        end = pos + 4 + int.from_bytes(kexinit[pos : pos + 4], "big")
        if len(kexinit) < end:
            return None
        lists.append(kexinit[pos + 4 : end])
        pos = end
    kex, _hostkey, enc, _enc_sc, mac, _mac_sc, comp, _comp_sc = lists
    return ";".join(names.decode("ascii", "backslashreplace") for names in (kex, enc, mac, comp))


def key_type(key_data: bytes) -> str:
    """The algorithm name a public key blob opens with, or an empty string."""
    if len(key_data) >= 4:
        n = int.from_bytes(key_data[:4], "big")
        if 0 < n <= 64 and len(key_data) >= 4 + n:
            return key_data[4 : 4 + n].decode("ascii", "backslashreplace")
    return ""


def key_fingerprint(key_data: bytes) -> str:
    """The key's fingerprint as ssh-keygen prints it: SHA256 over the blob, unpadded base64."""
    digest = base64.b64encode(hashlib.sha256(key_data).digest()).decode("ascii")
    return "SHA256:" + digest.rstrip("=")
