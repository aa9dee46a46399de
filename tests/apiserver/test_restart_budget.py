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

from apiserver.distro_machine import distro_machine
from apiserver.engine import Engine
from apiserver.fakehost import FIXTURE, TOKEN_ISS, FakeHost
from apiserver.harness import ISSUER, Machine
from apiserver.test_distro_hosts import without_key_dir
from apiserver.test_distro_rollout import Node as DistroNode
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
    scenario(nodes, keys)
    for node in nodes:
        assert node.machine.host.args_path.read_bytes() == FIXTURE.read_bytes()


@pytest.mark.parametrize("distribution", ["k3s", "kubeadm"])
def test_k3s_and_kubeadm_nodes_have_the_same_budget(ssh_server, distro_key, tmp_path, keys, distribution):
    nodes = []
    for index in range(2):
        base = tmp_path / f"node{index + 1}"
        base.mkdir()
        nodes.append(DistroNode(f"10.0.0.{index + 1}", distro_machine(distribution, ssh_server, distro_key, base)))
    before = [n.machine.host.tree() for n in nodes]
    scenario(nodes, keys)
    for node, tree in zip(nodes, before, strict=True):
        assert without_key_dir(node.machine.host.tree()) == without_key_dir(tree)


def scenario(nodes, keys) -> None:
    """First setup, no-op, issuer change, hold, key rotation, retire, destroy: restarts and acceptance."""
    count = len(nodes)
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
        assert OTHER_ISSUER in issuers and {keys[1].kid, keys[2].kid} <= kids
    # And then nothing again.
    engine.ran.clear()
    assert engine.up([keys[2], keys[1]], issuer_url=OTHER_ISSUER) == 0 and engine.ran == []

    assert engine.destroy() == budget
    for node in nodes:
        assert not list(node.machine.host.path("/opt/k8s").iterdir())


def test_a_retire_that_fails_on_a_node_rolls_back_there_and_the_next_up_finishes(ssh_server, microk8s_key,
                                                                                  tmp_path, keys):
    nodes = make_nodes(ssh_server, microk8s_key, tmp_path, 2)
    engine, clock, kept = engine_for(nodes)
    engine.up([keys[0]])
    engine.up([keys[1]], issuer_url=OTHER_ISSUER)
    clock.offset = 2 * DAY
    # The self-check after the retire's restart finds a wrong issuer in new tokens.
    nodes[0].machine.host.misbehave(TOKEN_ISS, "https://wrong.example")

    with pytest.raises(AssertionError, match="retire on 10.0.0.1: exit 1") as failed:
        engine.up([keys[1]], issuer_url=OTHER_ISSUER)

    assert "rolled back" in str(failed.value)
    assert ISSUER in nodes[0].running()[0], "rolled back: the old issuer is still accepted"
    assert ISSUER in nodes[1].running()[0], "the engine runs nothing after a failed step"
    check_invariant(nodes, "the failed retire")
    # The failed command's state is not saved: the next `up` runs both retires.
    (nodes[0].machine.host.state / TOKEN_ISS).unlink()
    engine.ran.clear()
    assert engine.up([keys[1]], issuer_url=OTHER_ISSUER) == 2
    assert all(ISSUER not in n.running()[0] for n in nodes)
