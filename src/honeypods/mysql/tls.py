"""TLS for the MySQL decoy: MySQL 8.0's auto-generated certificates and a memory-BIO TLS layer.

MySQL 8.0 creates a CA and a server certificate at first start when none are configured (RSA 2048,
ten years, subjects ``MySQL_Server_<version>_Auto_Generated_CA_Certificate`` and
``..._Server_Certificate``) and offers TLS by default. We make the same pair when the first client
asks for TLS, so scanners that never do never load ``cryptography``. A seeded install derives the
keys and the day the data directory was made from its seed (``datadir_made``), so the pair is the
same after every restart, as a real server's data directory keeps it.

The TLS layer is an ``ssl.SSLObject`` over memory BIOs, driven from the adapter's
``data_received``: no second protocol object, no task, and the bytes that followed the client's
SSLRequest in the same read are fed in first (``loop.start_tls`` cannot take those).
"""

from __future__ import annotations

import contextlib
import datetime
import importlib.util
import secrets
import ssl
from typing import Final

from honeypods.core import tls
from honeypods.core.seed import moment

# The ciphers and versions MySQL 8.0 accepts by default (TLSv1.2 and TLSv1.3).
MIN_VERSION: Final = ssl.TLSVersion.TLSv1_2
# A seeded install's data directory was made within this long after its version's release.
DATADIR_SPAN: Final = datetime.timedelta(days=300)
# What the TLS pair's keys are derived under (core.tls.CertSpec's label).
TLS_LABEL: Final = "mysql.tls"


class TlsError(Exception):
    """The TLS handshake or record layer failed; the connection ends."""


def datadir_made(seed: str, released: datetime.datetime) -> datetime.datetime:
    """When the install's data directory was initialised: within ``DATADIR_SPAN`` after the
    persona's release for a seeded install (never later than a month ago), some weeks before now
    otherwise."""
    now = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    recent = now - datetime.timedelta(days=30)
    if seed:
        return min(moment(seed, "mysql.datadir.made", released, DATADIR_SPAN), recent)
    return recent - datetime.timedelta(
        days=secrets.randbelow(300), seconds=secrets.randbelow(86400)
    )


def make_context(
    server_version: str, made: datetime.datetime, seed: str = ""
) -> ssl.SSLContext | None:
    """A server context with a MySQL-style certificate chain made at ``made`` (derived from
    ``seed``, fresh without one), or None without cryptography."""
    if importlib.util.find_spec("cryptography") is None:
        return None
    prefix = f"MySQL_Server_{server_version}_Auto_Generated"
    spec = tls.CertSpec(
        f"{prefix}_Server_Certificate",
        made,
        3650,
        ca_common_name=f"{prefix}_CA_Certificate",
        seed=seed,
        label=TLS_LABEL,
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = MIN_VERSION
    tls.load_pem(context, tls.make_pem(spec))
    return context


class TlsLayer:
    """Server side of one TLS session over memory BIOs."""

    __slots__ = ("_in", "_obj", "_out", "established")

    def __init__(self, context: ssl.SSLContext) -> None:
        self._in = ssl.MemoryBIO()
        self._out = ssl.MemoryBIO()
        self._obj = context.wrap_bio(self._in, self._out, server_side=True)
        self.established = False

    def feed(self, data: bytes) -> tuple[bytes, bytes, bool]:
        """Ciphertext in; (plaintext, bytes to send back, whether the peer closed TLS).

        Raises:
            TlsError: the handshake or a record failed.
        """
        if data:
            self._in.write(data)
        closed = False
        chunks: list[bytes] = []
        try:
            if not self.established:
                with contextlib.suppress(ssl.SSLWantReadError):
                    self._obj.do_handshake()
                    self.established = True
            while self.established:
                try:
                    chunk = self._obj.read(65536)
                except ssl.SSLWantReadError:
                    break
                except ssl.SSLZeroReturnError:
                    closed = True
                    break
                if not chunk:
                    break
                chunks.append(chunk)
        except ssl.SSLError as exc:
            raise TlsError(exc.reason or type(exc).__name__) from None
        return b"".join(chunks), self._out.read(), closed

    def wrap(self, data: bytes) -> bytes:
        """Plaintext out; the records to send."""
        try:
            self._obj.write(data)
        except ssl.SSLError as exc:
            raise TlsError(exc.reason or type(exc).__name__) from None
        return self._out.read()

    def version(self) -> str:
        return self._obj.version() or ""

    def cipher(self) -> str:
        cipher = self._obj.cipher()
        return cipher[0] if cipher else ""
