"""The only place that reaches past Python's ``ssl`` module into the OpenSSL below it.

Verified on CPython 3.11, 3.12 and 3.13 with OpenSSL 3.0 to 3.5. ``tests/unit/test_shim_ssl.py``
fails with a clear message when the layout or a symbol below changes.

Python's ``ssl.SSLContext`` has no setter for two things a server persona needs from OpenSSL:

* the session timeout (``SSL_CTX_set_timeout``), which is also the lifetime hint of the session
  tickets the server sends: OpenSSL's default is 7200 s, nginx's ``ssl_session_timeout`` 300 s;
* an ALPN selection that refuses: ``set_alpn_protocols`` goes on without ALPN when nothing is in
  common, where nginx answers a fatal ``no_application_protocol`` alert.

How: ctypes opens the ``_ssl`` extension itself, so every symbol resolves to the OpenSSL that
``ssl`` is linked with, never another copy on the system. The ``SSL_CTX *`` of a context is the
first field after the object header (``PySSLContext`` in CPython's ``Modules/_ssl.c``); before
anything is written through it, ``SSL_CTX_get_options`` read through it must equal
``context.options``. An upstream setter for the timeout and a refusing ALPN
hook, would make this module unnecessary.
"""

from __future__ import annotations

import _ssl
import ctypes
import ssl
from collections.abc import Sequence
from typing import Final

# tls1.h: what an ALPN selection callback answers.
_TLSEXT_ERR_OK: Final = 0
_TLSEXT_ERR_ALERT_FATAL: Final = 2

_lib = ctypes.CDLL(_ssl.__file__)
_lib.SSL_CTX_get_options.restype = ctypes.c_uint64
_lib.SSL_CTX_get_options.argtypes = [ctypes.c_void_p]
_lib.SSL_CTX_set_timeout.restype = ctypes.c_long
_lib.SSL_CTX_set_timeout.argtypes = [ctypes.c_void_p, ctypes.c_long]
_lib.SSL_CTX_get_timeout.restype = ctypes.c_long
_lib.SSL_CTX_get_timeout.argtypes = [ctypes.c_void_p]

_ALPN_SELECT = ctypes.CFUNCTYPE(
    ctypes.c_int,
    ctypes.c_void_p,  # SSL *
    ctypes.POINTER(ctypes.c_void_p),  # const unsigned char **out
    ctypes.POINTER(ctypes.c_ubyte),  # unsigned char *outlen
    ctypes.c_void_p,  # const unsigned char *in
    ctypes.c_uint,  # unsigned int inlen
    ctypes.c_void_p,  # void *arg
)
_lib.SSL_CTX_set_alpn_select_cb.restype = None
_lib.SSL_CTX_set_alpn_select_cb.argtypes = [ctypes.c_void_p, _ALPN_SELECT, ctypes.c_void_p]


class ShimError(RuntimeError):
    """The interpreter's ``ssl`` no longer has the layout this module relies on."""


def ssl_ctx(context: ssl.SSLContext) -> int:
    """The address of the context's ``SSL_CTX``, checked against its options."""
    address = ctypes.c_void_p.from_address(id(context) + object.__basicsize__).value
    if not address or _lib.SSL_CTX_get_options(address) != context.options:
        raise ShimError("ssl.SSLContext no longer keeps its SSL_CTX after the object header")
    return address


def set_session_timeout(context: ssl.SSLContext, seconds: int) -> None:
    """Sessions (and the tickets' lifetime hint) last ``seconds``."""
    _lib.SSL_CTX_set_timeout(ssl_ctx(context), seconds)


def session_timeout(context: ssl.SSLContext) -> int:
    """The context's session timeout in seconds."""
    return int(_lib.SSL_CTX_get_timeout(ssl_ctx(context)))


# Callbacks by server protocol list (wire format); ctypes keeps a callback only while it is
# referenced, and OpenSSL keeps calling it for the context's whole life.
_callbacks: dict[bytes, object] = {}


def _alpn_callback(server: bytes) -> object:
    def select(
        _ssl_ptr: int | None,
        out: ctypes._Pointer[ctypes.c_void_p],
        outlen: ctypes._Pointer[ctypes.c_ubyte],
        data: int | None,
        length: int,
        _arg: int | None,
    ) -> int:
        # OpenSSL checked the list's framing before the call and copies the selection after it.
        offered = ctypes.string_at(data, length) if data else b""
        names: dict[bytes, int] = {}
        i = 0
        while i < len(offered):
            size = offered[i]
            names.setdefault(offered[i + 1 : i + 1 + size], i + 1)
            i += 1 + size
        j = 0
        while j < len(server):
            size = server[j]
            at = names.get(server[j + 1 : j + 1 + size])
            if at is not None:
                out[0] = (data or 0) + at
                outlen[0] = size
                return _TLSEXT_ERR_OK
            j += 1 + size
        return _TLSEXT_ERR_ALERT_FATAL

    return _ALPN_SELECT(select)


def set_alpn_or_refuse(context: ssl.SSLContext, protocols: Sequence[str]) -> None:
    """Select the first of ``protocols`` the client offers; a client offering ALPN with none of
    them gets a fatal ``no_application_protocol`` alert. Without ALPN in the hello, no ALPN."""
    server = b"".join(bytes([len(p)]) + p.encode("ascii") for p in protocols)
    callback = _callbacks.get(server)
    if callback is None:
        callback = _callbacks[server] = _alpn_callback(server)
    _lib.SSL_CTX_set_alpn_select_cb(ssl_ctx(context), callback, None)
