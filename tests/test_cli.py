"""``irsa jwks``, ``discovery`` and ``check-config``, run as a user runs them (``python -m irsa``)."""

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


@pytest.mark.parametrize("command", [[], ["jwks"], ["discovery"], ["check-config"]])
def test_help_describes_each_command(command):
    result = irsa(*command, "--help")
    assert result.returncode == 0
    assert result.stdout.startswith("usage: irsa ")
    expected = {(): "COMMAND", ("jwks",): "PEM", ("discovery",): "ISSUER_URL",
                ("check-config",): "--stack NAME"}[tuple(command)]
    assert expected in result.stdout
    # Plain text: no reStructuredText literals leak from docstrings.
    assert "``" not in result.stdout


def test_top_level_help_lists_every_command():
    listed = irsa("--help").stdout.split("positional arguments:")[1].split("options:")[0]
    commands = [line.split()[0] for line in listed.splitlines()
                if line.startswith("    ") and not line.startswith("     ")]
    assert commands == ["jwks", "discovery", "verify", "check-config"]


def test_jwks_reads_standard_input_for_dash(keys):
    key, path = keys["spki"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-m", "irsa", "jwks", "-"], input=path.read_bytes(),
                            capture_output=True, env=env, cwd=ROOT, timeout=60)
    assert result.returncode == 0, result.stderr
    (entry,) = json.loads(result.stdout)["keys"]
    assert entry["kid"] == oidc.key_id(key.public_key())


def test_jwks_refuses_a_key_the_program_would_not_sign_with(tmp_path):
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    path = tmp_path / "small.pem"
    path.write_bytes(small.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    result = irsa("jwks", str(path))
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.strip() == (
        f"irsa: {path}: an RSA key of 1024 bits; the program signs with 2048 bits or more "
        "(irsa:keyBits), so publish such a key")


def _openssh_private(tmp_path):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp_path / "id_rsa"
    path.touch(mode=0o600)  # ssh-keygen refuses a private key others may read
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                       serialization.NoEncryption()))
    return path


def _certificate(tmp_path):
    trustme = pytest.importorskip("trustme")
    path = tmp_path / "cert.pem"
    path.write_bytes(trustme.CA(key_type=trustme.KeyType.RSA).cert_pem.bytes())
    return path


@pytest.mark.parametrize("make, what, how", [
    (_openssh_private, "an OpenSSH-format private key", "ssh-keygen -p -m PEM -f COPY"),
    (_certificate, "an X.509 certificate, not a key", "openssl x509 -pubkey -noout -in FILE"),
])
def test_jwks_names_the_format_it_got_and_how_to_convert_it(tmp_path, make, what, how):
    path = make(tmp_path)
    result = irsa("jwks", str(path))
    assert result.returncode == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"irsa: {path}: {what}") and how in line


def test_the_conversions_it_suggests_work(tmp_path):
    """The advice is real: the converted files are accepted."""
    import shutil
    if not shutil.which("ssh-keygen") or not shutil.which("openssl"):
        pytest.skip("ssh-keygen or openssl not installed")
    key = _openssh_private(tmp_path)
    subprocess.run(["ssh-keygen", "-q", "-p", "-m", "PEM", "-N", "", "-f", str(key)], check=True,
                   capture_output=True, timeout=60)
    certificate = _certificate(tmp_path)
    public = subprocess.run(["openssl", "x509", "-pubkey", "-noout", "-in", str(certificate)],
                            check=True, capture_output=True, timeout=60).stdout
    (tmp_path / "ca.pub").write_bytes(public)
    result = irsa("jwks", str(key), str(tmp_path / "ca.pub"))
    assert result.returncode == 0, result.stderr
    assert len(json.loads(result.stdout)["keys"]) == 2


def test_discovery_refuses_the_discovery_url_itself_and_names_the_issuer():
    issuer = "https://raw.githubusercontent.com/o/r/refs/heads/main"
    result = irsa("discovery", issuer + "/.well-known/openid-configuration")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.strip().endswith(f"give the issuer URL, without "
                                          f"/.well-known/openid-configuration: {issuer}")


def test_discovery_warns_about_an_upper_case_host_and_keeps_the_url_as_given():
    url = "https://Issuer.Example.com/k8s"
    result = irsa("discovery", url)
    assert result.returncode == 0
    assert json.loads(result.stdout)["issuer"] == url
    assert "upper-case" in result.stderr and "'issuer.example.com'" in result.stderr


def test_jwks_reads_every_key_of_a_file_with_several(keys, tmp_path):
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(keys["spki"][1].read_bytes() + keys["private"][1].read_bytes())
    result = irsa("jwks", str(bundle))
    assert result.returncode == 0, result.stderr
    assert [k["kid"] for k in json.loads(result.stdout)["keys"]] == [
        kubernetes_key_id(keys["spki"][0].public_key()),
        kubernetes_key_id(keys["private"][0].public_key())]


def test_jwks_names_the_key_of_a_bundle_it_cannot_publish(keys, tmp_path):
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(keys["spki"][1].read_bytes() + keys["ec"][1].read_bytes())
    result = irsa("jwks", str(bundle))
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith(f"irsa: {bundle}: key 2 of 2: an EC key, but only RSA")


def test_version_prints_the_packages_version():
    import tomllib

    result = irsa("--version")
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert (result.returncode, result.stdout, result.stderr) == (0, f"irsa {declared}\n", "")
