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
        script = apiserver.host_script(self.host.distribution, config)
        command = (
            f"export IRSA_HOST_ROOT={self.host.root} PATH={self.host.bin}:$PATH; "
            + apiserver.command_line(mode)
        )
        return self.server.ssh(user, command, stdin=script)

    def apply(self, config: apiserver.HostConfig, user: str = "root") -> subprocess.CompletedProcess:
        return self.run("apply", config, user)

    def revert(self, config: apiserver.HostConfig, user: str = "root") -> subprocess.CompletedProcess:
        return self.run("revert", config, user)


def distro_machine(name: str, server: SshServer, key: Key, base: Path, **layout) -> DistroMachine:
    """A fresh fake ``name`` host under ``base``; ``key`` is the distribution's own service-account key."""
    if name == "k3s":
        return DistroMachine(server, K3sHost(base).create(key.private_pem, **layout))
    return DistroMachine(server, KubeadmHost(base).create(key.private_pem, key.public_pem, **layout))
