"""The chart's honeytokens: the seed Secret kept across upgrades, the decoy Secret whose values are
exactly what the decoys derive from that seed, mounted by no pod, the decoys' settings, and the
honeypod.honeytoken.used alert on both backends."""

from __future__ import annotations

import base64
import json
from typing import Any

from tests.chart.conftest import NAMESPACE, RELEASE, Render, Renderer
from tests.chart.test_upgrade import (
    api,  # noqa: F401 - the fake API server fixture
)

from honeypods.core.honeytokens import values
from honeypods.core.settings import load

SEED = "Q7w2Er5Ty8Ui1Op4As6Df9Gh3Jk0LzXc"
SECRET = "internal-db-credentials"
SEED_SECRET = f"{RELEASE}-seed"


def _env(out: Render, app: str) -> list[dict[str, Any]]:
    for w in out.workloads():
        if w["metadata"]["name"] == app:
            return w["spec"]["template"]["spec"]["containers"][0]["env"]  # type: ignore[no-any-return]
    raise AssertionError(app)


def _plain(env: list[dict[str, Any]]) -> dict[str, str]:
    return {e["name"]: e.get("value", "") for e in env}


def test_the_decoy_secret_holds_what_the_decoys_derive(helm4: Renderer) -> None:
    out = helm4(sets=[f"honeytokens.seed={SEED}"])
    seed = out.one("Secret", SEED_SECRET)
    assert base64.b64decode(seed["data"]["seed"]).decode() == SEED
    data = out.one("Secret", SECRET)["stringData"]
    v = values(SEED)
    assert (data["DB_USERNAME"], data["DB_PASSWORD"]) == (v["mysql_user"], v["mysql_password"])
    assert (data["BASTION_USER"], data["BASTION_PASSWORD"]) == (v["ssh_user"], v["ssh_password"])
    assert (data["DB_HOST"], data["DB_PORT"]) == (f"internal-backend.{NAMESPACE}.svc", "3306")
    assert (data["BASTION_HOST"], data["BASTION_PORT"]) == (
        f"internal-bastion.{NAMESPACE}.svc",
        "22",
    )
    # The API token is never in the Secret: it belongs to the dashboard and the database.
    assert v["api_token"] not in json.dumps(data)


def test_no_pod_mounts_or_reads_the_decoy_secret(helm4: Renderer) -> None:
    out = helm4(sets=["enricher.authToken.enabled=true"])
    refs = []
    pods = [w["spec"]["template"]["spec"] for w in out.workloads()]
    pods += [h["spec"] for h in out.hooks if h["kind"] == "Pod"]
    for pod in pods:
        refs += [v.get("secret", {}).get("secretName") for v in pod.get("volumes", [])]
        for c in pod["containers"]:
            refs += [e["valueFrom"].get("secretKeyRef", {}).get("name") for e in c.get("env", [])
                     if "valueFrom" in e]  # fmt: skip
            refs += [f.get("secretRef", {}).get("name") for f in c.get("envFrom", [])]
    assert SEED_SECRET in refs  # the check can see a reference
    assert SECRET not in refs
    assert out.one("Secret", SECRET)["metadata"]["labels"]  # it exists, with the release's labels


def test_web_mysql_and_ssh_get_the_seed_and_placements(helm4: Renderer) -> None:
    out = helm4()
    for app in ("internal-dashboard", "internal-db", "internal-bastion"):
        env = _env(out, app)
        (seed,) = [e for e in env if e["name"] == "HONEYPODS_PERSONA_SEED"]
        assert seed["valueFrom"]["secretKeyRef"] == {"name": SEED_SECRET, "key": "seed"}
        plain = _plain(env)
        assert plain["HONEYPODS_HONEYTOKEN_PLACEMENTS"] == "dashboard,database"
        assert plain["HONEYPODS_HONEYTOKEN_SECRET"] == f"{NAMESPACE}/{SECRET}"
        assert (
            plain["HONEYPODS_HONEYTOKEN_MYSQL_ADDRESS"] == f"internal-backend.{NAMESPACE}.svc:3306"
        )
    for app in ("internal-app", f"{RELEASE}-enricher"):
        assert "HONEYPODS_PERSONA_SEED" not in _plain(_env(out, app)), app


def test_placements_follow_the_values(helm4: Renderer) -> None:
    out = helm4(sets=["decoys.web.enabled=false", "honeytokens.secret.enabled=false"])
    plain = _plain(_env(out, "internal-db"))
    assert plain["HONEYPODS_HONEYTOKEN_PLACEMENTS"] == "database"
    assert plain["HONEYPODS_HONEYTOKEN_SECRET"] == ""
    assert [
        s["metadata"]["name"] for s in out.of("Secret") if s["metadata"]["name"] == SECRET
    ] == []
    common = load(["mysql"], env={k: v for k, v in plain.items() if k.startswith("HONEYPODS_")})
    assert common.common.honeytoken_placements == ("database",)
    # Without honeytokens the seed stays: the decoys' personas are drawn from it.
    off = helm4(sets=["honeytokens.enabled=false"])
    names = {s["metadata"]["name"] for s in off.of("Secret")}
    assert SEED_SECRET in names
    assert SECRET not in names
    env = {e["name"]: e for e in _env(off, "internal-db")}
    assert env["HONEYPODS_PERSONA_SEED"]["valueFrom"]["secretKeyRef"]["name"] == SEED_SECRET
    assert "HONEYPODS_HONEYTOKEN_PLACEMENTS" not in env


def test_alerts_on_both_backends(helm4: Renderer) -> None:
    out = helm4(
        sets=[
            "alerts.prometheusRule.enabled=true",
            "alerts.globalAlert.enabled=true",
            "alerts.globalAlert.secretReaders={system:serviceaccount:argocd:argocd-application-controller}",
        ]
    )
    (group,) = out.one("PrometheusRule", RELEASE)["spec"]["groups"]
    (rule,) = [r for r in group["rules"] if r["alert"] == "honeypod.honeytoken.used"]
    assert 'rule="honeypod.honeytoken.used"' in rule["expr"]
    assert rule["labels"]["severity"] == "critical"
    assert f"{NAMESPACE}/{SECRET}" in rule["annotations"]["summary"]
    calico = out.one("GlobalAlert", "honeypod.honeytoken.used")["spec"]
    assert calico["dataSet"] == "audit"
    assert calico["aggregateBy"] == ["user.username"]
    assert f'"objectRef.name"="{SECRET}"' in calico["query"]
    assert f'"objectRef.namespace"="{NAMESPACE}"' in calico["query"]
    assert "argocd-application-controller" in calico["query"]
    # Without the Secret there is nothing for the audit log to see.
    out = helm4(sets=["alerts.globalAlert.enabled=true", "honeytokens.secret.enabled=false"])
    assert "honeypod.honeytoken.used" not in [d["metadata"]["name"] for d in out.of("GlobalAlert")]
