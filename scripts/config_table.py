"""Render the README's configuration reference from Pulumi.yaml.

    python scripts/config_table.py          # print the table
    python scripts/config_table.py --write  # rewrite it in README.md

A test fails when README.md and Pulumi.yaml disagree.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
BEGIN, END = "<!-- config-table:begin -->", "<!-- config-table:end -->"


def render(project: dict) -> str:
    """A Markdown table: key, type, default, description — one row per declared key."""
    rows = ["| key | type | default | description |", "| --- | --- | --- | --- |"]
    for key, spec in project["config"].items():
        type_ = spec["type"] + (f" of {spec['items']['type']}" if "items" in spec else "")
        if spec.get("default") == "":
            default = "*(unset)*"
        elif "default" in spec:
            default = f"`{json.dumps(spec['default'])}`"
        else:
            default = "**required**"
        description = spec["description"].replace("|", "\\|")
        rows.append(f"| `irsa:{key}` | {type_} | {default} | {description} |")
    return "\n".join(rows)


def with_table(readme: str, table: str) -> str:
    """README text with the table between the markers replaced."""
    head, _, rest = readme.partition(BEGIN)
    _, _, tail = rest.partition(END)
    return f"{head}{BEGIN}\n{table}\n{END}{tail}"


def main() -> int:
    table = render(yaml.safe_load((ROOT / "Pulumi.yaml").read_text()))
    if "--write" in sys.argv[1:]:
        readme = ROOT / "README.md"
        readme.write_text(with_table(readme.read_text(), table))
    else:
        print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
