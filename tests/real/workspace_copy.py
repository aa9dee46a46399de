"""A copy of the project a user would have: its Pulumi.yaml and the program, none of the repo's own stacks."""

from __future__ import annotations

import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Not part of the program a user runs.
_SKIP = {".git", ".venv", "venv", "tests", "bench", "docs", "mutants", "__pycache__", "build", "dist",
         ".mutmut-cache", ".pytest_cache"}


def copy_project(target: Path) -> Path:
    shutil.copytree(ROOT, target, ignore=lambda _d, entries: [
        e for e in entries if e in _SKIP or e.endswith(".egg-info") or (e.startswith("Pulumi.") and e != "Pulumi.yaml")])
    return target
