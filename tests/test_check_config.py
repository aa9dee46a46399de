"""``irsa check-config``: stack files checked offline with the CLI's rules, then the settings'."""

import os
import shutil
import subprocess
import sys

import pytest
import yaml

from conftest import ROOT

# The host key is a public key (the settings check its form); without one the
# preview warns, which these tests are not about.
HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIC5ABYbR/rS9PYaBNFoMWXDDg16AQ+G5y7IOVQAoXwWd"
BASE = {"aws:region": "eu-central-1", "irsa:githubOwner": "example-org",
        "irsa:githubRepository": "oidc-issuer", "irsa:host": "node1.example.internal",
        "irsa:sshHostKey": HOST_KEY}


def irsa(*args, cwd=ROOT):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "irsa", *args], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=60)


class Project:
    """A project directory with this repository's Pulumi.yaml and stack files written by a test."""

    def __init__(self, path):
        self.path = path
        shutil.copy(ROOT / "Pulumi.yaml", path / "Pulumi.yaml")

    def stack(self, name, config):
        (self.path / f"Pulumi.{name}.yaml").write_text(yaml.safe_dump({"config": config}))

    def irsa(self, *args):
        return irsa(*args, cwd=self.path)


@pytest.fixture
def project(tmp_path):
    return Project(tmp_path)


def test_the_projects_own_stack_files_pass():
    result = irsa("check-config")
    assert result.returncode == 0, result.stdout + result.stderr
    stacks = sorted(p.name for p in ROOT.glob("Pulumi.*.yaml"))
    assert result.stdout.splitlines() == [f"{name}: ok" for name in stacks]


def test_cli_rules_come_first_and_stop_there_as_the_cli_would(project):
    # irsa:hots is not reported: the CLI stops at its own errors, before the program runs.
    project.stack("dev", {**{k: v for k, v in BASE.items() if k != "irsa:host"},
                          "irsa:keyBits": "big", "irsa:hots": "x"})
    result = project.irsa("check-config", "--stack", "dev")
    assert result.returncode == 1
    assert result.stdout.splitlines() == ['Pulumi.dev.yaml: irsa:keyBits: value "big" is not an integer']


def test_then_the_settings_rules_one_line_per_problem(project):
    project.stack("dev", {**BASE, "irsa:hots": "x", "irsa:serviceAccounts": [
        {"namespace": "default", "name": "aws_cli", "testPod": "true"}]})
    result = project.irsa("check-config", "--stack", "dev")
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        "Pulumi.dev.yaml: irsa:hots is not a configuration key of this project (did you mean irsa:hosts?)",
        "Pulumi.dev.yaml: irsa:serviceAccounts[0].name must be a DNS-1123 subdomain (lowercase letters, "
        "digits, '-' and '.', at most 253), got 'aws_cli'"]


def test_encrypted_values_count_as_set_secrets_and_plain_ones_are_refused(project):
    secure = {"secure": "v1:AAAABBBBCCCC"}
    project.stack("ok", {**BASE, "irsa:sshPrivateKey": secure, "irsa:kubeconfig": secure,
                         "github:token": secure})
    project.stack("plain", {**BASE, "irsa:sshPrivateKey": "not a key"})
    result = project.irsa("check-config")
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        "Pulumi.ok.yaml: ok",
        "Pulumi.plain.yaml: irsa:sshPrivateKey must be set as a secret: "
        "pulumi config set --secret irsa:sshPrivateKey VALUE"]


def test_warnings_are_shown_without_failing(project):
    project.stack("dev", {**BASE, "irsa:apiAudiences": ["https://kubernetes.default.svc",
                                                         "sts.amazonaws.com"]})
    result = project.irsa("check-config")
    assert result.returncode == 0
    assert result.stdout.splitlines()[0].startswith("Pulumi.dev.yaml: warning: irsa:audience")
    assert result.stdout.splitlines()[-1] == "Pulumi.dev.yaml: ok"


@pytest.mark.parametrize("args, message", [
    (["--stack", "nope"], "Pulumi.nope.yaml: no such file"),
    (["--project-dir", "/nonexistent"], "/nonexistent/Pulumi.yaml: no such file"),
])
def test_usage_errors_exit_2(project, args, message):
    result = project.irsa("check-config", *args)
    assert result.returncode == 2
    assert message in result.stderr


def test_a_qualified_stack_name_uses_its_last_part(project):
    project.stack("prod", BASE)
    result = project.irsa("check-config", "--stack", "my-org/irsa/prod")
    assert (result.returncode, result.stdout) == (0, "Pulumi.prod.yaml: ok\n")


def test_ci_checks_every_stack_file_after_installing_the_command():
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "test.yml").read_text())
    runs = [s.get("run", "").strip() for job in workflow["jobs"].values() for s in job["steps"]]
    # Without --stack, every Pulumi.<stack>.yaml is checked (test_the_projects_own_stack_files_pass).
    assert ".venv/bin/irsa check-config" in runs
    assert runs.index(".venv/bin/irsa check-config") > runs.index("bash .ci/run")


def test_a_plain_key_set_as_a_secret_is_not_judged_but_said(project):
    config = {**BASE, "irsa:host": {"secure": "v1:x"}, "irsa:sshPort": {"secure": "v1:y"}}
    project.stack("dev", config)
    result = project.irsa("check-config")
    assert result.returncode == 0, result.stdout
    assert result.stdout.splitlines() == [
        "Pulumi.dev.yaml: warning: irsa:host is encrypted: its value cannot be checked offline",
        "Pulumi.dev.yaml: warning: irsa:sshPort is encrypted: its value cannot be checked offline",
        "Pulumi.dev.yaml: ok"]


def test_a_word_where_a_number_belongs_reads_as_english(project):
    (project.path / "Pulumi.dev.yaml").write_text(
        yaml.safe_dump({"config": BASE}) + "  irsa:sshPort: twentytwo\n")
    result = project.irsa("check-config")
    assert (result.returncode, result.stdout) == (
        1, 'Pulumi.dev.yaml: irsa:sshPort: value "twentytwo" is not an integer\n')


def test_a_map_where_a_list_belongs_is_shown_as_written_not_as_python(project):
    project.stack("dev", {**BASE, "irsa:signingKeys": {"primary": True}})
    result = project.irsa("check-config")
    assert result.stdout.splitlines() == [
        'Pulumi.dev.yaml: irsa:signingKeys: value {"primary": true} is not a list of strings']


def _stack_text(extra):
    return yaml.safe_dump({"config": BASE}) + "".join(f"  {line}\n" for line in extra)


@pytest.mark.parametrize("line, message", [
    # YAML 1.2 (the CLI's gopkg.in/yaml.v3): yes, no, on and off are words, not booleans.
    ("irsa:restartWorkloads: yes", 'irsa:restartWorkloads: value "yes" is not a boolean (true or false)'),
    ("irsa:takeOverHost: off", 'irsa:takeOverHost: value "off" is not a boolean (true or false)'),
    ("irsa:createRepository: True", None),
    # A number is read by yaml.v3 and handed on as JSON text: 0x16 is 22, 010 is 8.
    ("irsa:sshPort: 0x16", None),
    ("irsa:sshPort: '22'", None),
    ("irsa:sshPort: 010", None),
    ("irsa:sshPort: 0x0", "irsa:sshPort must be between 1 and 65535, got 0"),
    ("irsa:sshPort: 22.5", 'irsa:sshPort: value "22.5" is not an integer'),
    # An empty value is null, which no declared type takes.
    ("irsa:sshUser:", "irsa:sshUser: value null is not a string"),
    # A date is a time, handed on as Go prints it.
    ("irsa:sshUser: 2012-10-17", "irsa:sshUser must be a login name, got "
                                 "'2012-10-17 00:00:00 +0000 UTC'"),
])
def test_top_level_values_are_read_as_the_cli_reads_them(project, line, message):
    (project.path / "Pulumi.dev.yaml").write_text(_stack_text([line]))
    result = project.irsa("check-config")
    expected = [f"Pulumi.dev.yaml: {message}"] if message else ["Pulumi.dev.yaml: ok"]
    assert result.stdout.splitlines() == expected, result.stderr


@pytest.mark.parametrize("version, message", [
    ("'2012-10-17'", None),
    # Unquoted, yaml.v3 reads a time, which the CLI hands on as Go prints it: IAM would refuse it.
    ("2012-10-17", "irsa:serviceAccounts[0].policy Version must be 2012-10-17, got "
                   "\"2012-10-17 00:00:00 +0000 UTC\": quote it, Version: '2012-10-17' (unquoted, "
                   "YAML reads a date)"),
])
def test_a_policy_version_is_read_as_the_cli_reads_it_never_a_traceback(project, version, message):
    (project.path / "Pulumi.dev.yaml").write_text(_stack_text([
        "irsa:serviceAccounts:",
        "  - namespace: default",
        "    name: reader",
        "    policy:",
        f"      Version: {version}",
        "      Statement:",
        "        - {Effect: Allow, Action: s3:GetObject, Resource: 'arn:aws:s3:::b/*'}",
    ]))
    result = project.irsa("check-config")
    assert result.stderr == ""
    assert result.stdout.splitlines() == [f"Pulumi.dev.yaml: {message or 'ok'}"]


def test_a_stack_file_that_is_not_yaml_is_one_line(project):
    (project.path / "Pulumi.dev.yaml").write_text("config:\n  irsa:host: [unclosed\n")
    result = project.irsa("check-config")
    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1 and "cannot read it" in result.stderr
def rsa_host_key() -> str:
    """An RSA host key as ssh-keyscan prints it, made at run time."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    public = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    return public.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()


def test_an_rsa_host_key_pin_is_refused_with_the_ed25519_fix(project):
    # Refused, not warned: tests/real/test_ssh_host_key_pins.py shows such a pin never connects.
    project.stack("dev", {**BASE, "irsa:sshHostKey": rsa_host_key(), "irsa:sshPort": 2222})
    result = project.irsa("check-config", "--stack", "dev")
    assert result.returncode == 1, result.stdout
    (problem,) = [line for line in result.stdout.splitlines() if "ssh-rsa" in line]
    assert "the ssh-rsa key for node1.example.internal cannot be pinned" in problem
    assert "no common algorithm for host key" in problem
    assert "(ssh-keyscan -p 2222 -t ed25519 node1.example.internal)" in problem
    # An Ed25519 pin says nothing of the kind.
    project.stack("dev", BASE)
    assert "ssh-rsa" not in project.irsa("check-config", "--stack", "dev").stdout
