"""The contract between ``honeypods.ssh.asyncssh_shim`` and asyncssh's internals.

Every private name the shim imports, overrides, calls or sets is listed here with the shape the
shim expects. A failure names the asyncssh attribute, what the shim needs, what this asyncssh has
and where the shim uses it, so an upgrade that moves an internal fails here, clearly, before it
fails as a wire difference somewhere in tests/unit/test_ssh.py.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import re
from collections.abc import Callable
from typing import Any, cast

import asyncssh
import pytest

from honeypods.ssh import asyncssh_shim, persona
from honeypods.ssh import options as ssh_options
from honeypods.ssh.config import SshConfig
from honeypods.ssh.policy import Lure

SERVER = asyncssh.SSHServerConnection


def _shape(func: Callable[..., Any]) -> str:
    """A signature without annotations: names, kinds and which parameters have defaults."""
    parts = []
    for p in inspect.signature(func).parameters.values():
        name = {p.VAR_POSITIONAL: "*", p.VAR_KEYWORD: "**"}.get(p.kind, "") + p.name
        if p.kind is p.KEYWORD_ONLY and not any(x.startswith("*") for x in parts):
            parts.append("*")
        parts.append(name + ("=" if p.default is not p.empty else ""))
    return "(" + ", ".join(parts) + ")"


def _where(owner: Any, name: str) -> str:
    return f"{getattr(owner, '__module__', owner)}.{getattr(owner, '__qualname__', '')}.{name}"


# (module, name, shape or None for a non-callable, what the shim does with it)
FUNCTIONS = [
    ("asyncssh.kex", "expand_kex_algs", "(kex_algs, mechs, host_key_available)", "Template"),
    ("asyncssh.kex", "get_kex_algs", "()", "missing_algorithms, build_options"),
    ("asyncssh.encryption", "get_encryption_algs", "()", "missing_algorithms, build_options"),
    ("asyncssh.mac", "get_mac_algs", "()", "missing_algorithms, build_options"),
    ("asyncssh.compression", "get_compression_algs", "()", "missing_algorithms, build_options"),
    ("asyncssh.public_key", "get_public_key_algs", "()", "missing_algorithms, build_options"),
    ("asyncssh.packet", "NameList", "(value)", "Template, send_userauth_failure"),
    (
        "asyncssh.kex",
        "register_kex_alg",
        "(alg, handler, hash_alg, args, default)",
        "_register_sntrup",
    ),
    (
        "asyncssh.kex_dh",
        "_KexHybridECDH",
        "(alg, conn, hash_alg, pq_class, pq_alg_name, ecdh_class, *args)",
        "_register_sntrup: the hybrid exchange, given _Sntrup761 as its PQ class",
    ),
    ("asyncssh.crypto", "Curve25519DH", None, "_register_sntrup"),
    ("asyncssh.packet", "String", "(value)", "the empty IGNORE send_packet drops"),
    ("asyncssh.packet", "UInt32", "(value)", "Template"),
    ("asyncssh.packet", "MPInt", "(value)", "_PersonaGex"),
    (
        "asyncssh.kex_dh",
        "_KexDHGex",
        None,
        "_PersonaGex's base, swapped in by choose_server_host_key",
    ),
    ("asyncssh.kex_dh", "_dh_gex_groups", None, "_FALLBACK (RFC 3526 groups by size)"),
    ("asyncssh.packet", "Boolean", "(value)", "Template, send_userauth_failure"),
    ("asyncssh.packet", "SSHPacket", "(packet)", "_hp_process_disconnect"),
    ("asyncssh.packet", "PacketDecodeError", None, "_hp_process_disconnect"),
    ("asyncssh.packet", "SSHPacketLogger", None, "send_packet's handler"),
    ("asyncssh.logging", "SSHLogger", "(parent=, child=, context=)", "_LevelFirstLogger"),
]


@pytest.mark.parametrize(("module", "name", "shape", "use"), FUNCTIONS)
def test_module_names_the_shim_imports(module: str, name: str, shape: str | None, use: str) -> None:
    mod = importlib.import_module(module)
    assert hasattr(mod, name), f"{module}.{name} is gone; asyncssh_shim uses it in {use}"
    if shape is not None:
        got = _shape(getattr(mod, name))
        assert got == shape, f"{module}.{name} is now {got}, the shim calls it as {shape} ({use})"


def test_message_numbers_are_rfc_4253s() -> None:
    constants = importlib.import_module("asyncssh.constants")
    for name, number in (("MSG_DISCONNECT", 1), ("MSG_IGNORE", 2), ("MSG_USERAUTH_FAILURE", 51)):
        assert getattr(constants, name, None) == number, f"asyncssh.constants.{name} != {number}"


def test_logger_method_the_shim_overrides() -> None:
    logger = importlib.import_module("asyncssh.logging").SSHLogger
    assert _shape(logger.log) == "(self, level, msg, *args, **kwargs)", (
        f"SSHLogger.log is now {_shape(logger.log)}; _LevelFirstLogger.log overrides it"
    )
    assert callable(getattr(logger, "isEnabledFor", None)), "SSHLogger.isEnabledFor is gone"


# (name, shape, coroutine, what the shim does)
METHODS = [
    ("__init__", "(self, loop, options, acceptor=, error_handler=, wait=)", False, "calls"),
    ("connection_made", "(self, transport)", False, "calls from Gate._hand_over"),
    ("data_received", "(self, data, datatype=)", False, "calls from Gate._hand_over"),
    ("set_extra_info", "(self, **kwargs)", False, "calls in resume, _send_version"),
    ("_send_version", "(self)", False, "overrides"),
    ("_recv_version", "(self)", False, "replaces (resume leaves its state)"),
    ("_send_kexinit", "(self)", False, "replaces (Template builds its packet)"),
    ("_recv_pkthdr", "(self)", False, "overrides and calls"),
    ("_log_packet", "(self, msg, pkttype, pktid, packet, note)", False, "overrides"),
    ("reload_config", "(self)", True, "overrides"),
    ("_get_extra_kex_algs", "(self)", False, "overrides"),
    ("_send_ext_info", "(self)", False, "overrides and calls"),
    ("send_packet", "(self, pkttype, *args, handler=)", False, "overrides and calls"),
    ("_send_disconnect", "(self, code, reason, lang)", False, "overrides and calls"),
    ("_force_close", "(self, exc)", False, "calls in _hp_disconnect"),
    ("send_channel_open_failure", "(self, send_chan, code, reason, lang)", False, "overrides"),
    ("choose_server_host_key", "(self, peer_host_key_algs)", False, "overrides"),
    ("send_newkeys", "(self, k, h)", False, "overrides"),
    ("_process_disconnect", "(self, _pkttype, _pktid, packet)", False, "calls"),
    ("_process_service_request", "(self, _pkttype, _pktid, packet)", False, "calls"),
    ("_finish_userauth", "(self, begin_auth, method, packet)", True, "overrides"),
    ("send_userauth_failure", "(self, partial_success)", False, "overrides"),
    ("validate_public_key", "(self, username, key_data, msg, signature)", True, "overrides"),
]


@pytest.mark.parametrize(("name", "shape", "coroutine", "use"), METHODS)
def test_connection_methods_keep_their_shape(
    name: str, shape: str, coroutine: bool, use: str
) -> None:
    where = _where(SERVER, name)
    assert hasattr(SERVER, name), f"{where} is gone; LureConnection {use} it"
    method = getattr(SERVER, name)
    assert _shape(method) == shape, f"{where} is now {_shape(method)}; the shim expects {shape}"
    kind = "a coroutine function" if coroutine else "a plain function"
    assert inspect.iscoroutinefunction(method) == coroutine, f"{where} is no longer {kind}"
    if use.startswith("overrides"):
        ours = getattr(asyncssh_shim.LureConnection, name)
        assert _shape(ours) == shape, f"LureConnection.{name} {_shape(ours)} differs from {shape}"
        assert inspect.iscoroutinefunction(ours) == coroutine, (
            f"LureConnection.{name} is not {kind}"
        )


def test_disconnect_handler_is_in_the_class_dispatch_table() -> None:
    from asyncssh.constants import MSG_DISCONNECT

    table = getattr(SERVER, "_packet_handlers", None)
    assert isinstance(table, dict), "SSHServerConnection._packet_handlers is no dict"
    assert table.get(MSG_DISCONNECT) is SERVER._process_disconnect, (
        "_packet_handlers[MSG_DISCONNECT] is no longer _process_disconnect; "
        "LureConnection._hp_process_disconnect replaces that entry"
    )


def test_service_request_handler_is_in_the_class_dispatch_table() -> None:
    from asyncssh.constants import MSG_SERVICE_REQUEST

    assert SERVER._packet_handlers.get(MSG_SERVICE_REQUEST) is SERVER._process_service_request, (
        "_packet_handlers[MSG_SERVICE_REQUEST] is no longer _process_service_request; "
        "LureConnection._hp_process_service_request replaces that entry"
    )


def test_group_exchange_internals_persona_gex_relies_on() -> None:
    from asyncssh import kex_dh

    gex = kex_dh._KexDHGex
    table = gex._packet_handlers
    for name in ("MSG_KEX_DH_GEX_REQUEST", "MSG_KEX_DH_GEX_REQUEST_OLD"):
        assert getattr(kex_dh, name) in table, f"_KexDHGex no longer handles {name}"
    for name, shape in (
        ("_init_group", "(self, g, p)"),
        ("_compute_server_shared", "(self)"),
        ("send_packet", "(self, pkttype, *args)"),
    ):
        assert _shape(getattr(gex, name)) == shape, f"_KexDHGex.{name} is not {shape}"
    source = inspect.getsource(gex) + inspect.getsource(kex_dh._KexDHBase)
    for needle in ("self._gex_data", "self._group_type", "self._e", "self._f", "self._conn"):
        assert needle in source, f"_KexDHGex no longer uses {needle} (_PersonaGex sets it)"
    # get_kex makes the handler just before choose_server_host_key, where the class is swapped.
    kexinit = inspect.getsource(SERVER._process_kexinit)
    assert kexinit.index("get_kex(") < kexinit.index("choose_server_host_key("), (
        "_process_kexinit no longer makes the kex handler before choosing the host key"
    )
    assert {size for size, _g, _p in kex_dh._dh_gex_groups} >= {2048, 4096, 8192}


def test_construct_builds_options_from_an_async_task() -> None:
    construct = getattr(asyncssh.SSHServerConnectionOptions, "construct", None)
    assert construct is not None, "SSHServerConnectionOptions.construct is gone (build_options)"
    assert inspect.iscoroutinefunction(construct), "construct is no longer a coroutine function"
    assert _shape(construct) == "(options=, **kwargs)", f"construct is now {_shape(construct)}"


def _source(name: str) -> str:
    # The method as SSHServerConnection runs it: its own and those it extends with super().
    return "".join(
        inspect.getsource(c.__dict__[name]) for c in SERVER.__mro__ if name in c.__dict__
    )


@pytest.mark.parametrize(
    ("name", "needle", "why"),
    [
        ("_recv_pkthdr", "self._pktlen = ", "_recv_pkthdr checks the length it read"),
        ("send_packet", "MSG_IGNORE, String(b'')", "send_packet drops that IGNORE"),
        ("_send_ext_info", "self._extensions_to_send", "_send_ext_info replaces the extensions"),
        ("_recv_version", "self._recv_handler = self._recv_pkthdr", "resume sets the same"),
        ("_recv_version", "self._kexinit_sent = True", "resume sets the same"),
        ("connection_made", "self._protocol_factory()", "the Lure comes from _protocol_factory"),
        ("_cleanup", "self._owner.connection_lost(exc)", "Lure.connection_lost records the end"),
        ("send_userauth_success", "self._owner.auth_completed()", "Lure.auth_completed releases"),
        ("_finish_userauth", "reload_config()", "reload_config is overridden to do nothing"),
    ],
)
def test_behaviour_the_overrides_rely_on(name: str, needle: str, why: str) -> None:
    assert needle in _source(name), f"{_where(SERVER, name)} no longer contains {needle}: {why}"


INSTANCE_ATTRIBUTES = {
    # set by resume(), as _recv_version and _send_kexinit would
    "_client_version": bytes,
    "_server_kexinit": bytes,
    "_kexinit_sent": bool,
    "_send_seq": int,
    "_rekey_seconds": (int, float),
    "_rekey_time": float,
    "_recv_handler": object,
    # read or set by the overrides
    "_protocol_factory": object,
    "_logger": object,
    "_pktlen": int,
    "_version": bytes,
    "_server_version": bytes,
    "_extensions_to_send": dict,
    "_sig_algs": list,
    "_server_host_keys": dict,
    "_session_id": bytes,
    "_kex": type(None),
    "_enc_alg_cs": bytes,
    "_mac_alg_cs": bytes,
    "_cmp_alg_cs": bytes,
    "_client_kexinit": bytes,
    "_username": str,
    "_auth": type(None),
    "_recv_encryption": type(None),
    "_auth_in_progress": bool,
    "_auth_complete": bool,
}


@pytest.fixture
async def options() -> asyncssh.SSHServerConnectionOptions:
    keys = [asyncssh.generate_private_key("ssh-ed25519")]
    return await ssh_options.build_options(SshConfig(), keys, persona.DEFAULT)


async def test_instance_attributes_the_shim_reads_and_sets(
    options: asyncssh.SSHServerConnectionOptions,
) -> None:
    conn = SERVER(asyncio.get_running_loop(), options)
    for name, kind in INSTANCE_ATTRIBUTES.items():
        assert hasattr(conn, name), f"a new SSHServerConnection has no {name} (asyncssh_shim)"
        value = getattr(conn, name)
        assert isinstance(value, kind), f"SSHServerConnection.{name} is now {type(value)}"
    assert conn._recv_handler == conn._recv_version, (
        "a connection no longer starts reading a version"
    )
    assert conn._send_seq == 0, "a connection's first packet is no longer number 0"
    assert conn._protocol_factory is options.protocol_factory, (
        "_protocol_factory is not the option's"
    )


async def test_template_kexinit_is_the_one_asyncssh_would_send(
    options: asyncssh.SSHServerConnectionOptions,
) -> None:
    template = asyncssh_shim.Template(options, persona.DEFAULT)
    conn = asyncssh_shim.LureConnection(cast(Lure, None), template)
    sent: list[bytes] = []
    conn._send = sent.append  # type: ignore[method-assign]
    conn._send_kexinit()
    (packet,) = sent
    payload, ours = template.kexinit()
    assert conn._server_kexinit[17:] == payload[17:] == template.rest, (
        "asyncssh's KEXINIT lists differ from Template's (expand_kex_algs, _get_extra_kex_algs "
        "or the order of _send_kexinit changed)"
    )
    assert packet[:5] == ours[:5], "cleartext framing (length, padding length) changed"
    assert len(packet) == len(ours), "cleartext framing (padding) changed"
    assert conn._send_seq == 1, "KEXINIT is no longer packet 0 (resume sets _send_seq = 1)"


def test_this_asyncssh_is_one_the_shim_was_verified_on() -> None:
    doc = " ".join((asyncssh_shim.__doc__ or "").split())
    match = re.search(r"Verified on asyncssh ([0-9., and]+)", doc)
    assert match, "asyncssh_shim's docstring names no 'Verified on asyncssh X, Y and Z'"
    verified = re.findall(r"\d+\.\d+\.\d+", match[1])
    assert asyncssh.__version__ in verified, (
        f"asyncssh {asyncssh.__version__} is not among the versions asyncssh_shim was verified "
        f"on ({', '.join(verified)}): run this file and tests/*/test_ssh.py, then add it there "
        "and to pyproject's range"
    )
