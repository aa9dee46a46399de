"""The quick start, read as a newcomer reads it: its commands, run where they can be.

The section is found by its heading ("Quick start", in README.md or any file
under docs/), so the test follows the text when it moves. From its shell
blocks: every `pulumi config set` is applied the way the Pulumi CLI applies it
(top-level values are strings; with --path, true/false become booleans and
digits numbers; `< FILE` reads a file, here a placeholder), and the resulting
stack must pass the CLI's rules and the program's settings, and run through
the real program under mocks. Every `irsa` command must parse with the real
command line, and the names the later commands use (the test pod, the stack
outputs, the service account, the bucket names) must be the ones the
configuration gives.
"""

from __future__ import annotations

import ast
import json
import re
import shlex
from pathlib import Path

import pytest
import yaml

from conftest import ROOT, pem_block, run_program
from irsa import cli, project_config, settings

HEADING = re.compile(r"^(#{1,6})\s+quick start\s*$", re.I | re.M)
PROJECT = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())


def quick_start() -> tuple[Path, str]:
    """The text under a "Quick start" heading that holds shell commands (README.md first,
    then docs/), up to the next heading of its level or above."""
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("**/*.md"))]:
        if not path.is_file():
            continue
        text = path.read_text()
        for match in HEADING.finditer(text):
            level = len(match.group(1))
            rest = text[match.end():]
            end = re.search(rf"^#{{1,{level}}}\s", rest, re.M)
            section = rest[: end.start()] if end else rest
            if shell_commands(section):
                return path, section
    pytest.fail("no section headed 'Quick start' with shell commands in README.md or docs/")


def shell_commands(section: str) -> list[list[str]]:
    """Each command of the ```sh blocks as words; pipelines and lists split into their commands."""
    commands = []
    for block in re.findall(r"^```(?:sh|bash|shell)\n(.*?)^```", section, re.S | re.M):
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            part: list[str] = []
            skip = False
            for word in [*words, "|"]:
                if skip:
                    skip = False
                elif word in ("|", "&&", "||", ";"):
                    if part:
                        commands.append(part)
                    part = []
                elif word in (">", ">>", "2>"):
                    skip = True  # an output redirection and its file are not arguments
                else:
                    part.append(word)
    return commands


def set_path(config: dict, key: str, value) -> None:
    """`pulumi config set --path KEY VALUE`: KEY like irsa:serviceAccounts[0].name."""
    head, *steps = re.findall(r"[^.\[\]]+|\[\d+\]", key)
    parts: list = [head, *(int(s[1:-1]) if s.startswith("[") else s for s in steps)]
    node = config
    for part, following in zip(parts, parts[1:] + [None]):
        if following is None:
            break
        empty = [] if isinstance(following, int) else {}
        if isinstance(part, int):
            while len(node) <= part:
                node.append(None)
            if node[part] is None:
                node[part] = empty
        else:
            node.setdefault(part, empty)
        node = node[part]
    last = parts[-1]
    if isinstance(last, int):
        while len(node) <= last:
            node.append(None)
    node[last] = value


def path_value(text: str):
    """The CLI with --path: "true"/"false" are booleans, integers numbers, the rest strings."""
    if text in ("true", "false"):
        return text == "true"
    return int(text) if re.fullmatch(r"-?\d+", text) else text


def ssh_keyscan(substitution: str) -> str:
    """What ``$(ssh-keyscan -t ed25519 HOST)`` prints: HOST, the type and a real public key."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    host = substitution.rstrip(")").split()[-1]
    key = ed25519.Ed25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
    return f"{host} {key}"


def apply_config_sets(commands: list[list[str]]) -> tuple[dict, set[str]]:
    """The stack file's config after the quick start's `pulumi config set` commands."""
    config: dict = {}
    secret: set[str] = set()
    for words in commands:
        if words[:3] != ["pulumi", "config", "set"]:
            continue
        args = words[3:]
        flags = {a for a in args if a.startswith("--")}
        positional = [a for a in args if not a.startswith("--")]
        if "<" in positional:  # value from a file: stands for what the file holds
            positional = positional[: positional.index("<")] + [pem_block("OPENSSH PRIVATE KEY", "AAAA")]
        positional = [ssh_keyscan(w) if w.startswith("$(ssh-keyscan ") else w for w in positional]
        key, value = positional[0], positional[1]
        if "--secret" in flags:
            secret.add(key)
        if "--path" in flags:
            set_path(config, key, path_value(value))
        else:
            config[key] = value
    return config, secret


@pytest.fixture(scope="module")
def section():
    return quick_start()


@pytest.fixture(scope="module")
def commands(section):
    found = shell_commands(section[1])
    assert found, f"no shell commands under Quick start in {section[0]}"
    return found


@pytest.fixture(scope="module")
def stack(commands):
    config, secret = apply_config_sets(commands)
    assert config, "the quick start sets no configuration"
    return config, secret


def test_the_configuration_it_sets_passes_the_clis_checks_and_the_settings(stack):
    config, secret = stack
    stack_file = {"config": {k: {"secure": "v1:x"} if k in secret else v for k, v in config.items()}}
    assert project_config.stack_violations(PROJECT, stack_file) == []
    values, secret_keys = project_config.program_config(stack_file)
    settings.parse(values, secret_keys, opaque_secrets=True)
    # And with the values themselves (what the program gets once decrypted).
    plain = {k: v if isinstance(v, str) else json.dumps(v) for k, v in config.items()}
    settings.parse(plain, secret)


def test_every_irsa_command_parses_with_the_real_command_line(commands, stack):
    config, _ = stack
    parsed = settings.parse({k: v if isinstance(v, str) else json.dumps(v) for k, v in config.items()},
                            set(stack[1]))
    accounts = {a.key for a in parsed.service_accounts}
    used = [words for words in commands if Path(words[0]).name == "irsa"]
    assert used, "the quick start never runs the irsa command"
    for words in used:
        args = cli.parser().parse_args(words[1:])  # exits (fails the test) on a wrong flag or command
        if getattr(args, "service_account", None):
            assert args.service_account in accounts, words
        if getattr(args, "s3_bucket_prefix", None):
            assert args.s3_bucket_prefix in {a.s3_bucket_prefix for a in parsed.service_accounts}


def test_the_names_the_later_commands_use_are_the_ones_the_program_creates(pulumi_mocks, commands, stack):
    config, secret = stack
    plain = {k: v if isinstance(v, str) else json.dumps(v) for k, v in config.items()}
    pulumi_mocks.run(lambda: run_program(plain, sorted(secret)))
    pods = {p.inputs["metadata"]["name"] for p in pulumi_mocks.of_type("kubernetes:core/v1:Pod")}
    exported = {node.args[0].value for node in ast.walk(ast.parse((ROOT / "__main__.py").read_text()))
                if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "export"}
    prefixes = {a["s3BucketPrefix"] for a in config.get("irsa:serviceAccounts", []) if "s3BucketPrefix" in a}
    for words in commands:
        if words[:2] == ["kubectl", "exec"]:
            pod = next(w for w in words[2:] if not w.startswith("-"))
            assert pod in pods, words
            for bucket in (w.removeprefix("s3://") for w in words if w.startswith("s3://")):
                # One bucket the role may create, one it may not: both must be meant that way.
                assert any(bucket.startswith(f"{p}-") for p in prefixes) or all(
                    not bucket.startswith(p) for p in prefixes), bucket
        if words[:3] == ["pulumi", "stack", "output"]:
            names = [w for w in words[3:] if not w.startswith("-")]
            assert set(names) <= exported, words
