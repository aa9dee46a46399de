"""The host script for MicroK8s: kubelite's args file for kube-apiserver, edited line by line.

Pure, no Pulumi. ``render`` returns the whole bash script; the logic lives in
``common.sh`` and ``microk8s.sh`` beside this file, the inputs are prepended.
"""

from __future__ import annotations

import shlex
from pathlib import Path

from irsa.apiserver.common import COMMON_SHELL, HostConfig, shell_inputs

ARGS_FILE = "/var/snap/microk8s/current/args/kube-apiserver"
SERVICE = "microk8s.daemon-kubelite"
# Each marker is a whole line of its own, just above the one line it marks.
MARK_ADDED = "# irsa:added (the next line; irsa revert removes it)"
MARK_COMMENTED = "# irsa:commented (the next line; irsa revert uncomments it)"
PRISTINE_SUFFIX = ".irsa-pristine"
PREVIOUS_SUFFIX = ".irsa-previous"

SHELL = Path(__file__).with_name("microk8s.sh")

HEADER = """\
#!/usr/bin/env bash
# irsa host script for MicroK8s: makes kube-apiserver sign service-account
# tokens for an external OIDC issuer (IAM Roles for Service Accounts).
# Rendered by irsa (irsa/apiserver) from the Pulumi stack; do not edit.
# Runs as root with the script on stdin: bash -s -- apply | bash -s -- revert
set -euo pipefail
"""


def render(config: HostConfig) -> str:
    """The bash script that applies or reverts ``config`` on a MicroK8s host.

    Deterministic: the same inputs give the same bytes, so an unchanged stack
    changes nothing in Pulumi's view and runs nothing on the host.
    """
    distribution = "\n".join(
        [
            # The detached copy of the script carries every variable with this prefix.
            "IRSA_DIST_PREFIX=MICROK8S_",
            f"MICROK8S_ARGS={shlex.quote(ARGS_FILE)}",
            f"MICROK8S_SERVICE={shlex.quote(SERVICE)}",
            f"MICROK8S_MARK_ADDED={shlex.quote(MARK_ADDED)}",
            f"MICROK8S_MARK_COMMENTED={shlex.quote(MARK_COMMENTED)}",
        ]
    )
    return "\n".join(
        [
            HEADER,
            "# --- inputs ---",
            shell_inputs(config),
            distribution,
            "",
            COMMON_SHELL.read_text(),
            SHELL.read_text(),
            'irsa_main "$@" </dev/null',
            "",
        ]
    )
