"""API-server restarts per rollout, counted on the program's own host commands (issue 21).

The engine (``engine.py``) runs the component's commands in its dependency
order, only those whose inputs changed. Budgets: one node, one restart for a
first setup, an issuer change or a key rotation, none for a no-op; N nodes,
at most 2N−1 for a first setup or an issuer change; a retire, N; a destroy,
2N−1. After every command: the invariant (every node accepts what any node
signs), and every node still accepts the previous issuer and signing key.
"""

from __future__ import annotations

import time

import pytest

from apiserver.engine import Engine
from apiserver.fakehost import FIXTURE, FakeHost
from apiserver.harness import DEFAULT_ISSUER, ISSUER, Machine
from apiserver.test_rollout import Node, check_invariant

OTHER_ISSUER = "https://raw.githubusercontent.com/example-org/oidc-issuer/refs/heads/next"
DAY = 86400


def make_nodes(ssh_server, microk8s_key, tmp_path, count: int) -> list[Node]:
    made = []
    for index in range(count):
        base = tmp_path / f"node{index + 1}"
        base.mkdir()
        made.append(Node(f"10.0.0.{index + 1}", Machine(ssh_server, FakeHost(base).create(microk8s_key.private_pem))))
    return made


class Clock:
    """The program's clock: real time, moved forward by the test."""

    def __init__(self):
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


def engine_for(nodes: list[Node]) -> tuple[Engine, Clock, dict]:
    """An engine that checks the invariant and the kept issuers and keys after every command."""
    clock = Clock()
    kept: dict = {"issuers": set(), "kids": set()}

    def check(step: str) -> None:
        check_invariant(nodes, step)
        for node in nodes:
            issuers, kids, _, _ = node.running()
            assert kept["issuers"] <= issuers, f"after {step}: {node.name} dropped {kept['issuers'] - issuers}"
            assert kept["kids"] <= kids, f"after {step}: {node.name} dropped key {kept['kids'] - kids}"

    return Engine(nodes, clock=clock, after_each=check), clock, kept


def signs(nodes: list[Node]) -> set:
    return {node.running()[2:] for node in nodes}


@pytest.mark.parametrize("count", [1, 3])
def test_restarts_per_rollout_stay_in_budget_and_nothing_valid_is_refused(ssh_server, microk8s_key, tmp_path,
                                                                          keys, count):
    nodes = make_nodes(ssh_server, microk8s_key, tmp_path, count)
    engine, clock, kept = engine_for(nodes)
    budget = 2 * count - 1

    # First setup.
    assert engine.up([keys[0]]) == budget
    assert signs(nodes) == {(ISSUER, keys[0].kid)}
    # A no-op `up` runs nothing at all.
    engine.ran.clear()
    assert engine.up([keys[0]]) == 0 and engine.ran == []

    # Issuer change: the previous issuer and key stay accepted after every command.
    kept.update(issuers={ISSUER}, kids={keys[0].kid})
    assert engine.up([keys[1]], issuer_url=OTHER_ISSUER) == budget
    assert signs(nodes) == {(OTHER_ISSUER, keys[1].kid)}
    # Before retireAfterSeconds: nothing runs, everything stays accepted.
    engine.ran.clear()
    clock.offset = DAY - 600
    assert engine.up([keys[1]], issuer_url=OTHER_ISSUER) == 0 and engine.ran == []

    # Key rotation (new key first, old one kept): the previous issuer is still held too.
    kept["kids"].add(keys[1].kid)
    assert engine.up([keys[2], keys[1]], issuer_url=OTHER_ISSUER) == budget
    assert signs(nodes) == {(OTHER_ISSUER, keys[2].kid)}

    # The first `up` after the time retires: N restarts, one node at a time.
    kept.update(issuers=set(), kids=set())
    clock.offset = DAY + 600 + 2 * DAY
    engine.ran.clear()
    assert engine.up([keys[2], keys[1]], issuer_url=OTHER_ISSUER) == count
    assert [phase for _, phase, _ in engine.ran] == ["retire"] * count
    for node in nodes:
        issuers, kids, _, _ = node.running()
        assert ISSUER not in issuers and keys[0].kid not in kids, "retire drops what stopped signing"
        assert {OTHER_ISSUER, DEFAULT_ISSUER} <= issuers and {keys[1].kid, keys[2].kid} <= kids
    # And then nothing again.
    engine.ran.clear()
    assert engine.up([keys[2], keys[1]], issuer_url=OTHER_ISSUER) == 0 and engine.ran == []

    assert engine.destroy() == budget
    for node in nodes:
        assert node.machine.host.args_path.read_bytes() == FIXTURE.read_bytes()
        assert not list(node.machine.host.path("/opt/k8s").iterdir())
