"""Direct alerting: bounded queue, batching, retries, bodies; against a real local HTTP receiver."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
from tests.integration.promstack import Receiver

from honeypods.core import alerting, events
from honeypods.core import settings as config


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def _sample(name: str, **labels: str) -> float:
    from honeypods.core import metrics

    value = metrics.REGISTRY.get_sample_value(name, labels)
    return float(value or 0.0)


def _alert(n: int, source: str = "10.1.2.3", rule: str = "honeypod.ip.enum") -> None:
    events.emit(
        "session.connect",
        "portscan",
        {
            "honeypod.session": f"s{n}",
            "source.ip": source,
            "source.port": 40000 + n,
            "destination.ip": "10.9.9.9",
            "destination.port": 6443,
            "network.transport": "tcp",
            "honeypod.active": 1,
        },
        rule=rule,
    )


async def _until(predicate: Any, timeout: float = 20.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        assert loop.time() < deadline, "condition not met"
        await asyncio.sleep(0.02)


async def test_alertmanager_gets_one_alert_per_rule_decoy_pod_and_source(
    receiver: Receiver, captured: Any
) -> None:
    forwarder = alerting.start(alertmanager_url=receiver.url + "/", labels={"namespace": "decoys"})
    assert forwarder is not None
    for n in range(3):
        _alert(n)
    _alert(9, source="10.7.7.7", rule="honeypod.network.ssh")
    events.emit("honeypods.warning", "runner", {"error.message": "not an alert"})
    await _until(lambda: sum(len(b) for b in receiver.bodies) >= 2)
    await forwarder.close(5)
    alerts = [a for body in receiver.bodies for a in body]
    assert len(alerts) == 2
    by_rule = {a["labels"]["alertname"]: a for a in alerts}
    enum = by_rule["honeypod.ip.enum"]
    assert enum["labels"] == {
        "namespace": "decoys",
        "alertname": "honeypod.ip.enum",
        "decoy": "portscan",
        "pod": events.host_name(),
        "severity": "critical",
        "source_ip": "10.1.2.3",
    }
    assert enum["annotations"]["events"] == "3"
    assert enum["annotations"]["actions"] == "session.connect"
    assert enum["annotations"]["destination_ports"] == "6443"
    assert enum["startsAt"] == captured.of("session.connect")[0]["@timestamp"]
    assert by_rule["honeypod.network.ssh"]["labels"]["source_ip"] == "10.7.7.7"
    assert receiver.headers[0]["Content-Type"] == "application/json"


async def test_webhook_gets_the_events_exactly_as_written(
    receiver: Receiver, captured: Any
) -> None:
    user = "hook:s3cr%40t"
    url = receiver.url.replace("http://", f"http://{user}@") + "/hook?x=1"
    forwarder = alerting.start(webhook_url=url)
    assert forwarder is not None
    for n in range(120):  # more than one batch
        _alert(n)
    await _until(lambda: sum(len(b["events"]) for b in receiver.bodies) >= 120)
    await forwarder.close(5)
    sent = [e for body in receiver.bodies for e in body["events"]]
    assert sent == [json.loads(events.render(e)) for e in captured.flat]
    assert len(receiver.bodies) >= 3  # batches of at most 50
    assert all(len(b["events"]) <= 50 for b in receiver.bodies)
    auth = receiver.headers[0]["Authorization"]
    assert base64.b64decode(auth.split()[1]) == b"hook:s3cr@t"


async def test_server_errors_are_retried_with_backoff(
    receiver: Receiver, monkeypatch: pytest.MonkeyPatch, captured: Any
) -> None:
    monkeypatch.setattr(alerting, "BACKOFF_FIRST", 0.05)
    receiver.statuses = [503, 500, 429]
    sent_before = _sample("honeypods_alerting_sent_total", destination="webhook")
    forwarder = alerting.start(webhook_url=receiver.url)
    assert forwarder is not None
    _alert(1)
    await _until(lambda: len(receiver.bodies) >= 4)
    await forwarder.close(5)
    assert len(receiver.bodies) == 4  # three failures, then delivered once
    assert all(b == receiver.bodies[0] for b in receiver.bodies)
    assert _sample("honeypods_alerting_sent_total", destination="webhook") == sent_before + 1


async def test_client_errors_drop_the_batch_at_once(receiver: Receiver, captured: Any) -> None:
    receiver.statuses = [400]
    before = _sample("honeypods_alerting_dropped_total", destination="webhook", reason="rejected")
    forwarder = alerting.start(webhook_url=receiver.url)
    assert forwarder is not None
    _alert(1)
    await _until(lambda: captured.of("honeypods.warning"))
    await forwarder.close(5)
    assert len(receiver.bodies) == 1
    after = _sample("honeypods_alerting_dropped_total", destination="webhook", reason="rejected")
    assert after == before + 1
    assert "HTTP 400" in captured.of("honeypods.warning")[0]["error.message"]


async def test_a_hung_receiver_blocks_neither_the_loop_nor_the_emitter(
    receiver: Receiver, captured: Any
) -> None:
    receiver.hang.set()
    before = _sample("honeypods_alerting_dropped_total", destination="webhook", reason="queue_full")
    forwarder = alerting.start(webhook_url=receiver.url, queue_size=100, timeout=30)
    assert forwarder is not None
    _alert(0)
    await _until(lambda: forwarder.senders[0].inflight == 1)  # the request is stuck
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(ticker())
    for n in range(1, 1001):
        _alert(n)
        if n % 100 == 0:
            await asyncio.sleep(0)
    task.cancel()
    assert ticks >= 10  # the loop kept running while the receiver hung
    queue = forwarder.senders[0].queue
    assert len(queue) == 100  # bounded: the newest 100 are kept
    assert queue[-1]["source.port"] == 41000
    assert queue[0]["source.port"] == 40901
    dropped = _sample(
        "honeypods_alerting_dropped_total", destination="webhook", reason="queue_full"
    )
    assert dropped == before + 900
    receiver.release.set()
    await forwarder.close(10)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("HONEYPODS_ALERTMANAGER_URL", "alertmanager:9093", "http:// or https://"),
        ("HONEYPODS_ALERTMANAGER_URL", "ftp://x/", "http:// or https://"),
        ("HONEYPODS_WEBHOOK_URL", "http://", "http:// or https://"),
        ("HONEYPODS_WEBHOOK_URL", "http://x:99999/", "HONEYPODS_WEBHOOK_URL"),
        ("HONEYPODS_ALERT_LABELS", "cluster", "not name=value"),
        ("HONEYPODS_ALERT_LABELS", "1x=y", "not name=value"),
        ("HONEYPODS_ALERT_LABELS", "pod=x", "set by the decoy"),
        ("HONEYPODS_ALERT_QUEUE_SIZE", "0", "HONEYPODS_ALERT_QUEUE_SIZE"),
        ("HONEYPODS_ALERT_TIMEOUT", "0", "HONEYPODS_ALERT_TIMEOUT"),
    ],
)
def test_bad_alerting_settings_are_refused(name: str, value: str, message: str) -> None:
    with pytest.raises(config.ConfigError, match=message):
        config.load(["portscan"], env={name: value})


def test_alerting_settings_parse() -> None:
    settings = config.load(
        ["portscan"],
        env={
            "HONEYPODS_ALERTMANAGER_URL": "https://am.monitoring:9093",
            "HONEYPODS_ALERT_LABELS": "namespace=decoys, cluster=prod",
        },
    )
    assert settings.common.alertmanager_url == "https://am.monitoring:9093"
    assert config.alert_labels(settings.common) == {"namespace": "decoys", "cluster": "prod"}
