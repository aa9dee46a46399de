"""``python -m irsa jwks`` and ``discovery``, run as a user runs them."""

import json
import os
import subprocess
import sys

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from conftest import ROOT
from support.tokens import kubernetes_key_id
from irsa import oidc


def irsa(*args):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "irsa", *args], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=60)


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    folder = tmp_path_factory.mktemp("keys")
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    files = {
        "private": (private, private.private_bytes(serialization.Encoding.PEM,
                                                   serialization.PrivateFormat.PKCS8,
                                                   serialization.NoEncryption())),
        "spki": (other, other.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)),
        "pkcs1": (private, private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.PKCS1)),
        "ec": (None, ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption())),
        "text": (None, b"not a key\n"),
    }
    paths = {}
    for name, (key, data) in files.items():
        path = folder / f"{name}.pem"
        path.write_bytes(data)
        paths[name] = (key, path)
    return paths


def test_jwks_kid_equals_kubernetes_key_id_and_prints_no_private_part(keys):
    key, path = keys["private"]
    result = irsa("jwks", str(path))
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    (entry,) = document["keys"]
    assert entry["kid"] == kubernetes_key_id(key.public_key())
    assert set(entry) == {"kty", "n", "e", "kid", "use", "alg"}
    assert "d" not in entry and "PRIVATE" not in result.stdout
    assert result.stderr == ""


def test_jwks_of_several_files_keeps_their_order(keys):
    result = irsa("jwks", str(keys["spki"][1]), str(keys["private"][1]), str(keys["pkcs1"][1]))
    assert result.returncode == 0, result.stderr
    kids = [k["kid"] for k in json.loads(result.stdout)["keys"]]
    # The PKCS#1 public key is the private key's public half: listed once.
    assert kids == [kubernetes_key_id(keys["spki"][0].public_key()),
                    kubernetes_key_id(keys["private"][0].public_key())]


@pytest.mark.parametrize(
    "name, reason",
    [
        ("missing", "no such file"),
        ("ec", "only RSA keys"),
        ("text", "not a PEM public or private key"),
        ("directory", "is a directory"),
    ],
)
def test_jwks_bad_file_gives_one_line_naming_it_and_exit_2(keys, tmp_path, name, reason):
    path = {"missing": tmp_path / "missing.pem", "directory": tmp_path}.get(name) or keys[name][1]
    result = irsa("jwks", str(keys["spki"][1]), str(path))
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"irsa: {path}: ") and reason in lines[0]


def test_jwks_without_files_is_a_usage_error():
    result = irsa("jwks")
    assert result.returncode == 2
    assert "FILE" in result.stderr


def test_discovery_prints_the_document():
    url = "https://raw.githubusercontent.com/making/oidc-issuer/refs/heads/main"
    result = irsa("discovery", url)
    assert result.returncode == 0
    assert json.loads(result.stdout) == oidc.discovery_document(url)


def test_discovery_refuses_trailing_slash_with_reason():
    result = irsa("discovery", "https://example.com/issuer/")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "irsa: issuer URL 'https://example.com/issuer/' must not end with a slash: "
        "STS compares it byte for byte")


@pytest.mark.parametrize("command", [[], ["jwks"], ["discovery"]])
def test_help_describes_each_command(command):
    result = irsa(*command, "--help")
    assert result.returncode == 0
    assert "usage: python -m irsa" in result.stdout
    expected = {(): "COMMAND", ("jwks",): "PEM", ("discovery",): "ISSUER_URL"}[tuple(command)]
    assert expected in result.stdout
