"""The generated configuration table reads as user documentation, not as notes to developers."""

import importlib.util

import yaml

from conftest import ROOT

PROJECT = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())


def _table_module():
    spec = importlib.util.spec_from_file_location("config_table", ROOT / "scripts" / "config_table.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def rows() -> dict[str, list[str]]:
    table = _table_module().render(PROJECT)
    found = {}
    for line in table.splitlines()[2:]:
        cells = [c.strip() for c in line.strip("|").split(" | ")]
        found[cells[0].strip("`")] = cells
    return found


def test_descriptions_carry_no_implementation_notes():
    # Why a key is not declared `secret: true` is for developers: a YAML comment in Pulumi.yaml.
    for key, (_, _, _, description) in rows().items():
        for note in ("Not declared", "secret: true", "because the CLI"):
            assert note not in description, (key, description)


def test_optional_secrets_say_what_they_are_then_how_to_set_them():
    table = rows()
    for key, subject in (("irsa:kubeconfig", "Kubeconfig for the cluster"),
                         ("irsa:sshPrivateKey", "SSH private key for the host")):
        _, type_, default, description = table[key]
        assert (type_, default) == ("string", "*(unset)*")
        assert description.startswith(f"{subject}; set it as a secret: pulumi config set --secret {key} ")
        assert "Unset: " in description


def test_new_keys_are_in_the_table():
    table = rows()
    assert table["irsa:tags"][1:3] == ["object", "`{}`"]
    assert "preset?" in table["irsa:serviceAccounts"][3]
