"""A fake k3s or kubeadm host reached over real SSH, run exactly as Pulumi would run the host script."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from support.sshd import SshServer

from apiserver.distro_hosts import K3sHost, KubeadmHost
from apiserver.harness import Key

from irsa import apiserver


@dataclass
class DistroMachine:
    """A fake host of ``host.distribution`` behind the test sshd."""

    server: SshServer
    host: K3sHost | KubeadmHost

    def run(self, mode: str, config: apiserver.HostConfig, user: str = "root") -> subprocess.CompletedProcess:
        """Run the host script in ``mode`` exactly as Pulumi would (irsa_main), against the fake root."""
        script = apiserver.host_script(self.host.distribution, config)
        return self.server.ssh(user, self._command(mode), stdin=script)

    def _command(self, mode: str) -> str:
        return f"export IRSA_HOST_ROOT={self.host.root} PATH={self.host.bin}:$PATH; " + apiserver.command_line(mode)

    def start(self, mode: str, config: apiserver.HostConfig) -> subprocess.Popen:
        """Start the script in ``mode`` over SSH without waiting: the test may cut the connection."""
        process = subprocess.Popen(
            self.server.ssh_argv("root", self._command(mode)), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True,
        )
        process.stdin.write(apiserver.host_script(self.host.distribution, config))
        process.stdin.close()
        process.stdin = None  # communicate() must not touch it again
        return process

    def accept(self, config: apiserver.HostConfig, user: str = "root") -> subprocess.CompletedProcess:
        return self.run("accept", config, user)

    def apply(self, config: apiserver.HostConfig, user: str = "root") -> subprocess.CompletedProcess:
        return self.run("apply", config, user)

    def revert(self, config: apiserver.HostConfig, user: str = "root") -> subprocess.CompletedProcess:
        return self.run("revert", config, user)


def distro_machine(name: str, server: SshServer, key: Key, base: Path, **layout) -> DistroMachine:
    """A fresh fake ``name`` host under ``base``; ``key`` is the distribution's own service-account key."""
    if name == "k3s":
        return DistroMachine(server, K3sHost(base).create(key.private_pem, **layout))
    return DistroMachine(server, KubeadmHost(base).create(key.private_pem, key.public_pem, **layout))
