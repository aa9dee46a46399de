"""Where the real parts are: the directory ``scripts/real-parts`` prints as its last line.

The tests read it from ``IRSA_REAL_PARTS_BIN``. Without it, or without one
of the binaries a test needs, the test skips with the reason; under
``CI=true`` it fails (``support.unavailable``).
"""

from __future__ import annotations

import os
from pathlib import Path

from support.unavailable import skip_or_fail

ENV = "IRSA_REAL_PARTS_BIN"

# What the engine tests run: the CLI, the language host, and the providers the
# cluster-only program loads (pulumi-aws cannot be built: DESIGN.md).
ENGINE = (
    "pulumi",
    "pulumi-language-python",
    "pulumi-language-python-exec",
    "pulumi-resource-command",
    "pulumi-resource-tls",
    "pulumi-resource-kubernetes",
    "pulumi-resource-github",
)
CLUSTER = ("kube-apiserver", "etcd")
WEBHOOK = ("amazon-eks-pod-identity-webhook",)


def bin_dir(*needed: str) -> Path:
    """The real parts' bin directory holding every ``needed`` program (skip or fail otherwise)."""
    value = os.environ.get(ENV, "")
    if not value:
        skip_or_fail(f"the real parts are not built: run scripts/real-parts and set {ENV} "
                     "to the directory it prints last")
    directory = Path(value)
    missing = [name for name in needed if not os.access(directory / name, os.X_OK)]
    if missing:
        skip_or_fail(f"{ENV}={directory} lacks {', '.join(missing)} (scripts/real-parts builds them)")
    return directory
