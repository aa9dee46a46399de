"""The k3s and kubeadm host scripts as text: a golden file each, deterministic, parseable, secrets in one place.

After an intended change, regenerate the golden files with:

    UPDATE_GOLDEN=1 scripts/test -k golden
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from apiserver.harness import host_config

from irsa import apiserver, settings
from irsa.apiserver import k3s, kubeadm

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).with_name("golden")
DISTRIBUTIONS = ("k3s", "kubeadm")


def example_stack_script(distribution: str, key) -> str:
    """The script for the example stack on ``distribution``, keys replaced by fixed placeholders."""
    document = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())
    raw = {k: v if isinstance(v, str) else json.dumps(v) for k, v in document["config"].items()}
    raw["irsa:distribution"] = distribution
    stack = settings.parse(raw)
    config = apiserver.host_config(
        stack.host,
        issuer_url=stack.issuer.url,
        key_ids=[key.kid],
        public_keys_pem=[key.public_pem],
        signing_private_key_pem=key.private_pem,
        api_audiences=stack.tokens.api_audiences,
        audience=stack.tokens.audience,
    )
    script = apiserver.host_script(stack.host.distribution, config)
    return (
        script.replace(key.private_pem.strip(), "<signing private key PEM>")
        .replace(key.public_pem.strip(), "<public key PEM>")
        .replace(key.kid, "<key id>")
    )


@pytest.mark.parametrize("distribution", DISTRIBUTIONS)
def test_golden_example_stack_script(distribution, keys):
    golden = GOLDEN / f"{distribution}-example-stack.sh"
    rendered = example_stack_script(distribution, keys[0])
    assert "<signing private key PEM>" in rendered and "-----BEGIN" not in rendered
    if os.environ.get("UPDATE_GOLDEN") == "1":
        golden.write_text(rendered)
    assert golden.exists(), "no golden file yet: UPDATE_GOLDEN=1 scripts/test -k golden"
    assert rendered == golden.read_text(), (
        "the host script changed; review the diff, then: UPDATE_GOLDEN=1 scripts/test -k golden"
    )


@pytest.mark.parametrize("distribution", DISTRIBUTIONS)
def test_same_inputs_give_the_same_script_and_it_parses(distribution, keys):
    script = apiserver.host_script(distribution, host_config(keys[:2]))
    assert script == apiserver.host_script(distribution, host_config(keys[:2]))
    checked = subprocess.run(["bash", "-n"], input=script, capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    assert script.rstrip().endswith('irsa_main "$@" </dev/null')
    assert f"irsa host script for {distribution}" in script


@pytest.mark.parametrize("distribution", DISTRIBUTIONS)
def test_private_key_is_only_in_its_assignment(distribution, keys):
    script = apiserver.host_script(distribution, host_config(keys[:2]))
    assert script.count(keys[0].body_line) == 1
    assert f"IRSA_SIGNING_KEY='{keys[0].private_pem}'" in script
    assert keys[1].body_line not in script, "only the signing key's private half travels"
    assert "set -x" not in script


def test_kubeconfig_command_reads_each_distributions_admin_kubeconfig():
    assert "exec cat /etc/rancher/k3s/k3s.yaml;" in apiserver.kubeconfig_command_line("k3s")
    assert "exec sudo -n cat /etc/kubernetes/admin.conf;" in apiserver.kubeconfig_command_line("kubeadm")
    assert "exec microk8s config;" in apiserver.kubeconfig_command_line("microk8s")


def test_paths_are_where_the_distributions_keep_them():
    assert k3s.DROP_IN == "/etc/rancher/k3s/config.yaml.d/99-irsa.yaml"
    assert kubeadm.MANIFEST == "/etc/kubernetes/manifests/kube-apiserver.yaml"
    # Backups outside the folder whose every file the kubelet runs as a pod.
    assert not kubeadm.PRISTINE.startswith("/etc/kubernetes/manifests/")
    assert not kubeadm.PREVIOUS.startswith("/etc/kubernetes/manifests/")
