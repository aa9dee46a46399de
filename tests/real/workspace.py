"""The program under the real Pulumi CLI, as the README tells a user to run it.

A copy of the project in a temp directory, a file backend (``pulumi login
file://…``), a passphrase, no update check, no plugin downloads (every
plugin comes from the real parts' bin directory on PATH), and the CLI's own
commands: ``pulumi install`` (which makes ``./venv`` from ``requirements.txt``),
``stack init``, ``config set``, ``preview``, ``up``, ``destroy``. Each
command's output and wall time are kept for the report.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from real import parts
from real.names import HostNames

ROOT = Path(__file__).resolve().parents[2]
PASSPHRASE = "irsa-real-engine-tests"
# Not part of the program a user runs; left out of the copy.
_SKIP = {".git", ".venv", "venv", "tests", "bench", "docs", "mutants", "__pycache__", "build", "dist",
         ".mutmut-cache", ".pytest_cache", ".ruff_cache"}


@dataclass(frozen=True)
class Run:
    argv: tuple[str, ...]
    returncode: int
    output: str
    seconds: float


@dataclass
class Workspace:
    """One project copy and stack under the real CLI."""

    directory: Path
    bin_dir: Path
    names: HostNames
    stack: str = "test"
    extra_env: dict[str, str] = field(default_factory=dict)
    runs: list[Run] = field(default_factory=list)

    @property
    def project(self) -> Path:
        return self.directory / "project"

    @classmethod
    def create(cls, directory: Path, bin_dir: Path, names: HostNames,
               env: Mapping[str, str] | None = None) -> Workspace:
        """Copy the project, log in to a file backend under ``directory``."""
        shutil.copytree(ROOT, directory / "project",
                        ignore=lambda _d, entries: [e for e in entries if e in _SKIP or e.endswith(".egg-info")
                                                    or (e.startswith("Pulumi.") and e != "Pulumi.yaml")])
        (directory / "state").mkdir()
        (directory / "home").mkdir()
        ws = cls(directory, bin_dir, names, extra_env=dict(env or {}))
        ws.pulumi("login", f"file://{directory / 'state'}")
        return ws

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("PULUMI_", "GITHUB_", "AWS_", "KUBECONFIG", "VIRTUAL_ENV", "PYTHON"))}
        env.update({
            "PATH": f"{parts.path_prefix()}:{os.environ.get('PATH', '/usr/bin:/bin')}",
            "PULUMI_HOME": str(self.directory / "home"),
            "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE,
            "PULUMI_SKIP_UPDATE_CHECK": "true",
            "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
            "PULUMI_SKIP_CONFIRMATIONS": "true",
            "NO_COLOR": "1",
        })
        env.update(self.extra_env)
        return env

    def run(self, argv: Sequence[str], timeout: float = 900, check: bool = True,
            stdin: str | None = None) -> Run:
        """Run ``argv`` in the project copy with the workspace's environment and host names."""
        start = time.monotonic()
        try:
            done = subprocess.run(self.names.wrap(argv), cwd=self.project, env=self.env(), input=stdin,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                  timeout=timeout, check=False)
            code, output = done.returncode, done.stdout
        except subprocess.TimeoutExpired as err:
            code, output = -9, f"{err.output or ''}\n[timed out after {timeout}s]"
        run = Run(tuple(argv), code, output, time.monotonic() - start)
        self.runs.append(run)
        if check and code != 0:
            raise AssertionError(f"{' '.join(argv)} exited {code} after {run.seconds:.0f}s:\n{output[-6000:]}")
        return run

    def start_pulumi(self, *args: str) -> subprocess.Popen:
        """A pulumi command started in the background (its output read with communicate())."""
        return subprocess.Popen(self.names.wrap([str(self.bin_dir / "pulumi"), *args]), cwd=self.project,
                                env=self.env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def pulumi(self, *args: str, timeout: float = 900, check: bool = True, stdin: str | None = None) -> Run:
        return self.run([str(self.bin_dir / "pulumi"), *args], timeout=timeout, check=check, stdin=stdin)

    # --- the README's steps ---------------------------------------------------

    def init_stack(self, config: Mapping[str, Any], secrets: Mapping[str, str] = {}) -> None:
        """``pulumi stack init`` with a stack file holding ``config``; secrets set as the README says."""
        self.pulumi("stack", "init", self.stack)
        self.write_config(config)
        for key, value in secrets.items():
            self.pulumi("config", "set", "--secret", key, stdin=value)

    def write_config(self, config: Mapping[str, Any]) -> None:
        """Replace the stack file's plain values with ``config``, keeping the secrets and the salt."""
        path = self.project / f"Pulumi.{self.stack}.yaml"
        current = yaml.safe_load(path.read_text()) if path.exists() else {}
        current = current or {}
        kept = {k: v for k, v in (current.get("config") or {}).items() if isinstance(v, dict) and "secure" in v}
        current["config"] = {**dict(config), **kept}
        path.write_text(yaml.safe_dump(current, sort_keys=False))

    def config(self) -> dict[str, Any]:
        path = self.project / f"Pulumi.{self.stack}.yaml"
        return dict((yaml.safe_load(path.read_text()) or {}).get("config") or {})

    def install(self) -> Run:
        return self.pulumi("install", timeout=1200)

    def preview(self, *args: str, check: bool = True) -> Run:
        return self.pulumi("preview", "--non-interactive", "--diff", *args, check=check)

    def up(self, *args: str, check: bool = True) -> Run:
        return self.pulumi("up", "--yes", "--non-interactive", "--skip-preview", *args, check=check)

    def destroy(self, *args: str, check: bool = True) -> Run:
        return self.pulumi("destroy", "--yes", "--non-interactive", "--skip-preview", *args, check=check)

    def outputs(self) -> dict[str, Any]:
        return json.loads(self.pulumi("stack", "output", "--json", "--show-secrets").output)

    def preview_steps(self) -> list[dict[str, Any]]:
        """The steps of a ``pulumi preview --json``: what would change, resource by resource."""
        run = self.pulumi("preview", "--non-interactive", "--json")
        return json.loads(run.output[run.output.index("{"):]).get("steps", [])

    def state_resources(self) -> list[dict[str, Any]]:
        exported = json.loads(self.pulumi("stack", "export", "--show-secrets").output)
        return exported["deployment"].get("resources", [])
