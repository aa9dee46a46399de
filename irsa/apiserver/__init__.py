"""The script that gives a host's kube-apiserver the IRSA issuer, per Kubernetes distribution.

Pure, no Pulumi. One builder per distribution renders a bash script holding
every mode (``MODES``: accept, sign, retire, apply, unsign, revert; see
``common.py``); ``command_line`` picks the mode on the SSH command line while
the script, keys included, travels on stdin. Where each distribution keeps
kube-apiserver's flags, and why, is in its module and in docs/distributions.md.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from irsa.apiserver import k3s, kubeadm, microk8s
from irsa.apiserver.common import MODES, HostConfig, HostConfigError, as_root, command_line, host_config

BUILDERS: Mapping[str, Callable[[HostConfig], str]] = {
    "microk8s": microk8s.render,
    "k3s": k3s.render,
    "kubeadm": kubeadm.render,
}

KUBECONFIG_COMMANDS: Mapping[str, str] = {
    "microk8s": "microk8s config",
    # The admin kubeconfig each one writes; k3s's names the server https://127.0.0.1:6443.
    "k3s": f"cat {k3s.KUBECONFIG}",
    "kubeadm": f"cat {kubeadm.KUBECONFIG}",
}

__all__ = [
    "BUILDERS",
    "KUBECONFIG_COMMANDS",
    "MODES",
    "HostConfig",
    "HostConfigError",
    "command_line",
    "host_config",
    "host_script",
    "kubeconfig_command_line",
]


def _for(table: Mapping[str, object], distribution: str) -> None:
    if distribution not in table:
        raise HostConfigError(
            f"no host script for distribution {distribution!r}; known: {', '.join(sorted(table))}"
        )


def host_script(distribution: str, config: HostConfig) -> str:
    """The bash script for ``distribution`` that applies or reverts ``config``."""
    _for(BUILDERS, distribution)
    return BUILDERS[distribution](config)


def kubeconfig_command_line(distribution: str) -> str:
    """The SSH command line that prints the cluster's admin kubeconfig."""
    _for(KUBECONFIG_COMMANDS, distribution)
    return as_root(KUBECONFIG_COMMANDS[distribution])
