"""Pulumi.yaml and the stack files, checked as the Pulumi CLI checks them before it runs.

The CLI cannot run here, so this applies its project schema (the fixture from
pulumi/pulumi) and the rules DESIGN.md lists, and compares the declarations
with the settings module and the README.
"""

import importlib.util
import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from conftest import FIXTURES, ROOT, stack_file_config
from irsa import project_config, pulumi_yaml, settings

PROJECT = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
STACKS = sorted(ROOT.glob("Pulumi.*.yaml"))
# The CLI's rules live in irsa.project_config (irsa check-config uses them too).
cli_rule_violations = project_config.cli_rule_violations
stack_violations = project_config.stack_violations


def test_project_file_passes_pulumis_own_schema():
    schema = json.loads((FIXTURES / "pulumi" / "project.json").read_text())
    jsonschema.validate(PROJECT, schema)


def test_schema_check_is_live():
    schema = json.loads((FIXTURES / "pulumi" / "project.json").read_text())
    broken = {**PROJECT, "config": {**PROJECT["config"], "keyBits": {"type": "number"}}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)


def test_runtime_installs_requirements_into_a_venv():
    assert PROJECT["name"] == "irsa"
    assert PROJECT["runtime"] == {"name": "python", "options": {"toolchain": "pip", "virtualenv": "venv"}}


def test_project_follows_cli_config_rules():
    assert cli_rule_violations(PROJECT) == []


@pytest.mark.parametrize(
    "config, message",
    [
        ({"aws:region": {"type": "string", "default": "x"}}, "may only carry a value"),
        ({"keys": {"type": "array"}}, "an array needs items"),
        ({"port": {"type": "integer", "default": "twenty-two"}}, "is not an integer"),
        ({"port": {"type": "integer", "default": 22.5}}, "is not an integer"),
        ({"flag": {"type": "boolean", "default": 1}}, "is not a boolean"),
        ({"port": {"type": "integer", "default": True}}, "is not an integer"),
        ({"names": {"type": "array", "items": {"type": "string"}, "default": [1]}}, "is not a list"),
        ({"flag": {"type": "boolean", "default": "yes"}}, "is not a boolean"),
        ({"aws:region": {}}, "may only carry a value"),
        ({"x": {"type": "number"}}, "unknown type"),
    ],
)
def test_cli_rule_checker_catches_each_rule(config, message):
    problems = cli_rule_violations({"name": "irsa", "config": config})
    assert len(problems) == 1 and message in problems[0]


def test_every_settings_key_is_declared_with_the_same_type_default_and_secrecy():
    declared = PROJECT["config"]
    assert list(declared) == list(settings.KEYS)
    for key, spec in settings.KEYS.items():
        entry = declared[key]
        assert entry["type"] == spec.type, key
        assert entry.get("default") == spec.default, key
        # Optional secrets are not declared secret: true (the CLI would require
        # them); they default to "" and the settings demand encryption.
        assert "secret" not in entry, key
        assert ("default" not in entry) == spec.required, key
        assert entry.get("items", {}).get("type") == spec.items, key
        assert entry["description"].strip(), key


def test_settings_apply_pulumi_yaml_defaults_when_keys_are_unset():
    parsed = settings.parse({"irsa:githubOwner": "o", "irsa:githubRepository": "r", "irsa:host": "h"})
    declared = PROJECT["config"]
    assert parsed.issuer.github_branch == declared["githubBranch"]["default"]
    assert parsed.keys.names == tuple(declared["signingKeys"]["default"])
    assert parsed.keys.bits == declared["keyBits"]["default"]
    assert parsed.tokens.audience == declared["audience"]["default"]
    assert parsed.tokens.api_audiences == tuple(declared["apiAudiences"]["default"])
    assert parsed.host.ssh_port == declared["sshPort"]["default"]
    assert parsed.host.key_dir == declared["keyDir"]["default"]
    assert parsed.thumbprints == tuple(declared["thumbprints"]["default"])


@pytest.mark.parametrize("stack", STACKS, ids=[s.name for s in STACKS])
def test_example_stack_passes_cli_checks(stack):
    document = pulumi_yaml.load_stack(stack.read_text())  # as the CLI reads it
    assert stack_violations(PROJECT, document) == []
    settings.parse(stack_file_config(stack))


def test_stack_checker_catches_type_mismatch_and_missing_key():
    # Every key of this project has a default now (host or hosts, githubOwner for
    # github only: the settings say which is needed), so a key without one is added.
    project = {**PROJECT, "config": {**PROJECT["config"], "required": {"type": "string"}}}
    stack = {"config": {"irsa:githubOwner": "o", "irsa:keyBits": "big",
                        "irsa:sshPrivateKey": {"secure": "v1:abc"}}}
    assert stack_violations(project, stack) == [
        'irsa:keyBits: value "big" is not an integer',
        "irsa:required: required, not set",
    ]
    assert stack_violations(PROJECT, stack) == ['irsa:keyBits: value "big" is not an integer']
    # As with the CLI, `pulumi config set irsa:keyBits 3072` (a string) is an integer.
    stack["config"].update({"irsa:host": "h", "irsa:keyBits": "3072",
                            "irsa:createRepository": "true", "irsa:required": "x"})
    assert stack_violations(project, stack) == []


def test_stack_checker_applies_the_clis_secret_rules():
    project = {"name": "irsa", "config": {"token": {"type": "string", "secret": True}}}
    # A declared secret without default is required, and must be encrypted.
    assert stack_violations(project, {}) == ["irsa:token: required, not set"]
    assert stack_violations(project, {"config": {"irsa:token": "plain"}}) == [
        "irsa:token: must be set as a secret"]
    assert stack_violations(project, {"config": {"irsa:token": {"secure": "v1:x"}}}) == []


def test_optional_secrets_are_not_required_by_the_cli_and_unset_means_none():
    stack = {"config": {"irsa:githubOwner": "o", "irsa:githubRepository": "r", "irsa:host": "h"}}
    assert stack_violations(PROJECT, stack) == []
    # What the CLI passes for them when unset: the declared default.
    parsed = settings.parse({**{k: v for k, v in stack["config"].items()},
                             "irsa:sshPrivateKey": "", "irsa:kubeconfig": ""})
    assert parsed.host.ssh_private_key is None and parsed.kubeconfig is None


def _config_table():
    spec = importlib.util.spec_from_file_location("config_table", ROOT / "scripts" / "config_table.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_configuration_table_matches_pulumi_yaml():
    table = _config_table()
    readme = (ROOT / "README.md").read_text()
    assert table.BEGIN in readme and table.END in readme
    expected = table.with_table(readme, table.render(PROJECT))
    assert readme == expected, "README config table is stale: run python scripts/config_table.py --write"
    for key in PROJECT["config"]:
        assert f"`irsa:{key}`" in readme


def test_no_secret_in_example_stacks():
    for stack in STACKS:
        text = stack.read_text()
        assert "PRIVATE KEY" not in text
        assert "secure:" not in text
