"""The package as pip installs it: the `irsa` console script, its dependencies, requirements.txt.

The wheel is built from a copy of the sources (so the worktree gets no build/
or egg-info), installed with --no-deps into a fresh venv that borrows this
venv's packages, and its `irsa` script is run as a user runs it.
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import shutil
import site
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from conftest import ROOT

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
# Modules of the Pulumi program proper; everything else in irsa/ is a helper module.
PROGRAM_MODULES = ("irsa/components/", "irsa/stack_config.py")


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_names(requirements: list[str]) -> set[str]:
    return {normalise(re.split(r"[<>=!~\[; ]", r, maxsplit=1)[0]) for r in requirements}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("build")
    source = work / "src"
    source.mkdir()
    shutil.copy(ROOT / "pyproject.toml", source)
    shutil.copytree(ROOT / "irsa", source / "irsa", ignore=shutil.ignore_patterns("__pycache__"))
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "--no-index", "-w", str(work / "dist"), str(source)],
        capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        pytest.fail(f"building the wheel failed:\n{result.stderr}")
    (built,) = (work / "dist").glob("irsa-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    """A venv with only the wheel installed; the dependencies come from this venv via a .pth."""
    venv = tmp_path_factory.mktemp("venv") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet",
                    "--no-deps", "--no-index", str(wheel)], check=True, timeout=300,
                   capture_output=True)
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                             check=True, capture_output=True, text=True).stdout.strip()
    (Path(purelib) / "borrowed.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    return venv


def test_the_wheel_declares_the_irsa_console_script(wheel):
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        entry_points = archive.read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    assert re.search(r"^\[console_scripts\]\nirsa = irsa\.cli:main$", entry_points, re.M), entry_points
    # The host scripts are read at run time, so they must be in the wheel.
    assert {"irsa/apiserver/common.sh", "irsa/apiserver/microk8s.sh"} <= set(names)


def test_the_installed_irsa_command_runs(installed, tmp_path):
    irsa = installed / "bin" / "irsa"
    assert irsa.is_file()
    result = subprocess.run([str(irsa), "--help"], capture_output=True, text=True, cwd=tmp_path,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: irsa ")
    for command in ("jwks", "discovery", "verify", "check-config"):
        assert f"\n    {command}" in result.stdout
    # It is the installed copy that runs, not this checkout.
    where = subprocess.run([str(installed / "bin" / "python"), "-c", "import irsa; print(irsa.__file__)"],
                           capture_output=True, text=True, cwd=tmp_path, timeout=60).stdout
    assert str(installed) in where
    check = subprocess.run([str(irsa), "check-config", "--project-dir", str(ROOT)],
                           capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert check.returncode == 0, check.stdout + check.stderr


def test_requirements_txt_is_the_hashed_lock_of_the_program():
    """What Pulumi's pip toolchain runs: `python -m pip install -r requirements.txt` in the project.
    Every line pins one version with its hashes, so pip runs in hash-checking mode, and the
    names are exactly the program's dependencies and theirs (scripts/lock)."""
    text = (ROOT / "requirements.txt").read_text()
    entries = [e for e in re.split(r"\n(?=[A-Za-z])", text) if e and not e.startswith("#")]
    assert not [e for e in entries if e.startswith("-")], "no options or editable lines: hash mode refuses -e"
    names = set()
    for entry in entries:
        head = entry.split(" \\")[0].split(";")[0].strip()
        assert re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==[^ ]+", head), head
        assert re.search(r"--hash=sha256:[0-9a-f]{64}", entry), f"{head} has no hash"
        names.add(normalise(head.split("==")[0]))
    declared = requirement_names(PYPROJECT["project"]["dependencies"]
                                 + PYPROJECT["project"]["optional-dependencies"]["program"])
    assert declared <= names
    assert "irsa" not in names and "program" in PYPROJECT["project"]["optional-dependencies"]
    consumer = (ROOT / "examples" / "consumer" / "requirements.txt").read_text()
    assert "-r ../../requirements.txt" in consumer.splitlines()


def _third_party_imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return {m for m in found if m not in sys.stdlib_module_names and m not in ("irsa", "__future__")}


def test_every_import_is_a_declared_dependency():
    """Helpers import only the base dependencies; the program may also use the program extra."""
    distributions = importlib.metadata.packages_distributions()
    base = requirement_names(PYPROJECT["project"]["dependencies"])
    program = base | requirement_names(PYPROJECT["project"]["optional-dependencies"]["program"])
    for path in sorted((ROOT / "irsa").rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        allowed = program if relative.startswith(PROGRAM_MODULES) else base
        for module in _third_party_imports(path):
            names = {normalise(d) for d in distributions.get(module, [module])}
            assert names & allowed, f"{relative} imports {module}, which pyproject.toml does not declare there"


def test_the_readme_step_after_pulumi_install_gives_the_program_venv_the_irsa_command(tmp_path):
    """`pulumi install` installs only the lock (hash mode cannot install a directory); the
    program imports irsa from the project folder. The README's next step,
    `./venv/bin/pip install --no-deps -e .`, adds the `irsa` command. Offline here: this
    venv's setuptools (--no-build-isolation) and its packages, borrowed through a .pth."""
    readme = (ROOT / "README.md").read_text()
    assert "./venv/bin/pip install --no-deps -e ." in readme
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(ROOT / "pyproject.toml", project)
    shutil.copytree(ROOT / "irsa", project / "irsa", ignore=shutil.ignore_patterns("__pycache__"))
    venv = project / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                             check=True, capture_output=True, text=True).stdout.strip()
    (Path(purelib) / "borrowed.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    result = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps",
         "--no-build-isolation", "--no-index", "-e", "."],
        capture_output=True, text=True, cwd=project, timeout=300)
    assert result.returncode == 0, result.stderr
    # Editable: the command runs the project's own files, so a `git pull` needs no reinstall.
    (project / "irsa" / "cli.py").write_text(
        (project / "irsa" / "cli.py").read_text().replace('PROG = "irsa"', 'PROG = "irsa-edited"'))
    help_text = subprocess.run([str(venv / "bin" / "irsa"), "--help"], capture_output=True, text=True,
                               cwd=tmp_path, timeout=120)
    assert help_text.returncode == 0, help_text.stderr
    assert help_text.stdout.startswith("usage: irsa-edited ")
