"""The real Pulumi CLI against the project's ``Pulumi.yaml``: what ``irsa check-config`` claims it checks.

``irsa.project_config`` restates the CLI's config rules (types of declared
keys, YAML 1.2 values, secrets) and how the CLI hands values to the program
(``program_config``: strings as they are, everything else JSON). Here the real
CLI judges the same stack files, and an inline program records what it is
handed: the emulation must agree with it, case by case.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pulumi
import pytest
import yaml
from pulumi import automation as auto

from real import parts
from real.engine import EngineStack, engine_stack

from irsa import project_config

GOOD = {
    "aws:region": "us-east-1",
    "irsa:awsAccounts": [],
    "irsa:githubOwner": "o",
    "irsa:githubRepository": "r",
    "irsa:host": "127.0.0.1",
    "irsa:sshPort": 2222,
    "irsa:createRepository": False,
    "irsa:signingKeys": ["b", "a"],
    "irsa:tags": {"team": "platform", "cost": "12"},
    "irsa:serviceAccounts": [{"namespace": "default", "name": "app", "testPod": True, "maxSessionDuration": 7200}],
}
CASES = {
    "good": {},
    "integer as text": {"irsa:sshPort": "abc"},
    "array as text": {"irsa:serviceAccounts": "default/app"},
    "object as array": {"irsa:tags": ["a", "b"]},
    "yes is a string in YAML 1.2": {"irsa:createRepository": "yes"},
    "array of the wrong items": {"irsa:signingKeys": [1, 2]},
    "boolean as text": {"irsa:podIdentityWebhook": "true"},
    "not a declared key": {"irsa:hots": "127.0.0.1"},
}
SEEN: dict[str, dict[str, str]] = {}


def _program() -> None:
    config = pulumi.Config("irsa")
    SEEN["last"] = {key: config.get(key) for key in ("sshPort", "createRepository", "signingKeys", "tags",
                                                     "serviceAccounts", "host", "awsAccounts")}


@pytest.fixture(scope="module")
def es(real_dir: Path) -> Iterator[EngineStack]:
    parts.binary("pulumi")  # the CLI only: this program makes no resource
    yield engine_stack(real_dir / "config-rules", _program)


@pytest.mark.parametrize("case", list(CASES))
def test_the_cli_and_check_config_agree(es: EngineStack, case: str):
    stack_doc = {"config": {**GOOD, **CASES[case]}}
    es.write_config(stack_doc["config"])
    project = yaml.safe_load((es.project / "Pulumi.yaml").read_text())
    claimed = project_config.stack_violations(project, stack_doc)
    SEEN.pop("last", None)
    try:
        es.stack.preview()
        refused = ""
    except auto.CommandError as err:
        refused = str(err)
    if case == "not a declared key":
        # The CLI leaves unknown keys of the project's namespace to the program
        # (settings names them, with a suggestion): both accept the file itself.
        assert not claimed
        assert not refused, refused[-2000:]
        return
    assert bool(claimed) == bool(refused), f"check-config says {claimed}, the CLI says {refused[-1500:]!r}"
    if refused:
        assert "last" not in SEEN, "the CLI ran the program despite the bad stack file"
        key = next(iter(CASES[case])).split(":")[1]
        assert key in refused, refused[-1500:]
        return
    # Accepted: the program is handed exactly what program_config says.
    values, _secret = project_config.program_config(stack_doc)
    for key, got in SEEN["last"].items():
        want = values.get(f"irsa:{key}")
        if want is None or got is None:
            assert want == got, (key, want, got)
        elif want.startswith(("[", "{")):
            assert json.loads(got) == json.loads(want), (key, want, got)
        else:
            assert got == want, (key, want, got)
