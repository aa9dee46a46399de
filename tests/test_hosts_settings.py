"""Settings for the hosts: irsa:host or irsa:hosts, irsa:sshHostKey, irsa:apiEndpoint, and the preview warning."""

from __future__ import annotations

import base64

import pulumi
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from pulumi.runtime import config as runtime_config

from irsa import settings, stack_config

BASE = {"irsa:githubOwner": "o", "irsa:githubRepository": "r"}


def host_key(kind: str = "ed25519") -> str:
    """A host public key as /etc/ssh/ssh_host_*_key.pub holds it, made at run time."""
    private = ed25519.Ed25519PrivateKey.generate() if kind == "ed25519" else ec.generate_private_key(ec.SECP256R1())
    return private.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()


def parse(**values):
    return settings.parse({**BASE, **{f"irsa:{k}": v for k, v in values.items()}})


def problems(**values) -> list[str]:
    with pytest.raises(settings.SettingsError) as err:
        parse(**values)
    return err.value.problems


def test_one_host_with_its_bare_key_and_the_default_endpoint():
    key = host_key()
    s = parse(host="node1.example", sshHostKey=key + " root@node1\n")
    assert s.host.nodes == ("node1.example",) and s.host.hosts == ()
    assert s.host.host_keys == {"node1.example": key}
    assert s.host.api_endpoint == "https://node1.example:16443"
    assert not [w for w in s.warnings if "sshHostKey" in w]


def test_several_hosts_with_keyscan_lines():
    keys = {h: host_key("ecdsa" if h.endswith("2") else "ed25519") for h in ("n1", "n2", "n3")}
    scanned = "\n".join(["# n1:22 SSH-2.0-OpenSSH_9.6", *(f"{h} {k}" for h, k in keys.items())])
    s = parse(hosts='["n1", "n2", "n3"]', sshHostKey=scanned)
    assert s.host.nodes == s.host.hosts == ("n1", "n2", "n3")
    assert s.host.host == "n1"
    assert s.host.host_keys == keys
    assert s.host.api_endpoint == "https://n1:16443"


def test_keyscan_on_another_port_names_it():
    key = host_key()
    s = parse(host="n1", sshPort="2222", sshHostKey=f"[n1]:2222 {key}")
    assert s.host.host_keys == {"n1": key}
    assert "is for port 2222, but irsa:sshPort is 22" in problems(host="n1", sshHostKey=f"[n1]:2222 {key}")[0]


def test_an_explicit_endpoint_is_kept():
    s = parse(host="10.0.0.5", apiEndpoint="https://k8s.example.com:6443")
    assert s.host.api_endpoint == "https://k8s.example.com:6443"


@pytest.mark.parametrize(("values", "message"), [
    ({}, "irsa:host is required (or irsa:hosts for several control-plane nodes)"),
    ({"host": "a", "hosts": '["b"]'}, "set irsa:host (one node) or irsa:hosts (several), not both"),
    ({"hosts": '["a", "[a]"]'}, "irsa:hosts lists 'a' more than once"),
    ({"hosts": '["a b"]'}, "irsa:hosts[0] must be a host name or IP address"),
    ({"host": "a", "sshHostKey": "AAAA"}, "irsa:sshHostKey must hold a public key as ssh-keyscan prints it"),
    ({"host": "a", "sshHostKey": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5"}, "the ssh-ed25519 key for a is not a valid key"),
    ({"host": "a", "sshHostKey": "ssh-ed25519 !!notbase64"}, "is not a valid key"),
    ({"host": "a", "sshHostKey": "ssh-dss AAAAB3NzaC1kc3M="}, "must hold a public key as ssh-keyscan prints it"),
    ({"host": "a", "sshHostKey": "a ssh-dss AAAAB3NzaC1kc3M="}, "unknown key type 'ssh-dss'"),
    ({"hosts": '["a", "b"]', "sshHostKey": "KEY"}, "with several hosts, give one line per host"),
    ({"hosts": '["a", "b"]', "sshHostKey": "a KEY"}, "irsa:sshHostKey has no key for b"),
    ({"host": "a", "sshHostKey": "c KEY"}, "has a key for 'c', which is not a configured host"),
    ({"host": "a", "sshHostKey": "a KEY\na KEY"}, "more than one key for a"),
    ({"host": "a", "sshHostKey": "|1|abc= KEY"}, "hashed known_hosts entries"),
    ({"host": "a", "apiEndpoint": "http://a:16443"}, "irsa:apiEndpoint must be the API server's https URL"),
    ({"host": "a", "apiEndpoint": "https://a:16443/"}, "irsa:apiEndpoint must be the API server's https URL"),
    ({"host": "a", "apiEndpoint": "https://a:16443?x=1"}, "irsa:apiEndpoint must be the API server's https URL"),
])
def test_bad_host_settings_are_named(values, message):
    key = host_key()
    values = {k: v.replace("KEY", key) for k, v in values.items()}
    found = problems(**values)
    assert any(message in p for p in found), found


def test_an_rsa_host_key_pin_is_refused_with_the_reason():
    """pulumi-command pins with the key type as the only algorithm: SHA-1 ssh-rsa, refused by OpenSSH >= 8.8."""
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
    for value in (key, f"a {key}"):
        found = problems(host="a", sshHostKey=value)
        assert found == [f"irsa:sshHostKey: the ssh-rsa key for a cannot be pinned: pulumi-command then offers "
                         "only the SHA-1 ssh-rsa algorithm, which OpenSSH 8.8 and newer refuse (no common "
                         "algorithm for host key); pin its ed25519 key instead (ssh-keyscan -t ed25519 a)"], found


def test_a_key_blob_of_another_type_is_refused():
    ecdsa_body = host_key("ecdsa").split()[1]
    assert "is labelled ssh-ed25519 but is an ecdsa-sha2-nistp256 key" in problems(
        host="a", sshHostKey=f"ssh-ed25519 {ecdsa_body}")[0]
    # The blob names its own type first (RFC 4253 6.6): a real ed25519 blob passes.
    body = base64.b64decode(host_key().split()[1])
    assert body[4:15] == b"ssh-ed25519"


def test_preview_warns_without_a_host_key_and_says_what_is_at_stake(monkeypatch):
    warnings = []
    monkeypatch.setattr(pulumi.log, "warn", lambda message, *a, **kw: warnings.append(message))
    runtime_config.set_all_config({**BASE, "irsa:hosts": '["n1", "n2"]'})
    try:
        stack_config.load()
    finally:
        runtime_config.set_all_config({}, [])
    [warning] = [w for w in warnings if "sshHostKey" in w]
    assert "irsa:sshHostKey is not set for n1, n2" in warning
    assert "accepts any server key" in warning and "signing key" in warning
    assert "ssh-keyscan -t ed25519 n1 n2" in warning
