"""The host script as text: inputs checked, output deterministic, the command line free of secrets.

The golden file shows, line by line, what would run on a host for the example
stack. After an intended change, regenerate it with:

    UPDATE_GOLDEN=1 scripts/test -k golden
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from apiserver.harness import ISSUER, host_config

from irsa import apiserver, oidc, settings
from irsa.apiserver import microk8s

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).with_name("golden") / "microk8s-example-stack.sh"


def test_same_inputs_give_the_same_script_and_it_parses(keys):
    config = host_config(keys[:2])
    script = apiserver.host_script("microk8s", config)
    assert script == apiserver.host_script("microk8s", host_config(keys[:2]))
    checked = subprocess.run(["bash", "-n"], input=script, capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    assert script.rstrip().endswith('irsa_main "$@" </dev/null')


def test_private_key_is_only_in_its_assignment(keys):
    script = apiserver.host_script("microk8s", host_config(keys[:2]))
    assert script.count(keys[0].body_line) == 1
    assert f"IRSA_SIGNING_KEY='{keys[0].private_pem}'" in script
    assert keys[1].body_line not in script, "only the signing key's private half travels"
    assert "set -x" not in script


@pytest.mark.parametrize("mode", apiserver.MODES)
def test_command_line_picks_the_mode_and_carries_no_secret(mode):
    line = apiserver.command_line(mode)
    assert f"exec bash -s -- {mode};" in line and f"exec sudo -n bash -s -- {mode};" in line
    assert "needs passwordless sudo" in line
    assert "KEY" not in line and "\n" not in line


def test_unknown_mode_and_distribution_are_refused(keys):
    with pytest.raises(ValueError, match="mode must be one of accept, sign, retire, apply, unsign, revert"):
        apiserver.command_line("destroy")
    with pytest.raises(apiserver.HostConfigError, match="no host script for distribution 'rke2'; known: k3s, kubeadm, microk8s"):
        apiserver.host_script("rke2", host_config(keys[:1]))


def test_every_distribution_the_settings_accept_has_a_builder():
    assert set(apiserver.BUILDERS) == set(settings.DISTRIBUTIONS)
    assert set(apiserver.KUBECONFIG_COMMANDS) == set(settings.DISTRIBUTIONS)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda c, k: replace(c, key_ids=(k[1].kid,)), "is not the Kubernetes key id of its public key"),
        (lambda c, k: replace(c, signing_private_key_pem=k[1].private_pem), "does not belong to the first"),
        (lambda c, k: replace(c, key_ids=(k[0].kid, k[0].kid), public_keys_pem=(k[0].public_pem,) * 2),
         "listed more than once"),
        (lambda c, k: replace(c, public_keys_pem=()), "one key id per public key"),
        (lambda c, k: replace(c, api_audiences=("a,b",)), "without spaces, commas"),
        (lambda c, k: replace(c, audience="sts #x"), "without spaces, commas"),
        (lambda c, k: replace(c, key_dir="opt/k8s"), "plain absolute path"),
        (lambda c, k: replace(c, key_dir="/opt/../etc"), "plain absolute path"),
        (lambda c, k: replace(c, issuer_url=ISSUER + "/"), "must not end with a slash"),
    ],
)
def test_unsafe_or_inconsistent_inputs_are_refused(keys, change, message):
    with pytest.raises(ValueError, match=message):
        change(host_config(keys[:1]), keys)


def test_private_key_is_hidden_from_repr(keys):
    assert keys[0].body_line not in repr(host_config(keys[:1]))


def example_stack_script(keys) -> str:
    """The script for the example stack, keys replaced by fixed placeholders."""
    document = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())
    raw = {k: v if isinstance(v, str) else json.dumps(v) for k, v in document["config"].items()}
    stack = settings.parse(raw)
    key = keys[0]
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


def test_golden_example_stack_script(keys):
    rendered = example_stack_script(keys)
    assert "<signing private key PEM>" in rendered and "-----BEGIN" not in rendered
    if os.environ.get("UPDATE_GOLDEN") == "1":
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(rendered)
    assert GOLDEN.exists(), "no golden file yet: UPDATE_GOLDEN=1 scripts/test -k golden"
    assert rendered == GOLDEN.read_text(), (
        "the host script changed; review the diff, then: UPDATE_GOLDEN=1 scripts/test -k golden"
    )
    assert microk8s.MARK_ADDED in rendered and oidc.GITHUB_RAW_HOST in rendered
