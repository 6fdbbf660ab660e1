"""The persona values: decoys.<decoy>.persona pins that decoy's build, and only that decoy's.

The schema's enums repeat the packages' persona tables so that `helm install` refuses a name the
decoy would refuse at start (a pod in CrashLoopBackOff instead of an error on the command line);
the first test keeps the two lists equal.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import pytest
from tests.chart.conftest import CHART, HelmError, Render, Renderer

from honeypods.core import settings as config
from honeypods.mysql.personas import PERSONAS as MYSQL
from honeypods.ssh.persona import PERSONAS as SSH
from honeypods.web.persona import PERSONAS as WEB

PERSONAS: Mapping[str, Mapping[str, object]] = {"web": WEB, "mysql": MYSQL, "ssh": SSH}
CASES = [pytest.param(d, p, id=p) for d, names in PERSONAS.items() for p in names]


def _persona_env(out: Render) -> dict[str, dict[str, str]]:
    """Container (workload/container) -> its *_PERSONA variables, for every container of every workload."""
    found: dict[str, dict[str, str]] = {}
    for w in out.workloads():
        pod = w["spec"]["template"]["spec"]
        for c in pod.get("initContainers", []) + pod["containers"]:
            env = {e["name"]: e.get("value") for e in c.get("env", [])}
            pinned = {k: v for k, v in env.items() if k.endswith("_PERSONA")}
            if pinned:
                found[f"{w['metadata']['name']}/{c['name']}"] = pinned
    return found


def _decoy_container(out: Render, decoy: str) -> str:
    (name,) = [
        f"{w['metadata']['name']}/{c['name']}"
        for w in out.workloads()
        for c in w["spec"]["template"]["spec"]["containers"]
        if c.get("args") == [decoy]
    ]
    return name


def test_schema_enums_are_the_packages_personas() -> None:
    schema = json.loads((CHART / "values.schema.json").read_text())
    decoys = schema["properties"]["decoys"]["properties"]
    for decoy, names in PERSONAS.items():
        persona = decoys[decoy]["properties"]["persona"]
        assert persona["type"] == "string", decoy
        assert persona["enum"] == ["", *names], f"values.schema.json decoys.{decoy}.persona"


def test_no_persona_is_pinned_by_default(render: Renderer) -> None:
    # Empty values leave the choice to the install's seed (HONEYPODS_PERSONA_SEED).
    assert _persona_env(render()) == {}


@pytest.mark.parametrize(("decoy", "persona"), CASES)
def test_a_persona_reaches_its_decoy_only(helm4: Renderer, decoy: str, persona: str) -> None:
    out = helm4(sets=[f"decoys.{decoy}.persona={persona}"])
    name = f"HONEYPODS_{decoy.upper()}_PERSONA"
    assert _persona_env(out) == {_decoy_container(out, decoy): {name: persona}}
    # The package takes what the chart sets (an unknown name would stop the decoy at start).
    settings = config.load([decoy], env={name: persona})
    assert settings.configs[decoy].persona == persona


@pytest.mark.parametrize(
    ("decoy", "persona"),
    [
        ("web", "nginx-1.26.0-debian13"),
        ("mysql", "mysql-8.0"),
        # Another decoy's persona: a plausible slip when copying values between decoys.
        ("mysql", "nginx-1.22.1-debian12"),
        ("ssh", "openssh-9.2p1"),
    ],
)
def test_schema_refuses_an_unknown_persona(render: Renderer, decoy: str, persona: str) -> None:
    with pytest.raises(HelmError) as err:
        render(sets=[f"decoys.{decoy}.persona={persona}"])
    message = err.value.stderr
    # Helm 3 says "decoys.ssh.persona: decoys.ssh.persona must be one of the following: ...",
    # Helm 4 "at '/decoys/ssh/persona': value must be one of ...": both name the place and the choices.
    assert f"decoys.{decoy}.persona" in message or f"/decoys/{decoy}/persona" in message
    assert "must be one of" in message
    for name in PERSONAS[decoy]:
        assert name in message, name
