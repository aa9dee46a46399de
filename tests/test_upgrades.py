"""Upgrades arrive on purpose: every pinned thing has a bot that proposes its upgrades.

Dependabot (.github/dependabot.yml) for the Python locks and the GitHub Actions;
Renovate (.github/renovate.json) for the real parts' Go pins, whose file Dependabot
cannot read. A pin the bots' patterns miss would silently never be upgraded.
"""

from __future__ import annotations

import json
import re

import yaml

from conftest import ROOT


def test_dependabot_covers_the_python_locks_and_the_actions():
    config = yaml.safe_load((ROOT / ".github" / "dependabot.yml").read_text())
    ecosystems = {(u["package-ecosystem"], u["directory"]) for u in config["updates"]}
    assert {("pip", "/"), ("github-actions", "/")} <= ecosystems
    pip = next(u for u in config["updates"] if u["package-ecosystem"] == "pip")
    # Transitive pins too: the locks hold every package.
    assert {"dependency-type": "all"} in pip["allow"]


def test_renovates_pattern_reads_every_real_parts_pin():
    config = json.loads((ROOT / ".github" / "renovate.json").read_text())
    (manager,) = config["customManagers"]
    assert manager["datasourceTemplate"] == "go"
    pins_file = ROOT / "real-parts" / "pins.txt"
    assert any(re.search(pattern, "real-parts/pins.txt") for pattern in manager["fileMatch"])
    pattern = manager["matchStrings"][0].replace("(?<", "(?P<")
    found = {(m["depName"], m["currentValue"]) for m in re.finditer(pattern, pins_file.read_text())}
    pins = {tuple(line.split()[1].split("@", 1)) for line in pins_file.read_text().splitlines()
            if line.strip() and not line.startswith("#")}
    assert pins and found == pins
