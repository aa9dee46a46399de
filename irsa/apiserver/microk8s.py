"""The host script for MicroK8s: kubelite's args file for kube-apiserver, edited line by line.

Pure, no Pulumi. ``render`` returns the whole bash script; the logic lives in
``common.sh`` and ``microk8s.sh`` beside this file, the inputs are prepended.
"""

from __future__ import annotations

from pathlib import Path

from irsa.apiserver.common import HostConfig, assemble_script

ARGS_FILE = "/var/snap/microk8s/current/args/kube-apiserver"
SERVICE = "microk8s.daemon-kubelite"
# Each marker is a whole line of its own, just above the one line it marks.
MARK_ADDED = "# irsa:added (the next line; irsa revert removes it)"
MARK_COMMENTED = "# irsa:commented (the next line; irsa revert uncomments it)"
PRISTINE_SUFFIX = ".irsa-pristine"
PREVIOUS_SUFFIX = ".irsa-previous"

SHELL = Path(__file__).with_name("microk8s.sh")


def render(config: HostConfig) -> str:
    """The bash script that applies or reverts ``config`` on a MicroK8s host.

    Deterministic: the same inputs give the same bytes, so an unchanged stack
    changes nothing in Pulumi's view and runs nothing on the host.
    """
    return assemble_script("MicroK8s", "MICROK8S_", {
        "ARGS": ARGS_FILE,
        "SERVICE": SERVICE,
        "MARK_ADDED": MARK_ADDED,
        "MARK_COMMENTED": MARK_COMMENTED,
    }, SHELL, config)
