"""One control-plane node for the real-engine tests: a real OpenSSH server on its own loopback address.

Each node listens on its own 127.x.y.z address and the stack's one SSH port
(``irsa:sshPort`` is one value for every host), with an ed25519 and an RSA
host key, and a client key the stack gets as ``irsa:sshPrivateKey``. The
server runs with the test's private ``/etc/hosts`` (``names.HostNames``), so
what its sessions start (the API server) resolves the webhook's Service name.
``SetEnv`` gives every session the fake host's root (``IRSA_HOST_ROOT``) and
the directory of its stub programs first on ``PATH``: the program's command
lines stay exactly what a user's host runs.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from support.sshd import PRIVSEP_DIR, SSHD
from support.unavailable import skip_or_fail

from real.names import HostNames


def _keygen(path: Path, kind: str) -> str:
    subprocess.run(["ssh-keygen", "-q", "-t", kind, "-N", "", "-C", "irsa-real-test", "-f", str(path)],
                   check=True, capture_output=True)
    return path.with_suffix(".pub").read_text().strip()


@dataclass
class NodeSshd:
    """A running sshd for one node and what the stack needs to reach it."""

    directory: Path
    address: str
    port: int
    client_key: Path
    host_keys: dict[str, str]  # "ssh-ed25519" / "ssh-rsa" → "TYPE BASE64"
    process: subprocess.Popen

    def pin(self, kind: str = "ssh-ed25519") -> str:
        """The ``irsa:sshHostKey`` line for this node, as ``ssh-keyscan -t`` prints it."""
        return f"{self.address} {self.host_keys[kind]}"

    def ssh(self, command: str, stdin: str = "", timeout: float = 120) -> subprocess.CompletedProcess:
        known = self.directory / "known_hosts"
        known.write_text("".join(f"[{self.address}]:{self.port} {k}\n" for k in self.host_keys.values()))
        argv = ["ssh", "-F", "/dev/null", "-p", str(self.port), "-i", str(self.client_key),
                "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
                "-o", f"UserKnownHostsFile={known}", "-o", "LogLevel=ERROR", f"root@{self.address}", command]
        return subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=timeout, check=False)

    def kill_sessions(self) -> list[int]:
        """Kill every SSH session of this server (the listener stays): a cut connection."""
        found = subprocess.run(["pgrep", "-f", f"sshd: root@"], capture_output=True, text=True).stdout.split()
        mine = []
        for pid in found:
            # Only sessions of this server: its listener is an ancestor.
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            parent = int(next(line.split()[1] for line in status.splitlines() if line.startswith("PPid:")))
            while parent > 1 and parent != self.process.pid:
                try:
                    status = Path(f"/proc/{parent}/status").read_text()
                except OSError:
                    break
                parent = int(next(line.split()[1] for line in status.splitlines() if line.startswith("PPid:")))
            if parent == self.process.pid:
                mine.append(int(pid))
        for pid in mine:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        return mine

    def log(self) -> str:
        return (self.directory / "sshd.log").read_text(errors="replace")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        shutil.rmtree(self.directory, ignore_errors=True)


def start_node_sshd(address: str, port: int, env: Mapping[str, str], names: HostNames,
                    host_key_algorithms: str = "") -> NodeSshd:
    """sshd on ``address:port`` whose sessions get ``env``; skip or fail when it cannot run."""
    for tool in (SSHD, shutil.which("ssh"), shutil.which("ssh-keygen")):
        if not tool or not shutil.which(tool):
            skip_or_fail(f"OpenSSH is not installed ({tool or 'ssh'} missing): apt-get install openssh-server")
    PRIVSEP_DIR.mkdir(mode=0o755, exist_ok=True)
    directory = Path(tempfile.mkdtemp(prefix="irsa-real-sshd-"))
    directory.chmod(0o755)
    host_keys = {
        "ssh-ed25519": _keygen(directory / "host_ed25519", "ed25519").split()[1],
        "ssh-rsa": _keygen(directory / "host_rsa", "rsa").split()[1],
    }
    host_keys = {kind: f"{kind} {b64}" for kind, b64 in host_keys.items()}
    client_public = _keygen(directory / "client_ed25519", "ed25519")
    (directory / "authorized_keys").write_text(client_public + "\n")
    setenv = " ".join(f"{k}={v}" for k, v in env.items())
    config = directory / "sshd_config"
    config.write_text(
        f"Port {port}\nListenAddress {address}\n"
        f"HostKey {directory}/host_ed25519\nHostKey {directory}/host_rsa\n"
        f"AuthorizedKeysFile {directory}/authorized_keys\nPidFile none\nStrictModes no\nUsePAM no\n"
        "PermitRootLogin prohibit-password\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n"
        "MaxStartups 50\nMaxSessions 50\n"
        + (f"SetEnv {setenv}\n" if setenv else "")
        + (f"HostKeyAlgorithms {host_key_algorithms}\n" if host_key_algorithms else "")
    )
    check = subprocess.run([SSHD, "-t", "-f", str(config)], capture_output=True, text=True)
    if check.returncode != 0:
        shutil.rmtree(directory, ignore_errors=True)
        skip_or_fail(f"sshd rejects the test configuration: {check.stderr.strip()}")
    with open(directory / "sshd.log", "wb") as log:
        process = subprocess.Popen(names.wrap([SSHD, "-D", "-e", "-f", str(config)]), stderr=log)
    node = NodeSshd(directory, address, port, directory / "client_ed25519", host_keys, process)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and process.poll() is None:
        if node.ssh("true", timeout=10).returncode == 0:
            return node
        time.sleep(0.2)
    reason = node.log()[-500:]
    node.stop()
    skip_or_fail(f"sshd did not accept a login on {address}:{port}: {reason}")
