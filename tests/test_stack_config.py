"""Reading the engine's configuration: the CLI's environment and set_all_config alike."""

import json

import pulumi
import pytest
from pulumi.runtime import config as runtime_config

from irsa import stack_config
from conftest import pem_block

BASE = {"irsa:githubOwner": "o", "irsa:githubRepository": "r", "irsa:host": "h"}
KEY = pem_block("OPENSSH PRIVATE KEY", "x")


@pytest.fixture(autouse=True)
def clean_config(monkeypatch):
    runtime_config.set_all_config({}, [])
    monkeypatch.delenv("PULUMI_CONFIG", raising=False)
    monkeypatch.delenv("PULUMI_CONFIG_SECRET_KEYS", raising=False)
    yield
    runtime_config.set_all_config({}, [])


def test_reads_the_clis_environment_with_secret_keys(monkeypatch):
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps({**BASE, "irsa:sshPrivateKey": KEY, "irsa:sshPort": "2222"}))
    monkeypatch.setenv("PULUMI_CONFIG_SECRET_KEYS", json.dumps(["irsa:sshPrivateKey"]))
    settings = stack_config.load()
    assert settings.host.ssh_port == 2222
    assert settings.host.ssh_private_key.value == KEY


def test_reads_set_all_config():
    runtime_config.set_all_config({**BASE, "irsa:sshPrivateKey": KEY}, ["irsa:sshPrivateKey"])
    assert stack_config.load().host.ssh_private_key.value == KEY


def test_plain_secret_and_bad_values_stop_the_run_cleanly(monkeypatch):
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps({**BASE, "irsa:sshPrivateKey": KEY, "irsa:sshPort": "x"}))
    with pytest.raises(pulumi.RunError) as err:
        stack_config.load()
    assert str(err.value).splitlines() == [
        "invalid configuration:",
        "  irsa:sshPort must be a whole number, got 'x'",
        "  irsa:sshPrivateKey must be set as a secret: pulumi config set --secret irsa:sshPrivateKey VALUE",
    ]
    assert KEY not in str(err.value)


def test_audience_shared_with_the_api_is_warned_about(monkeypatch):
    warnings = []
    monkeypatch.setattr(pulumi.log, "warn", lambda message, *a, **kw: warnings.append(message))
    runtime_config.set_all_config({**BASE, "irsa:audience": "https://kubernetes.default.svc"})
    stack_config.load()
    warnings = [w for w in warnings if w.startswith("irsa:audience")]
    assert warnings == [
        "irsa:audience 'https://kubernetes.default.svc' is also an API audience: a token AWS accepts "
        "is then also a key to the Kubernetes API. Use a separate audience such as sts.amazonaws.com"]
    warnings.clear()
    runtime_config.set_all_config(BASE)
    stack_config.load()
    assert [w for w in warnings if w.startswith("irsa:audience")] == []
