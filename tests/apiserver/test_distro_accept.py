"""The 'accept' phase on k3s and kubeadm: irsa's issuer and public keys accepted, the signer unchanged.

With several control-plane nodes, every node first accepts what any node will
sign, then the nodes switch to signing one by one. Every run goes through the
shared dispatcher (``irsa_main`` in common.sh), as Pulumi runs it; the full
rollout (accept, sign, retire; unsign, revert) is in test_distro_rollout.py.
"""

from __future__ import annotations

import pytest

from apiserver.distro_hosts import TOKEN_ISS
from apiserver.distro_machine import distro_machine
from apiserver.harness import ISSUER, host_config
from apiserver.test_distro_hosts import DEFAULTS, failed, public_key_path, signing_key_path, succeeded, without_key_dir


def test_accept_adds_our_issuer_after_the_signing_one_and_keeps_the_signer(distro, keys):
    issuer, default_key, _ = DEFAULTS[distro.host.distribution]
    signer_before = distro.host.running().signing_key_file
    audiences_before = distro.host.running().api_audiences

    out = succeeded(distro.accept(host_config([keys[0]])))

    running = distro.host.running()
    assert running.issuers == [issuer, ISSUER]
    assert sorted(running.key_files) == sorted([default_key, public_key_path(keys[0])])
    assert running.signing_key_file == signer_before
    assert running.api_audiences == audiences_before, "the audiences change only when irsa signs"
    assert not distro.host.path(signing_key_path(keys[0])).exists(), "no private key is needed to accept"
    assert distro.host.path(public_key_path(keys[0])).read_text() == keys[0].public_pem
    assert f"self-check passed: new tokens carry iss {issuer}" in out
    assert distro.host.restarts() == 1


def test_accept_twice_changes_nothing(distro, keys):
    succeeded(distro.accept(host_config([keys[0]])))

    out = succeeded(distro.accept(host_config([keys[0]])))

    assert "not written" in out and "no restart" in out
    assert distro.host.restarts() == 1


def test_accept_then_apply_switches_signing_and_revert_gives_everything_back(distro, keys):
    before = distro.host.tree()
    issuer, default_key, _ = DEFAULTS[distro.host.distribution]
    config = host_config([keys[0]])

    succeeded(distro.accept(config))
    succeeded(distro.apply(config))

    running = distro.host.running()
    assert running.issuers == [ISSUER, issuer]
    assert running.signing_key_file == signing_key_path(keys[0])
    assert distro.host.restarts() == 2

    succeeded(distro.revert(config))
    assert without_key_dir(distro.host.tree()) == without_key_dir(before)
    assert not list(distro.host.path("/opt/k8s").iterdir())


def test_accept_that_would_change_the_signer_is_rolled_back(distro, keys):
    before = distro.host.tree()
    # The fake API server signs for irsa's issuer once restarted: 'accept' must refuse that.
    succeeded_before = distro.host.running().issuers[0]
    distro.host.misbehave(TOKEN_ISS + "-after-restart", ISSUER)

    err = failed(distro.accept(host_config([keys[0]])))

    assert f"new tokens carry iss '{ISSUER}', expected '{succeeded_before}'" in err
    assert "rolled back" in err
    after = without_key_dir(distro.host.tree())
    if distro.host.distribution == "kubeadm":
        after = {p: v for p, v in after.items() if not p.startswith("etc/kubernetes/irsa")}
    assert after == without_key_dir(before)


def _signer(machine) -> tuple[str, str]:
    from irsa import oidc

    running = machine.host.running()
    pem = machine.host.path(running.signing_key_file).read_bytes()
    return running.issuers[0], oidc.key_id(oidc.load_public_key(pem))


def _accepts(machine, signer: tuple[str, str]) -> bool:
    from irsa import oidc

    running = machine.host.running()
    kids = {oidc.key_id(oidc.load_public_key(machine.host.path(f).read_bytes())) for f in running.key_files}
    return signer[0] in running.issuers and signer[1] in kids


def _every_node_accepts_what_any_signs(nodes) -> bool:
    return all(_accepts(other, _signer(node)) for node in nodes for other in nodes)


@pytest.mark.parametrize("name", ["k3s", "kubeadm"])
def test_several_nodes_accept_first_then_sign_one_by_one(name, ssh_server, distro_key, tmp_path, keys):
    # Two control-plane nodes sharing the distribution's own key, as a cluster's do.
    nodes = [distro_machine(name, ssh_server, distro_key, tmp_path / f"node{i}") for i in (1, 2)]
    config = host_config([keys[0]])
    assert _every_node_accepts_what_any_signs(nodes)

    for step in ("accept", "apply"):
        for node in nodes:
            succeeded(node.run(step, config))
            assert _every_node_accepts_what_any_signs(nodes), f"after {step} on {node.host.root}"

    assert [_signer(node)[0] for node in nodes] == [ISSUER, ISSUER]


@pytest.mark.parametrize("name", ["k3s", "kubeadm"])
def test_several_nodes_signing_before_all_accept_breaks_the_invariant(name, ssh_server, distro_key, tmp_path, keys):
    # What 'accept' is for: without it, the first node to sign issues tokens the other rejects.
    nodes = [distro_machine(name, ssh_server, distro_key, tmp_path / f"node{i}") for i in (1, 2)]

    succeeded(nodes[0].apply(host_config([keys[0]])))

    assert not _every_node_accepts_what_any_signs(nodes)
