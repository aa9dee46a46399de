"""``irsa check-config``: a stack file checked offline, as ``pulumi preview`` would check it.

First the Pulumi CLI's own rules (``irsa.project_config``: required keys,
types, secrets), then the program's settings rules (``irsa.settings.parse``),
so the messages are the ones ``pulumi preview`` would print, without a Pulumi
CLI, credentials or network. Encrypted values cannot be read offline: they
count as set and secret, and are checked only for presence. The files are
read as the CLI reads them (``irsa.pulumi_yaml``: YAML 1.2 as gopkg.in/yaml.v3).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from irsa import project_config, pulumi_yaml, settings

PROJECT_FILE = "Pulumi.yaml"


class CheckConfigError(Exception):
    """The project or stack file cannot be read at all."""


@dataclass
class Report:
    """What one stack file gave: problems (exit 1 if any) and warnings."""

    stack_file: Path
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def stack_files(project_dir: Path) -> list[Path]:
    """Every ``Pulumi.<stack>.yaml`` next to ``Pulumi.yaml``, sorted."""
    return sorted(p for p in project_dir.glob("Pulumi.*.yaml") if p.name != PROJECT_FILE)


def stack_file(project_dir: Path, stack: str) -> Path:
    """``Pulumi.<stack>.yaml``; for an org/project/stack name, the last part is the file's."""
    return project_dir / f"Pulumi.{stack.rsplit('/', 1)[-1]}.yaml"


def _load(path: Path, stack: bool = False) -> dict:
    try:
        text = path.read_text()
        document = (pulumi_yaml.load_stack if stack else pulumi_yaml.load)(text)
    except FileNotFoundError:
        raise CheckConfigError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError, pulumi_yaml.Error) as err:
        reason = " ".join(str(err).split())
        raise CheckConfigError(f"{path}: cannot read it: {reason}") from None
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise CheckConfigError(f"{path}: not a YAML mapping")
    config = document.get("config")
    if config is not None and not isinstance(config, dict):
        raise CheckConfigError(f"{path}: config must be a mapping of KEY: VALUE, "
                               f"got {type(config).__name__}")
    if config and not all(isinstance(k, str) for k in config):
        key = next(k for k in config if not isinstance(k, str))
        # The CLI would take it as text and find no namespace: name it as it would.
        document["config"] = {str(k): v for k, v in config.items()}
        if not stack:
            raise CheckConfigError(f"{path}: config key {key!r} must be a string")
    return document


def check(project_dir: Path, path: Path) -> Report:
    """Check one stack file against the project in ``project_dir``."""
    project = _load(project_dir / PROJECT_FILE)
    stack = _load(path, stack=True)
    report = Report(path)
    report.problems += project_config.cli_rule_violations(project)
    cli_problems = project_config.stack_violations(project, stack)
    report.problems += cli_problems
    if cli_problems:
        return report  # the CLI stops here: the program would not run
    values, secret = project_config.program_config(stack)
    # A key the settings do not hold secret, set with --secret anyway: its content is
    # unknown offline, so it is left to its default and not judged.
    unreadable = sorted(k for k in secret if k.startswith(f"{settings.NAMESPACE}:")
                        and k.removeprefix(f"{settings.NAMESPACE}:") in settings.KEYS
                        and not settings.KEYS[k.removeprefix(f"{settings.NAMESPACE}:")].secret)
    for key in unreadable:
        del values[key]
        report.warnings.append(f"{key} is encrypted: its value cannot be checked offline")
    try:
        parsed = settings.parse(values, secret, opaque_secrets=True)
    except settings.SettingsError as err:
        report.problems += [p for p in err.problems
                            if not any(p.startswith(f"{key} is required") for key in unreadable)]
    else:
        report.warnings += parsed.warnings
    return report
