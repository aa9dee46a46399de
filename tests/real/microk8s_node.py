"""A MicroK8s-shaped node with a real kube-apiserver, reached over real SSH.

The host side (the fake root with MicroK8s's args file, stub ``snap`` and
``microk8s`` whose restart starts a real kube-apiserver with etcd) is the
real-parts support; this module puts a node's sshd in front of it and gives
the scenarios what they ask of a node.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from support.unavailable import skip_or_fail

from real.names import HostNames, loopback_address
from real.sshd_host import NodeSshd, start_node_sshd


@dataclass
class MicroK8sNode:
    sshd: NodeSshd
    host: Any
    original_flags: dict[str, list[str]]

    @property
    def api_endpoint(self) -> str:
        return self.host.api_endpoint

    def snapshot(self) -> dict[str, bytes]:
        """Every file under the host's root, path → bytes."""
        root: Path = self.host.root
        return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}

    def restarts(self) -> int:
        return self.host.restarts()

    def running_flags(self) -> dict[str, list[str]]:
        return self.host.running_flags()

    def stop(self) -> None:
        self.sshd.stop()
        self.host.stop()


def start_microk8s_node(directory: Path, bin_dir: Path, names: HostNames, port: int | None = None) -> MicroK8sNode:
    try:
        from real.apiserver_host import start_microk8s_host  # the real-parts support
    except ImportError:
        skip_or_fail("the MicroK8s-shaped host with a real kube-apiserver (real-parts support) is not here yet")
    directory.mkdir(parents=True, exist_ok=True)
    host = start_microk8s_host(directory, bin_dir)
    from support.sshd import free_port
    sshd = start_node_sshd(loopback_address(), port or free_port(), host.session_env, names)
    return MicroK8sNode(sshd, host, host.running_flags())
