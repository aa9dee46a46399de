"""The kubeconfig read on every run: the local bash script and the real OpenSSH client against
the test sshd on 127.0.0.1 — a pinned host key is enforced, the key never reaches a command
line, and nothing is left behind."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from support.sshd import SshServer

from irsa.apiserver import remote_read

REMOTE = "printf 'apiVersion: v1\\nkind: Config\\n'"


def run(ssh_server: SshServer, tmp_path: Path, host_key: str | None, private_key: str | None,
        user: str = "root", remote: str = REMOTE) -> subprocess.CompletedProcess:
    script = remote_read.script(user, "127.0.0.1", ssh_server.port, remote)
    return subprocess.run(["/bin/bash", "-c", script], input=remote_read.stdin(host_key, private_key),
                          capture_output=True, text=True, timeout=60,
                          env={"PATH": "/usr/bin:/bin", "TMPDIR": str(tmp_path), "HOME": str(tmp_path)})


def pinned(ssh_server: SshServer) -> str:
    # known_hosts holds "[127.0.0.1]:PORT TYPE KEY": the key is the rest.
    return ssh_server.known_hosts.read_text().split(None, 1)[1].strip()


def other_key(tmp_path: Path) -> str:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "other")], check=True)
    return " ".join((tmp_path / "other.pub").read_text().split()[:2])


def test_reads_with_the_pinned_host_key(ssh_server, tmp_path):
    key = ssh_server.client_key.read_text()
    done = run(ssh_server, tmp_path, pinned(ssh_server), key)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "apiVersion: v1\nkind: Config\n"
    assert list(tmp_path.iterdir()) == [], "the key and known_hosts are removed"


def test_another_host_key_is_refused_with_one_line(ssh_server, tmp_path):
    done = run(ssh_server, tmp_path, other_key(tmp_path), ssh_server.client_key.read_text())
    assert done.returncode == 1 and done.stdout == ""
    (line,) = done.stderr.splitlines()
    assert line.startswith(f"irsa: could not read the kubeconfig from root@127.0.0.1 port {ssh_server.port} "
                           "over SSH: ") and "verification failed" in line


def test_without_a_host_key_any_is_accepted_as_remote_command_does(ssh_server, tmp_path):
    done = run(ssh_server, tmp_path, None, ssh_server.client_key.read_text())
    assert done.returncode == 0, done.stderr


def test_without_a_private_key_or_agent_the_login_fails(ssh_server, tmp_path):
    done = run(ssh_server, tmp_path, pinned(ssh_server), None)
    assert done.returncode == 1 and "irsa: could not read the kubeconfig" in done.stderr


def test_the_remote_command_failing_fails_the_read(ssh_server, tmp_path):
    done = run(ssh_server, tmp_path, pinned(ssh_server), ssh_server.client_key.read_text(), remote="exit 3")
    assert done.returncode == 1 and done.stdout == ""


def test_a_bracketed_address_reaches_ssh_bare():
    script = remote_read.script("ubuntu", "[fe80::2]", 22, "true")
    call = next(line for line in script.splitlines() if 'ssh "${options[@]}"' in line)
    assert ' fe80::2 true ' in call and "[fe80" not in call


def test_no_secret_is_on_the_command_line():
    script = remote_read.script("ubuntu", "10.0.0.5", 22, "sudo -n microk8s config")
    assert "PRIVATE KEY" not in script and "ssh-ed25519" not in script
    with pytest.raises(ValueError):
        remote_read.script("ubuntu", "10.0.0.5; rm -rf /", 22, "true")
    with pytest.raises(ValueError):
        remote_read.stdin("ssh-ed25519 AAAA\nmore", None)
