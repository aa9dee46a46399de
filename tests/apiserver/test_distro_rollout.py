"""Several k3s servers or kubeadm control-plane nodes over real SSH: the rollout keeps the invariant.

The same invariant as test_rollout.py (MicroK8s), on the k3s and kubeadm
fakes, each run through the shared dispatcher (``irsa_main``): every accept,
then every sign, then every retire, one node at a time; destroy: every
unsign, then every revert. After each step, every running API server accepts
what any other one signs. The component's own order and its restart counts:
test_restart_budget.py.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from apiserver.distro_hosts import K3S_CONFIG_FIXTURE, KUBEADM_MANIFEST_FIXTURE, NEVER_READY_WITH
from apiserver.distro_machine import DistroMachine, distro_machine
from apiserver.harness import ISSUER, host_config
from apiserver.test_distro_hosts import without_key_dir

from irsa import oidc

OTHER_ISSUER = "https://raw.githubusercontent.com/example-org/oidc-issuer/refs/heads/next"
# The distributions' own issuer (k3s's and kubeadm's default for cluster.local).
OWN_ISSUER = "https://kubernetes.default.svc.cluster.local"


@dataclass
class Node:
    name: str
    machine: DistroMachine

    def run(self, mode: str, keys, **changes):
        return self.machine.run(mode, host_config(keys, node=self.name, owner_stack="org/irsa/prod", **changes))

    def running(self):
        """What this node's API server runs with: (accepted issuers, accepted kids, signing issuer, signing kid)."""
        host = self.machine.host
        flags = host.running()
        kids = {oidc.key_id(oidc.load_public_key(host.path(path).read_bytes())) for path in flags.key_files}
        signing = oidc.key_id(oidc.load_public_key(host.path(flags.signing_key_file).read_bytes()))
        return set(flags.issuers), kids, flags.issuers[0], signing


def check_invariant(nodes: list[Node], step: str) -> None:
    states = {n.name: n.running() for n in nodes}
    for name, (issuers, kids, _, _) in states.items():
        for other, (_, _, sign_iss, sign_kid) in states.items():
            assert sign_iss in issuers, f"after {step}: {name} does not accept {other}'s issuer {sign_iss}"
            assert sign_kid in kids, f"after {step}: {name} does not accept {other}'s signing key {sign_kid}"


def ok(result) -> str:
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result.stdout


def rollout(nodes: list[Node], keys, **changes) -> None:
    for phase in ("accept", "sign", "retire"):
        for node in nodes:
            ok(node.run(phase, keys, **changes))
            check_invariant(nodes, f"{phase} on {node.name}")


def destroy(nodes: list[Node], keys, **changes) -> None:
    for phase in ("unsign", "revert"):
        for node in reversed(nodes):
            ok(node.run(phase, keys, **changes))
            check_invariant(nodes, f"{phase} on {node.name}")


def configured(machine: DistroMachine) -> bytes | None:
    """irsa's file on the node: k3s's drop-in (None when absent), kubeadm's manifest."""
    path = machine.host.drop_in if machine.host.distribution == "k3s" else machine.host.manifest
    return path.read_bytes() if path.exists() else None


@pytest.fixture(params=["k3s", "kubeadm"])
def nodes(request, ssh_server, distro_key, tmp_path) -> list[Node]:
    """Three fake nodes of one cluster: they share the distribution's own service-account key."""
    made = []
    for index in range(3):
        base = tmp_path / f"node{index + 1}"
        base.mkdir()
        made.append(Node(f"10.0.0.{index + 1}", distro_machine(request.param, ssh_server, distro_key, base)))
    return made


def test_three_nodes_keep_the_invariant_through_setup_rotation_issuer_change_and_destroy(nodes, keys):
    before = [n.machine.host.tree() for n in nodes]
    check_invariant(nodes, "nothing")
    rollout(nodes, [keys[0]])
    for node in nodes:
        assert node.running()[2:] == (ISSUER, keys[0].kid)
    rollout(nodes, [keys[1]], issuer_url=OTHER_ISSUER)
    for node in nodes:
        issuers, kids, sign_iss, sign_kid = node.running()
        assert (sign_iss, sign_kid) == (OTHER_ISSUER, keys[1].kid)
        assert issuers == {OTHER_ISSUER, OWN_ISSUER}, "retire drops the old issuer"
        assert keys[0].kid not in kids, "retire drops the old key"
    # Setup: accept and sign restart; retire has nothing to drop. Change: all three restart.
    assert [n.machine.host.restarts() for n in nodes] == [5, 5, 5]

    destroy(nodes, [keys[1]], issuer_url=OTHER_ISSUER)

    for node, tree in zip(nodes, before, strict=True):
        assert without_key_dir(node.machine.host.tree()) == without_key_dir(tree), "every file as irsa found it"
        assert not list(node.machine.host.path("/opt/k8s").iterdir())
        assert node.running()[2] == OWN_ISSUER
    if nodes[0].machine.host.distribution == "k3s":
        assert nodes[0].machine.host.path("/etc/rancher/k3s/config.yaml").read_bytes() == K3S_CONFIG_FIXTURE.read_bytes()
    else:
        assert nodes[0].machine.host.manifest.read_bytes() == KUBEADM_MANIFEST_FIXTURE.read_bytes()


def test_unsign_checks_that_the_hosts_own_issuer_signs_again(nodes, keys):
    node = nodes[0]
    ok(node.run("apply", [keys[0]]))

    out = ok(node.run("unsign", [keys[0]]))

    assert f"self-check passed: new tokens carry iss {OWN_ISSUER}" in out
    issuers, kids, sign_iss, _ = node.running()
    assert sign_iss == OWN_ISSUER and ISSUER in issuers and keys[0].kid in kids, "irsa's stay accepted"


def test_a_failing_second_node_stops_the_rollout_consistently_and_the_next_up_converges(nodes, keys):
    for node in nodes:
        ok(node.run("apply", [keys[0]]))
    check_invariant(nodes, "set-up")
    new = dict(issuer_url=OTHER_ISSUER)
    for node in nodes:
        ok(node.run("accept", [keys[1], keys[0]], **new))
        check_invariant(nodes, f"accept on {node.name}")
    ok(nodes[0].run("sign", [keys[1], keys[0]], **new))
    nodes[1].machine.host.misbehave(NEVER_READY_WITH, OTHER_ISSUER)

    failed = nodes[1].run("sign", [keys[1], keys[0]], **new)

    assert failed.returncode != 0
    assert f"irsa: error on {nodes[1].name}:" in failed.stderr and "rolled back" in failed.stderr
    check_invariant(nodes, "the failed sign on the second node")
    assert [n.running()[2] for n in nodes] == [OTHER_ISSUER, ISSUER, ISSUER]
    (nodes[1].machine.host.state / NEVER_READY_WITH).unlink()
    rollout(nodes, [keys[1], keys[0]], **new)
    assert {n.running()[2] for n in nodes} == {OTHER_ISSUER}


def test_another_stacks_host_is_refused_unless_taken_over(nodes, keys):
    node = nodes[0]
    ok(node.run("apply", [keys[0]]))
    other = host_config([keys[1]], issuer_url=OTHER_ISSUER, node=node.name, owner_stack="org/irsa/staging")

    refused = node.machine.run("accept", other)

    assert refused.returncode != 0
    assert "configured by another irsa stack (org/irsa/prod, node 10.0.0.1)" in refused.stderr
    assert node.running()[2] == ISSUER
    left = node.machine.run("revert", other)
    assert left.returncode == 0 and "left as it is" in left.stdout
    assert node.running()[2] == ISSUER
