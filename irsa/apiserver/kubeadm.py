"""The host script for kubeadm: the kube-apiserver static pod manifest, edited line by line.

Pure, no Pulumi. ``render`` returns the whole bash script; the logic lives in
``common.sh`` and ``kubeadm.sh`` beside this file, the inputs are prepended.

Facts it relies on (kubernetes/kubernetes):

- ``cmd/kubeadm/app/phases/controlplane/manifests.go`` (``getAPIServerCommand``)
  writes ``/etc/kubernetes/manifests/kube-apiserver.yaml`` with one
  ``- --flag=value`` line per argument of the container's ``command``, among them
  ``--service-account-issuer=https://kubernetes.default.svc.<dnsDomain>``,
  ``--service-account-key-file=/etc/kubernetes/pki/sa.pub`` and
  ``--service-account-signing-key-file=/etc/kubernetes/pki/sa.key``, and no
  ``--api-audiences`` (so the audiences default to the issuers).
- ``pkg/kubelet/config/file.go`` (``extractFromDir``): the kubelet reads every
  file of the manifest folder whose name does not start with ``.``: irsa's temp
  files start with ``.``, its backups live in ``/etc/kubernetes/irsa/``.
- The kubelet replaces the static pod when the file changes; there is no
  service to restart. irsa waits for a running ``kube-apiserver`` container
  with a new id (``crictl ps``) that answers ``/readyz``.
- kube-apiserver runs in a container: irsa:keyDir is mounted into it (a
  read-only hostPath volume) unless a kubeadm mount already holds it.
- ``kubeadm upgrade`` regenerates the manifest from the ``kubeadm-config``
  ClusterConfiguration: see docs/distributions.md for the way that survives it.
- The modes (``common.py``): while the host's own issuer signs (accept from a
  fresh host, unsign), irsa's lines go after the first issuer and hold no
  signing key and no audiences: accepted, not signing.
- When kube-apiserver refuses its flags, its container exits: irsa quotes the
  newest exited container's log (``crictl ps -a --state exited``, then
  ``crictl logs``), as the kubelet keeps it.
"""

from __future__ import annotations

from pathlib import Path

from irsa.apiserver.common import HostConfig, assemble_script

MANIFEST = "/etc/kubernetes/manifests/kube-apiserver.yaml"
# Outside the manifest folder: the kubelet would run a second API server from a copy there.
BACKUP_DIR = "/etc/kubernetes/irsa"
PRISTINE = f"{BACKUP_DIR}/kube-apiserver.yaml.irsa-pristine"
PREVIOUS = f"{BACKUP_DIR}/kube-apiserver.yaml.irsa-previous"
KUBECONFIG = "/etc/kubernetes/admin.conf"
# YAML comments: whole lines of their own, indented like the command list.
MARK_ADDED = "# irsa:added (the next line; irsa revert removes it)"
MARK_COMMENTED = "# irsa:commented (the next line; irsa revert uncomments it)"

SHELL = Path(__file__).with_name("kubeadm.sh")


def render(config: HostConfig) -> str:
    """The bash script that applies or reverts ``config`` on a kubeadm control-plane node.

    Deterministic: the same inputs give the same bytes.
    """
    return assemble_script("kubeadm", "KUBEADM_", {
        "MANIFEST": MANIFEST,
        "BACKUP_DIR": BACKUP_DIR,
        "KUBECONFIG": KUBECONFIG,
        "MARK_ADDED": MARK_ADDED,
        "MARK_COMMENTED": MARK_COMMENTED,
    }, SHELL, config)
