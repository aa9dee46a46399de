"""Where the real parts are: the directory ``scripts/real-parts`` prints as its last line.

The tests read it from ``IRSA_REAL_PARTS`` (as ``tests/support/real_parts.py``
does); several directories may be given, separated by ':'. Without it, or
without one of the binaries a test needs, the test skips with the reason;
under ``CI=true`` it fails (``support.unavailable``).
"""

from __future__ import annotations

import os
from pathlib import Path

from support.unavailable import skip_or_fail

ENV = "IRSA_REAL_PARTS"

# What the engine tests run: the CLI and the one provider the Go module proxy
# serves that the program uses. The Python language host and the command, tls,
# github and aws providers are not served (real-parts/pins.txt): the tests run
# Python through the Automation API (the SDK is the language runtime).
ENGINE = (
    "pulumi",
    "pulumi-resource-kubernetes",
)
CLUSTER = ("kube-apiserver", "etcd")
WEBHOOK = ("amazon-eks-pod-identity-webhook",)


def directories() -> list[Path]:
    value = os.environ.get(ENV, "")
    if not value:
        skip_or_fail(f"the real parts are not built: run scripts/real-parts and set {ENV} "
                     "to the directory it prints last")
    return [Path(d) for d in value.split(os.pathsep) if d]


def path_prefix() -> str:
    """The real parts' directories, for the front of PATH (the CLI finds its plugins there)."""
    return os.pathsep.join(str(d) for d in directories())


def binary(name: str) -> Path:
    for directory in directories():
        if os.access(directory / name, os.X_OK):
            return directory / name
    skip_or_fail(f"{ENV}={os.environ.get(ENV)} lacks {name} (scripts/real-parts builds it)")


def bin_dir(*needed: str) -> Path:
    """The directory of the CLI, after checking every ``needed`` program is there (skip or fail otherwise)."""
    for name in needed:
        binary(name)
    return binary("pulumi").parent if "pulumi" in needed else directories()[0]
