"""A fake k3s or kubeadm host reached over real SSH, run exactly as Pulumi would run the host script."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from support.sshd import SshServer

from apiserver.distro_hosts import K3sHost, KubeadmHost
from apiserver.harness import Key

from irsa import apiserver
from irsa.apiserver.common import as_root


@dataclass
class DistroMachine:
    """A fake host of ``host.distribution`` behind the test sshd."""

    server: SshServer
    host: K3sHost | KubeadmHost

    def run(self, mode: str, config: apiserver.HostConfig, user: str = "root") -> subprocess.CompletedProcess:
        script = apiserver.host_script(self.host.distribution, config)
        if mode in apiserver.MODES:
            line = apiserver.command_line(mode)
        else:
            # A phase the shared dispatcher (irsa_main in common.sh) does not route yet:
            # call the distribution's function the same way, as root, script on stdin.
            script = script.replace('irsa_main "$@" </dev/null', f"trap irsa_cleanup EXIT; irsa_require_root; irsa_{mode} </dev/null")
            line = as_root(f"bash -s -- {mode}")
        command = f"export IRSA_HOST_ROOT={self.host.root} PATH={self.host.bin}:$PATH; " + line
        return self.server.ssh(user, command, stdin=script)

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
