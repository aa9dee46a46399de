"""A real OpenSSH server on 127.0.0.1 for tests, with keys made at run time.

Host key, client key and authorized_keys live in a temp directory that is
removed afterwards; nothing here is ever committed. When sshd cannot run, the
tests that need it skip with the reason, except under CI=true, where they fail.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from support.unavailable import skip_or_fail as unavailable

SSHD = "/usr/sbin/sshd"
PRIVSEP_DIR = Path("/run/sshd")  # compiled into Debian's sshd; /run may be fresh
# Per test run, so several checkouts can run the suite at once without
# removing each other's users.
_RUN = f"{os.getpid() % 100000}"
SUDOERS_FILE = Path(f"/etc/sudoers.d/irsa-tests-{_RUN}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class SshServer:
    """A running sshd and what a client needs to reach it."""

    directory: Path
    port: int
    client_key: Path
    known_hosts: Path
    process: subprocess.Popen

    def ssh_argv(self, user: str, command: str) -> list[str]:
        """The ssh client's command line that runs ``command`` as ``user``, host key checked."""
        return [
            "ssh", "-F", "/dev/null", "-p", str(self.port), "-i", str(self.client_key),
            "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", "ConnectTimeout=10",
            "-o", "StrictHostKeyChecking=yes", "-o", f"UserKnownHostsFile={self.known_hosts}",
            "-o", "LogLevel=ERROR",
            f"{user}@127.0.0.1", command,
        ]

    def ssh(self, user: str, command: str, stdin: str = "", timeout: float = 60) -> subprocess.CompletedProcess:
        """Run ``command`` as ``user`` over SSH, ``stdin`` on its standard input."""
        return subprocess.run(
            self.ssh_argv(user, command),
            input=stdin, capture_output=True, text=True, timeout=timeout, check=False,
        )

    def log(self) -> str:
        return (self.directory / "sshd.log").read_text(errors="replace")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
        shutil.rmtree(self.directory, ignore_errors=True)


def _keygen(path: Path) -> str:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "irsa-test", "-f", str(path)],
                   check=True, capture_output=True)
    return path.with_suffix(".pub").read_text().strip()


def start_sshd() -> SshServer:
    """Start sshd on a free loopback port; calls ``unavailable`` when it cannot."""
    for tool in (SSHD, shutil.which("ssh"), shutil.which("ssh-keygen")):
        if not tool or not os.access(tool, os.X_OK):
            unavailable(f"OpenSSH is not installed ({tool or 'ssh/ssh-keygen'} missing): apt-get install openssh-server")
    if os.geteuid() != 0:
        unavailable("sshd tests must run as root: sshd switches to the test users")
    PRIVSEP_DIR.mkdir(mode=0o755, exist_ok=True)
    # Readable by every user: sshd reads authorized_keys as the user logging in.
    directory = Path(tempfile.mkdtemp(prefix="irsa-sshd-"))
    directory.chmod(0o755)
    host_public = _keygen(directory / "host_ed25519")
    client_public = _keygen(directory / "client_ed25519")
    authorized = directory / "authorized_keys"
    authorized.write_text(client_public + "\n")
    authorized.chmod(0o644)
    port = free_port()
    known_hosts = directory / "known_hosts"
    known_hosts.write_text(f"[127.0.0.1]:{port} {host_public}\n")
    config = directory / "sshd_config"
    config.write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {directory}/host_ed25519\n"
        f"AuthorizedKeysFile {authorized}\nPidFile none\nStrictModes no\nUsePAM no\n"
        "PermitRootLogin prohibit-password\nPasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\nMaxStartups 50\nMaxSessions 50\n"
    )
    check = subprocess.run([SSHD, "-t", "-f", str(config)], capture_output=True, text=True)
    if check.returncode != 0:
        shutil.rmtree(directory, ignore_errors=True)
        unavailable(f"sshd rejects its test configuration: {check.stderr.strip()}")
    with open(directory / "sshd.log", "wb") as log:
        process = subprocess.Popen([SSHD, "-D", "-e", "-f", str(config)], stderr=log)
    server = SshServer(directory, port, directory / "client_ed25519", known_hosts, process)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and process.poll() is None:
        probe = server.ssh("root", "true", timeout=10)
        if probe.returncode == 0:
            return server
        time.sleep(0.1)
    reason = server.log()[-500:]
    server.stop()
    unavailable(f"sshd did not accept a login on 127.0.0.1:{port}: {reason}")


@dataclass(frozen=True)
class SudoUsers:
    """Throwaway non-root login users: one with passwordless sudo, one whose sudo asks a password."""

    passwordless: str = f"irsatest-sudo{_RUN}"
    with_password: str = f"irsatest-pw{_RUN}"

    def create(self, home_parent: Path) -> SudoUsers:
        if not shutil.which("sudo") or not shutil.which("visudo"):
            unavailable("sudo is not installed: apt-get install sudo")
        self.remove()
        for user in (self.passwordless, self.with_password):
            subprocess.run(["useradd", "-m", "-d", str(home_parent / user), "-s", "/bin/bash", user],
                           check=True, capture_output=True)
            # '*' is no password yet not a locked account, which sshd without PAM would refuse.
            subprocess.run(["usermod", "-p", "*", user], check=True, capture_output=True)
        # The test's stub programs and fake root must reach the script through sudo.
        rules = (
            f"Defaults:{self.passwordless} !secure_path, env_keep += \"IRSA_HOST_ROOT\"\n"
            f"{self.passwordless} ALL=(ALL) NOPASSWD: ALL\n"
            f"{self.with_password} ALL=(ALL) ALL\n"
        )
        staged = home_parent / "sudoers"
        staged.write_text(rules)
        checked = subprocess.run(["visudo", "-cf", str(staged)], capture_output=True, text=True)
        if checked.returncode != 0:
            self.remove()
            unavailable(f"visudo rejects the test rules: {checked.stdout}{checked.stderr}")
        shutil.copyfile(staged, SUDOERS_FILE)
        SUDOERS_FILE.chmod(0o440)
        return self

    def remove(self) -> None:
        SUDOERS_FILE.unlink(missing_ok=True)
        for user in (self.passwordless, self.with_password):
            try:
                pwd.getpwnam(user)
            except KeyError:
                continue
            subprocess.run(["userdel", "-r", "-f", user], capture_output=True, check=False)
