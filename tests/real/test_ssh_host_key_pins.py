"""Issue 20, scenario 11: host-key pins against the real OpenSSH server, as pulumi-command connects.

pulumi-command's provider is not served by the Go module proxy here, so its
connection is reproduced by ``sshprobe`` (tests/real/sshprobe): the same calls
as its ``SSHConfig`` (provider/pkg/provider/remote/connection.go, v1.2.1) —
``ssh.FixedHostKey`` and ``HostKeyAlgorithms: [key.Type()]`` — built from
golang.org/x/crypto at the version v1.2.1 requires. The server is Debian's
sshd with its default algorithms and both an ed25519 and an RSA host key.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from support.sshd import PRIVSEP_DIR, SSHD, free_port
from support.unavailable import skip_or_fail

from irsa import settings

PROBE = Path(__file__).resolve().parent / "sshprobe"


@pytest.fixture(scope="module")
def probe(tmp_path_factory) -> Path:
    if not shutil.which("go"):
        skip_or_fail("Go is not installed: the host-key probe is built from golang.org/x/crypto")
    out = tmp_path_factory.mktemp("probe") / "sshprobe"
    built = subprocess.run(["go", "build", "-o", str(out), "."], cwd=PROBE, capture_output=True, text=True,
                           env={**os.environ, "GOFLAGS": "-mod=readonly"}, timeout=600, check=False)
    if built.returncode != 0:
        skip_or_fail(f"cannot build the host-key probe: {built.stderr.strip()[-500:]}")
    return out


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """sshd on loopback with an ed25519 and an RSA host key and OpenSSH's default algorithms."""
    if not os.access(SSHD, os.X_OK) or os.geteuid() != 0:
        skip_or_fail("sshd (openssh-server) and root are needed")
    PRIVSEP_DIR.mkdir(mode=0o755, exist_ok=True)
    d = tmp_path_factory.mktemp("sshd")
    d.chmod(0o755)
    for kind in ("ed25519", "rsa"):
        subprocess.run(["ssh-keygen", "-q", "-t", kind, "-N", "", "-f", str(d / f"host_{kind}")], check=True)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(d / "client")], check=True)
    (d / "authorized_keys").write_text((d / "client.pub").read_text())
    port = free_port()
    (d / "sshd_config").write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {d}/host_ed25519\nHostKey {d}/host_rsa\n"
        f"AuthorizedKeysFile {d}/authorized_keys\nPidFile none\nStrictModes no\nUsePAM no\n"
        "PermitRootLogin prohibit-password\nPasswordAuthentication no\n")
    log = open(d / "sshd.log", "wb")  # noqa: SIM115
    process = subprocess.Popen([SSHD, "-D", "-e", "-f", str(d / "sshd_config")], stderr=log)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if subprocess.run(["ssh-keyscan", "-p", str(port), "127.0.0.1"], capture_output=True).stdout:
            break
        time.sleep(0.2)
    yield d, port
    process.terminate()
    process.wait(timeout=10)


def pin(directory: Path, kind: str) -> str:
    return " ".join((directory / f"host_{kind}.pub").read_text().split()[:2])


def connect(probe: Path, server, kind: str) -> subprocess.CompletedProcess:
    d, port = server
    return subprocess.run([str(probe), f"127.0.0.1:{port}", "root", str(d / "client"), pin(d, kind)],
                          capture_output=True, text=True, timeout=60, check=False)


def test_an_ed25519_pin_connects(probe, server):
    done = connect(probe, server, "ed25519")
    assert (done.returncode, done.stdout.strip()) == (0, "ok"), done.stdout + done.stderr


def test_an_rsa_pin_is_refused_by_openssh_and_by_the_program(probe, server):
    version = subprocess.run([SSHD, "-V"], capture_output=True, text=True).stderr
    done = connect(probe, server, "rsa")
    # The client offers only SHA-1 ssh-rsa; OpenSSH (>= 8.8) offers rsa-sha2-* for the same key.
    assert done.returncode == 1, done.stdout
    assert "no common algorithm for host key" in done.stdout, done.stdout
    assert "we offered: [ssh-rsa]" in done.stdout and "rsa-sha2-256" in done.stdout, (version, done.stdout)
    # So the program refuses such a pin before anything connects, saying why.
    with pytest.raises(settings.SettingsError) as err:
        settings.parse({"irsa:githubOwner": "o", "irsa:githubRepository": "r", "irsa:host": "127.0.0.1",
                        "irsa:sshHostKey": pin(server[0], "rsa")})
    assert "OpenSSH 8.8 and newer refuse (no common algorithm for host key)" in err.value.problems[0]
