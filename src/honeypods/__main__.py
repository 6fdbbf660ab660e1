"""The runner: ``honeypods run [DECOY ...]`` runs one or more decoys in one process.

Start-up order: configure logging, read and validate the settings (exit 2 on error), raise the
open-file limit, start the metrics endpoint, start each decoy, then report ready. SIGTERM or SIGINT
flips readiness off, closes the listeners, ends open connections with ``session.closed`` events,
writes ``honeypods.stop`` and exits 0 well within Kubernetes' default 30 s grace (5 s at most).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import resource
import signal
import sys
from collections.abc import Sequence
from typing import Any

from honeypods import __version__
from honeypods.core import events, honeytokens, metrics, registry, stdlog
from honeypods.core.settings import ConfigError, Settings, alert_labels, load

STOP_TIMEOUT = 3.0
# Shutdown stays within 5 s: connections get STOP_TIMEOUT, queued alerts what is left.
ALERT_FLUSH_TIMEOUT = 1.5


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="honeypods",
        description="Run honeypods decoys. Settings come from HONEYPODS_* environment variables; "
        "see docs/configuration.md.",
    )
    parser.add_argument("--version", action="version", version=f"honeypods {__version__}")
    parser.add_argument(
        "command_or_decoy",
        nargs="*",
        metavar="DECOY",
        help=f"decoys to run: {', '.join(registry.NAMES)} (default: all), or "
        f"{', '.join(registry.SERVICES)}; an optional leading 'run' is accepted",
    )
    parser.add_argument("--host", help="address to bind (HONEYPODS_HOST)")
    parser.add_argument("--metrics-port", type=int, help="metrics port (HONEYPODS_METRICS_PORT)")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="set any HONEYPODS_* variable, e.g. --set HONEYPODS_MYSQL_PORT=3307",
    )
    return parser


def _overrides(args: argparse.Namespace) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in args.set:
        name, sep, value = item.partition("=")
        if not sep:
            raise ConfigError(f"--set {item!r}: expected NAME=VALUE")
        out[name.strip()] = value
    if args.host is not None:
        out["HONEYPODS_HOST"] = args.host
        out.setdefault("HONEYPODS_METRICS_HOST", args.host)
    if args.metrics_port is not None:
        out["HONEYPODS_METRICS_PORT"] = str(args.metrics_port)
    return out


def _raise_nofile() -> None:
    # Every held connection is a descriptor; the soft default (often 1024) would cap a decoy far
    # below its configured concurrency.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def available(decoy: str) -> bool:
    """Whether this installation carries the decoy and the libraries its server needs."""
    return decoy in registry.ALL and registry.get(decoy).installed()


def _choose(named: list[str]) -> list[str]:
    if not named:
        # "All decoys" means all that this image or environment carries.
        return [d for d in registry.NAMES if available(d)]
    for decoy in named:
        if decoy in registry.ALL and not available(decoy):
            raise ConfigError(
                f"decoy {decoy!r} is not installed here: install the '{decoy}' extra "
                f"(pip install 'honeypods[{decoy}]') or use its image"
            )
    return named


async def _start(settings: Settings, decoy: str, seed: str) -> registry.Started:
    spec = registry.get(decoy)
    start = spec.start()
    # Only the decoys that can sit behind a PROXY-protocol load balancer take its settings, and
    # only those whose persona draws per-install choices take the seed.
    extra: dict[str, Any] = {"persona_seed": seed} if spec.seeded else {}
    if decoy in settings.proxies:
        extra["proxy"] = settings.proxies[decoy]
    if spec.keeps_state:
        extra["state_dir"] = settings.common.state_dir
    return await start(
        settings.configs[decoy],
        limits=settings.limits[decoy],
        host=settings.common.host,
        metrics_port=settings.common.metrics_port,
        **extra,
    )


async def _summaries(running: dict[str, registry.Started], interval: float) -> None:
    while True:
        await asyncio.sleep(interval)
        for decoy, run in running.items():
            events.emit("honeypods.summary", decoy, {"honeypod.counts": dict(run.counts)})


async def serve(
    settings: Settings, stop: asyncio.Event | None = None, *, seed_drawn: bool = False
) -> None:
    """Run the configured decoys until ``stop`` is set or SIGTERM/SIGINT arrives.

    ``seed_drawn``: the seed was drawn at this start (none configured, none kept), so the start
    events log it for pinning; a configured or kept one is never logged, as every private key
    of the install derives from it.
    """
    loop = asyncio.get_running_loop()
    stop = stop or asyncio.Event()
    received: list[str] = []

    def on_signal(sig: signal.Signals) -> None:
        received.append(sig.name)
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, on_signal, sig)

    common = settings.common
    metrics_server = None
    if common.metrics_port:
        metrics_server = await metrics.start_server(common.metrics_host, common.metrics_port)
        events.emit(
            "honeypods.start",
            "runner",
            {
                "honeypod.addresses": [f"{common.metrics_host}:{common.metrics_port}"],
                "service.version": __version__,
            },
        )
    forwarder = None
    if common.alertmanager_url or common.webhook_url:
        from honeypods.core import alerting

        forwarder = alerting.start(
            alertmanager_url=common.alertmanager_url,
            webhook_url=common.webhook_url,
            webhook_token=common.webhook_token,
            labels=alert_labels(common),
            queue_size=common.alert_queue_size,
            timeout=common.alert_timeout,
        )
    running: dict[str, registry.Started] = {}
    tasks: list[asyncio.Task[None]] = []
    # One seed for the personas and the honeytokens (installed by main before serving).
    seed = honeytokens.current().seed
    try:
        for decoy in settings.decoys:
            run = running[decoy] = await _start(settings, decoy, seed)
            spec = registry.get(decoy)
            metrics.declare(decoy, spec.rules, logins=spec.logins)
            fields: dict[str, Any] = {
                "honeypod.addresses": run.addresses,
                "service.version": __version__,
            }
            if spec.seeded and seed_drawn:
                fields["honeypod.persona_seed"] = seed
            events.emit("honeypods.start", decoy, fields)
        if common.summary_interval:
            tasks.append(loop.create_task(_summaries(running, common.summary_interval)))
        metrics.set_ready(True)
        await stop.wait()
    finally:
        metrics.set_ready(False)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*(run.stop(STOP_TIMEOUT) for run in running.values()))
        for decoy, run in running.items():
            events.emit("honeypods.summary", decoy, {"honeypod.counts": dict(run.counts)})
        if forwarder is not None:
            # What the decoys saw last is posted too, within the shutdown budget.
            await forwarder.close(ALERT_FLUSH_TIMEOUT)
        if metrics_server is not None:
            metrics_server.close()
        fields = {"honeypod.signal": received[0]} if received else {}
        events.emit("honeypods.stop", "runner", fields)


def _run(coro: Any, event_loop: str) -> None:
    if event_loop == "uvloop":
        try:
            import uvloop
        except ImportError:
            pass
        else:
            # libuv's loop roughly halves the CPU each connection costs in asyncio's own code.
            uvloop.run(coro)
            return
    asyncio.run(coro)


def plants(settings: Settings, seed: str) -> dict[str, str]:
    """What this install calls each honeytoken place, as the decoys planting there describe it.

    Every registered decoy describes its places, whether it runs here or not: the chart runs each
    decoy in its own pod, and all of them must name the same places, so a decoy running elsewhere
    describes them from the seed alone; one running here also sees its own settings.
    """
    out: dict[str, str] = {}
    for spec in registry.every():
        for place, describe in spec.plants.items():
            out[place] = describe(seed, settings.configs.get(spec.name))
    return out


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    decoys = list(args.command_or_decoy)
    if decoys and decoys[0] == "run":
        decoys = decoys[1:]
    stdlog.configure_logging()
    events.set_counter(metrics.count)
    try:
        settings = load(_choose(decoys), overrides=_overrides(args))
    except ConfigError as exc:
        events.emit("honeypods.config_error", "runner", {"error.message": str(exc)}, level="error")
        print(f"honeypods: configuration error: {exc}", file=sys.stderr)
        return 2
    events.set_host_name(settings.common.host_name)
    common = settings.common
    # Without a configured seed, one kept in the state directory; without that, each start draws
    # its own, which the decoys' start events then give, so that it can be pinned.
    seed = common.persona_seed
    if not seed and common.state_dir:
        try:
            seed = honeytokens.kept_seed(common.state_dir)
        except OSError as exc:
            message = f"HONEYPODS_STATE_DIR: cannot keep the persona seed there: {exc}"
            events.emit(
                "honeypods.config_error", "runner", {"error.message": message}, level="error"
            )
            print(f"honeypods: configuration error: {message}", file=sys.stderr)
            return 2
    drawn = not seed
    seed = seed or honeytokens.random_seed()
    honeytokens.install(
        honeytokens.Honeytokens(
            seed,
            common.honeytoken_placements,
            common.honeytoken_secret,
            common.honeytoken_mysql_address,
            plants(settings, seed),
        )
    )
    level = getattr(logging, settings.common.log_level.upper())
    logging.getLogger().setLevel(level)
    _raise_nofile()
    try:
        _run(serve(settings, seed_drawn=drawn), settings.common.event_loop)
    except ConfigError as exc:
        # Found only at start: the enricher's Kubernetes configuration.
        events.emit("honeypods.config_error", "runner", {"error.message": str(exc)}, level="error")
        print(f"honeypods: configuration error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        # A port already taken or not permitted: a configuration problem the operator must see.
        message = f"cannot listen: {exc.strerror or exc}"
        events.emit("honeypods.config_error", "runner", {"error.message": message}, level="error")
        print(f"honeypods: {message}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
