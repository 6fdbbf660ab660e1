"""The chart's PROXY protocol values: off by default, rendered into each decoy's environment and
accepted by the package's own settings loader, refused when malformed."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.chart.conftest import ALL_FEATURES, HelmError, Render, Renderer
from tests.chart.test_render import _decoy_env, values

from honeypods.core import settings as config
from honeypods.core.limits import ProxyProtocol

PROXIED = ("web", "mysql", "ssh")


def _env(out: Render, decoy: str) -> dict[str, str]:
    for w in out.workloads():
        container = w["spec"]["template"]["spec"]["containers"][0]
        if container["args"] == [decoy]:
            return {e["name"]: e.get("value", "") for e in container["env"]}
    raise AssertionError(f"no workload runs {decoy}")


def test_off_by_default_and_no_variable_rendered(render: Renderer) -> None:
    out = render()
    for decoy in (*PROXIED, "portscan"):
        assert not [name for name in _env(out, decoy) if "_PROXY_" in name], decoy


def test_defaults_agree_with_the_package() -> None:
    package = ProxyProtocol()
    for decoy in PROXIED:
        chart = values()["decoys"][decoy]["proxyProtocol"]
        assert chart["enabled"] is package.protocol
        assert tuple(chart["trustedCIDRs"]) == package.trusted
        assert float(chart["timeout"]) == package.timeout
    assert "proxyProtocol" not in values()["decoys"]["portscan"]


@pytest.mark.parametrize("decoy", PROXIED)
def test_values_become_the_decoys_settings(render: Renderer, decoy: str, tmp_path: Path) -> None:
    key = f"decoys.{decoy}.proxyProtocol"
    out = render(
        sets=[
            f"{key}.enabled=true",
            f"{key}.trustedCIDRs={{10.0.0.0/8,2001:db8::/32}}",
            f"{key}.timeout=3",
        ]
    )
    env = _env(out, decoy)
    up = decoy.upper()
    assert env[f"HONEYPODS_{up}_PROXY_PROTOCOL"] == "true"
    assert env[f"HONEYPODS_{up}_PROXY_TRUSTED"] == "10.0.0.0/8,2001:db8::/32"
    # The other decoys stay as they were.
    for other in set(PROXIED) - {decoy}:
        assert not [name for name in _env(out, other) if "_PROXY_" in name], other
    settings = config.load([decoy], env=_decoy_env(out, tmp_path)[decoy])
    assert settings.proxies[decoy] == ProxyProtocol(
        protocol=True, trusted=("10.0.0.0/8", "2001:db8::/32"), timeout=3.0
    )


def test_all_features_file_runs_mysql_behind_a_balancer(helm4: Renderer, tmp_path: Path) -> None:
    envs = _decoy_env(helm4([ALL_FEATURES]), tmp_path)
    proxy = config.load(["mysql"], env=envs["mysql"]).proxies["mysql"]
    assert proxy == ProxyProtocol(protocol=True, trusted=("10.0.0.0/8", "fd00::/8"), timeout=3.0)


@pytest.mark.parametrize(
    ("sets", "words"),
    [
        (["decoys.web.proxyProtocol.enable=true"], ("enable", "not allowed")),
        (["decoys.ssh.proxyProtocol.timeout=0"], ("timeout",)),
        (["decoys.mysql.proxyProtocol.trustedCIDRs={load-balancer}"], ("trustedCIDRs",)),
        (["decoys.portscan.proxyProtocol.enabled=true"], ("proxyProtocol", "not allowed")),
        (
            ["decoys.mysql.proxyProtocol.enabled=true"],
            ("decoys.mysql.proxyProtocol.enabled needs trustedCIDRs",),
        ),
    ],
)
def test_bad_values_fail_clearly(render: Renderer, sets: list[str], words: tuple[str, ...]) -> None:
    with pytest.raises(HelmError) as err:
        render(sets=sets)
    for word in words:
        assert word in err.value.stderr
