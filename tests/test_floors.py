"""pyproject.toml's version floors are true: the lowest versions it admits run the program.

requirements-floors.txt (scripts/lock, `--resolution lowest-direct`) pins every direct
dependency at its floor. That set is installed into a venv of its own (cached outside the
clone, keyed by the lock's hash) and the real __main__.py runs there under minimal mocks
(tests/support/program_under_mocks.py) with the example stack; it must register the same
resources and export the same outputs as with the locked versions. A floor that is too
low (pulumi-command < 1.1 has no host_key, pulumi-kubernetes < 4.16 no
cluster_identifier) fails here with the program's own TypeError.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

from conftest import ROOT

RUNNER = ROOT / "tests" / "support" / "program_under_mocks.py"
FLOORS = ROOT / "requirements-floors.txt"


def locked_versions(path: Path) -> dict[str, str]:
    """name → version of every `name==version` line of a lock file."""
    pins = {}
    for line in path.read_text().splitlines():
        if line and not line[0].isspace() and not line.startswith("#") and "==" in line:
            requirement = Requirement(line.split(" \\")[0].strip())
            (spec,) = requirement.specifier
            pins[requirement.name.lower().replace("_", "-")] = spec.version
    return pins


def direct_requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return [Requirement(r) for r in
            project["dependencies"] + project["optional-dependencies"]["program"]]


@pytest.fixture(scope="module")
def floors_python() -> Path:
    digest = hashlib.sha256(FLOORS.read_bytes()).hexdigest()[:16]
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "irsa" / f"floors-{digest}"
    python = cache / "bin" / "python"
    if not (cache / ".complete").exists():
        uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
        assert uv, "uv is not installed (it is in requirements-dev.txt)"
        shutil.rmtree(cache, ignore_errors=True)
        subprocess.run([uv, "venv", "--quiet", "--python", sys.executable, str(cache)],
                       check=True, timeout=300)
        installed = subprocess.run(
            [uv, "pip", "install", "--quiet", "--require-hashes", "--python", str(python),
             "-r", str(FLOORS)], capture_output=True, text=True, timeout=1200)
        assert installed.returncode == 0, f"the floors do not install:\n{installed.stderr}"
        (cache / ".complete").touch()
    return python


def program_run(python: Path | str) -> dict:
    result = subprocess.run([str(python), str(RUNNER), str(ROOT), str(ROOT / "Pulumi.dev.yaml")],
                            capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert result.returncode == 0, f"{python}: the program failed:\n{result.stderr[-4000:]}"
    return json.loads(result.stdout)


def test_the_floors_lock_pins_every_direct_dependency_at_its_floor():
    pins = locked_versions(FLOORS)
    for requirement in direct_requirements():
        floor = min(Version(s.version) for s in requirement.specifier if s.operator == ">=")
        assert Version(pins[requirement.name.lower()]) == floor, (requirement, pins.get(requirement.name.lower()))


def test_the_locks_agree_and_satisfy_pyproject():
    program, dev = locked_versions(ROOT / "requirements.txt"), locked_versions(ROOT / "requirements-dev.txt")
    assert program, "requirements.txt pins nothing"
    # The tests run exactly the versions `pulumi install` installs.
    assert {name: dev.get(name) for name in program} == program
    for requirement in direct_requirements():
        assert requirement.specifier.contains(program[requirement.name.lower()]), requirement


def test_the_program_runs_the_same_at_the_floors_as_with_the_lock(floors_python):
    floors = subprocess.run([str(floors_python), "-c",
                             "import importlib.metadata as m; print(m.version('pulumi-command'), "
                             "m.version('pulumi-kubernetes'))"],
                            capture_output=True, text=True, check=True).stdout.split()
    assert floors == [locked_versions(FLOORS)["pulumi-command"], locked_versions(FLOORS)["pulumi-kubernetes"]]
    at_floors, locked = program_run(floors_python), program_run(sys.executable)
    assert len(locked["resources"]) > 20 and "oidcProviderArn" in locked["outputs"]
    assert at_floors == locked
