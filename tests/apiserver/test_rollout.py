"""Several control-plane nodes over real SSH: the rollout keeps the invariant at every step.

The invariant (docs/hosts.md): at every moment every running API server
accepts every token any other one issues — its accepted issuers hold every
node's signing issuer, its verification keys every node's signing key. Here
the modes themselves run phase by phase on every node (every accept, then
every sign, then every retire with nothing held back; destroy: every unsign,
then every revert), so each mode is shown to keep the invariant on its own;
the order and modes the component really uses, with restart counts, are in
test_restart_budget.py. The plain rollout (setup, rotation with an issuer
change, destroy) runs against three REAL API servers in test_real_apiserver.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from apiserver.fakehost import FIXTURE, NEVER_READY_WITH, FakeHost, service_account_flags
from apiserver.harness import DEFAULT_ISSUER, ISSUER, Machine, host_config

from irsa import oidc

ORIGINAL = FIXTURE.read_bytes()
OTHER_ISSUER = "https://raw.githubusercontent.com/example-org/oidc-issuer/refs/heads/next"


@dataclass
class Node:
    name: str
    machine: Machine

    def run(self, mode: str, keys, **changes):
        return self.machine.run(mode, host_config(keys, node=self.name, owner_stack="org/irsa/prod", **changes))

    def running(self):
        """What this node's API server runs with: (accepted issuers, accepted kids, signing issuer, signing kid)."""
        host = self.machine.host
        flags = service_account_flags((host.state / "running-args").read_text())
        kids = set()
        for path in flags.key_files:
            kids.add(oidc.key_id(oidc.load_public_key(host.path(expand(path)).read_bytes())))
        signing = oidc.key_id(oidc.load_public_key(host.path(expand(flags.signing_key_file)).read_bytes()))
        return set(flags.issuers), kids, flags.issuers[0], signing


def expand(path: str) -> str:
    return path.replace("${SNAP_DATA}", "/var/snap/microk8s/current")


def check_invariant(nodes: list[Node], step: str) -> None:
    states = {n.name: n.running() for n in nodes}
    for name, (issuers, kids, _, _) in states.items():
        for other, (_, _, sign_iss, sign_kid) in states.items():
            assert sign_iss in issuers, f"after {step}: {name} does not accept {other}'s issuer {sign_iss}"
            assert sign_kid in kids, f"after {step}: {name} does not accept {other}'s signing key {sign_kid}"


@pytest.fixture
def nodes(ssh_server, microk8s_key, tmp_path) -> list[Node]:
    """Three fake MicroK8s nodes of one HA cluster: they share MicroK8s's service-account key."""
    made = []
    for index in range(3):
        base = tmp_path / f"node{index + 1}"
        base.mkdir()
        made.append(Node(f"10.0.0.{index + 1}", Machine(ssh_server, FakeHost(base).create(microk8s_key.private_pem))))
    return made


def ok(result) -> str:
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result.stdout


def rollout(nodes: list[Node], keys, **changes) -> None:
    for phase in ("accept", "sign", "retire"):
        for node in nodes:
            ok(node.run(phase, keys, **changes))
            check_invariant(nodes, f"{phase} on {node.name}")


def set_up(nodes: list[Node], keys) -> None:
    """Nodes configured as a finished rollout leaves them (apply: sign and retire at once)."""
    for node in nodes:
        ok(node.run("apply", keys))
    check_invariant(nodes, "set-up")


def test_a_failing_second_node_stops_the_rollout_consistently_and_the_next_up_converges(nodes, keys):
    set_up(nodes, [keys[0]])
    new = dict(issuer_url=OTHER_ISSUER)
    for node in nodes:
        ok(node.run("accept", [keys[1], keys[0]], **new))
        check_invariant(nodes, f"accept on {node.name}")
    ok(nodes[0].run("sign", [keys[1], keys[0]], **new))
    check_invariant(nodes, "sign on the first node")
    nodes[1].machine.host.misbehave(NEVER_READY_WITH, OTHER_ISSUER)

    failed = nodes[1].run("sign", [keys[1], keys[0]], **new)

    assert failed.returncode != 0
    assert f"irsa: error on {nodes[1].name}:" in failed.stderr and "rolled back" in failed.stderr
    # Pulumi runs nothing that depends on the failed step: the third node is not signed.
    check_invariant(nodes, "the failed sign on the second node")
    assert [n.running()[2] for n in nodes] == [OTHER_ISSUER, ISSUER, ISSUER]
    # The next `pulumi up` runs the phases again; the fault is gone.
    (nodes[1].machine.host.state / NEVER_READY_WITH).unlink()
    rollout(nodes, [keys[1], keys[0]], **new)
    assert {n.running()[2] for n in nodes} == {OTHER_ISSUER}


def test_adding_and_removing_a_node_configures_or_reverts_only_that_node(nodes, keys):
    first, second, third = nodes
    set_up([first, second], [keys[0]])
    before = [n.machine.host.args_path.read_bytes() for n in (first, second)]
    # A node that has just joined does not accept irsa's issuer until its accept
    # step: add it to irsa:hosts and run `pulumi up` right after `microk8s join`.

    for phase in ("accept", "sign", "retire"):
        ok(third.run(phase, [keys[0]]))
        check_invariant(nodes, f"{phase} on the added node")
    assert [n.machine.host.args_path.read_bytes() for n in (first, second)] == before

    for phase in ("unsign", "revert"):
        ok(second.run(phase, [keys[0]]))
        check_invariant(nodes if phase == "unsign" else [first, third], f"{phase} on the removed node")
    assert second.machine.host.args_path.read_bytes() == ORIGINAL
    assert [first.machine.host.args_path.read_bytes()] == before[:1]


def test_a_renamed_node_reverts_nothing_on_the_host_it_no_longer_owns(nodes, keys):
    # irsa:hosts names one machine by a new address: Pulumi creates the new
    # entry's commands first and deletes the old entry's at the end.
    node = nodes[0]
    renamed = Node("node1.example.internal", node.machine)
    ok(node.run("apply", [keys[0]]))
    ok(renamed.run("apply", [keys[0]]))
    configured = node.machine.host.args_path.read_bytes()

    out = ok(node.run("unsign", [keys[0]])) + ok(node.run("revert", [keys[0]]))

    assert "configured as node node1.example.internal of this stack now: left as it is" in out
    assert node.machine.host.args_path.read_bytes() == configured


def test_another_stacks_host_is_refused_unless_taken_over(nodes, keys):
    node = nodes[0]
    ok(node.run("apply", [keys[0]]))
    other = host_config([keys[1]], issuer_url=OTHER_ISSUER, node=node.name, owner_stack="org/irsa/staging")

    refused = node.machine.run("accept", other)
    assert refused.returncode != 0
    assert "configured by another irsa stack (org/irsa/prod, node 10.0.0.1)" in refused.stderr
    assert "irsa:takeOverHost" in refused.stderr
    assert node.running()[2] == ISSUER
    left = node.machine.run("revert", other)
    assert left.returncode == 0 and "left as it is" in left.stdout
    assert node.running()[2] == ISSUER

    ok(node.machine.run("apply", host_config([keys[1]], issuer_url=OTHER_ISSUER, node=node.name,
                                             owner_stack="org/irsa/staging", take_over=True)))
    assert node.running()[2] == OTHER_ISSUER
