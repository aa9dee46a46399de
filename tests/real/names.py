"""Host names that point at loopback, for the processes of one test run only.

The program's issuer URL is ``https://raw.githubusercontent.com/...`` and the
webhook's certificate names ``pod-identity-webhook.irsa-webhook.svc``; neither
can be changed without changing what is tested. So the processes that look
those names up (the Pulumi CLI and everything it starts, ``irsa verify``, the
test's sshd and the API servers its sessions start) run in a private mount
namespace (``unshare --mount``) where ``/etc/hosts`` is a file of the test's:
the machine's own ``/etc/hosts`` and every other process are left alone.
"""

from __future__ import annotations

import ipaddress
import os
import random
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from support.unavailable import skip_or_fail


def loopback_address() -> str:
    """A random 127.x.y.z address, so parallel runs (and other suites) do not share port 443."""
    return str(ipaddress.IPv4Address(f"127.{random.randint(16, 250)}.{random.randint(0, 255)}.{random.randint(2, 250)}"))


class HostNames:
    """A hosts file and the command prefix that makes a process see it as ``/etc/hosts``."""

    def __init__(self, directory: Path, names: Mapping[str, str]):
        self.path = directory / "hosts"
        self.names = dict(names)
        self.write()
        if os.geteuid() != 0 or not shutil.which("unshare"):
            skip_or_fail("the real-engine tests need root and unshare(1) for their private /etc/hosts")
        probe = subprocess.run(self.wrap(["getent", "hosts", next(iter(self.names))]),
                               capture_output=True, text=True, check=False)
        if probe.returncode != 0 or next(iter(self.names.values())) not in probe.stdout:
            skip_or_fail(f"cannot give a process a private /etc/hosts (unshare --mount): "
                         f"{probe.stderr.strip() or probe.stdout.strip()}")

    def write(self) -> None:
        lines = ["127.0.0.1 localhost", "::1 localhost"]
        lines += [f"{address} {name}" for name, address in self.names.items()]
        self.path.write_text("\n".join(lines) + "\n")

    def add(self, name: str, address: str) -> None:
        """Add a name; processes already running see it too (the bind mount shows the file)."""
        self.names[name] = address
        # In place: a bind mount pins the inode, so a rename would not be seen.
        with open(self.path, "r+") as f:
            f.seek(0, 2)
            f.write(f"{address} {name}\n")

    def wrap(self, argv: Sequence[str]) -> list[str]:
        """``argv`` run with the test's hosts file as ``/etc/hosts``."""
        return ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c",
                'mount --bind "$0" /etc/hosts && exec "$@"', str(self.path), *argv]
