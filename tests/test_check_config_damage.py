"""Damaged stack files never end in a traceback: ``irsa check-config`` exits 0, 1 or 2.

Property-based: hypothesis takes the example stacks (and one that sets nearly
every key), replaces a value somewhere in them with one of another kind (null,
huge numbers, lists where maps belong, YAML 1.1 words, dates …) or damages the
text itself, and runs the command in-process, where an uncaught exception is
the traceback a user would see.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import ROOT
from irsa import cli

HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIC5ABYbR/rS9PYaBNFoMWXDDg16AQ+G5y7IOVQAoXwWd"
# A stack that sets nearly every key, so that damage reaches every parser.
FULL = {"config": {
    "aws:region": "eu-central-1",
    "irsa:githubOwner": "example-org", "irsa:githubRepository": "oidc-issuer",
    "irsa:githubBranch": "main", "irsa:createRepository": False, "irsa:issuerWaitSeconds": 600,
    "irsa:signingKeys": ["primary", "next"], "irsa:keyBits": 2048, "irsa:extraPublicKeys": [],
    "irsa:audience": "sts.amazonaws.com", "irsa:apiAudiences": ["https://kubernetes.default.svc"],
    "irsa:tokenExpirationSeconds": 86400, "irsa:distribution": "k3s",
    "irsa:hosts": ["node1.example.internal", "node2.example.internal"],
    "irsa:sshUser": "ubuntu", "irsa:sshPort": 22,
    "irsa:sshHostKey": f"node1.example.internal {HOST_KEY}\nnode2.example.internal {HOST_KEY}",
    "irsa:keyDir": "/opt/k8s", "irsa:readyTimeoutSeconds": 300, "irsa:restartWorkloads": False,
    "irsa:apiEndpoint": "https://node1.example.internal:6443", "irsa:takeOverHost": False,
    "irsa:thumbprints": ["auto"], "irsa:extraClientIds": ["other"],
    "irsa:podIdentityWebhook": True, "irsa:webhookFailurePolicy": "Ignore",
    "irsa:issuerHost": "github", "irsa:issuerPath": "clusters/one",
    "irsa:previousIssuerHosts": [], "irsa:tags": {"team": "platform"},
    "irsa:serviceAccounts": [
        {"namespace": "default", "name": "aws-cli", "s3BucketPrefix": "k8s-aws-cli",
         "testPod": True, "policyArns": ["arn:aws:iam::aws:policy/ReadOnlyAccess"],
         "maxSessionDuration": 3600, "path": "/k8s/", "description": "the CLI",
         "permissionsBoundary": "arn:aws:iam::111122223333:policy/Boundary"},
        {"namespace": "apps", "name": "reader", "createNamespace": True,
         "policy": {"Version": "2012-10-17", "Statement": [
             {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "arn:aws:s3:::b/*"}]}},
        {"namespace": "dns", "name": "external-dns",
         "preset": {"name": "external-dns", "hostedZoneIds": ["Z0123456789ABC"]}},
        {"namespace": "es", "name": "external-secrets", "existing": True,
         "preset": {"name": "external-secrets", "secretArns": [
             "arn:aws:secretsmanager:eu-central-1:111122223333:secret:app/db-*"]}},
    ],
}}
BASES = [yaml.safe_load((ROOT / name).read_text()) for name in ("Pulumi.dev.yaml", "Pulumi.prod.yaml")]
BASES.append(FULL)

# Values of every kind, and the words YAML 1.1 and 1.2 read differently.
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(min_value=2**63 - 2, max_value=2**70),
    st.floats(allow_nan=True), st.text(max_size=12),
    st.sampled_from(["yes", "no", "on", "off", "2012-10-17", "0x16", "010", "1e400", "", "~",
                     "secure", "arn:aws:s3:::bucket", "*", "-", "[", "{"]),
)
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(
        ["namespace", "name", "policy", "Statement", "Effect", "Version", "secure", "preset",
         "hostedZoneIds", "x"]), inner, max_size=3)), max_leaves=6)


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, (*prefix, index))


def _replace(node, path, value):
    if not path:
        return value
    copy = dict(node) if isinstance(node, dict) else list(node)
    copy[path[0]] = _replace(node[path[0]], path[1:], value)
    return copy


@st.composite
def damaged_stacks(draw):
    """The YAML text of an example stack with one value replaced, or its text cut or spliced."""
    base = draw(st.sampled_from(BASES))
    paths = [p for p in _paths(base) if len(p) >= 2]
    path = draw(st.sampled_from(paths))
    text = yaml.safe_dump(_replace(base, path, draw(VALUES)), allow_unicode=True)
    how = draw(st.sampled_from(["value", "value", "cut", "splice"]))
    if how == "cut":
        at = draw(st.integers(0, len(text)))
        text = text[:at] + text[at + draw(st.integers(1, 20)):]
    elif how == "splice":
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.sampled_from(
            [" yes", ": 2012-10-17", "\n  irsa:x: [", " null", " 99999999999999999999999",
             "\n  - 1", " {a: 1}", "\n  irsa:host: 2001-01-01"])) + text[at:]
    return text


def run(project, text):
    (project / "Pulumi.dev.yaml").write_text(text)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = cli.main(["check-config", "--project-dir", str(project), "--stack", "dev"])
    return status, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    path = tmp_path_factory.mktemp("damaged")
    shutil.copy(ROOT / "Pulumi.yaml", path / "Pulumi.yaml")
    return path


# 300 in the suite (~15 s); IRSA_DAMAGE_EXAMPLES=3000 for a longer hunt.
@settings(max_examples=int(os.environ.get("IRSA_DAMAGE_EXAMPLES", "300")), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=damaged_stacks())
def test_a_damaged_stack_gets_messages_never_a_traceback(project, text):
    status, out, err = run(project, text)
    assert status in (0, 1, 2)
    lines = (out + err).splitlines()
    assert lines, "no output at all"
    assert "Traceback" not in out + err
    # One line per problem, each naming the file (or, for usage errors, the command).
    assert all(line.startswith(("Pulumi.dev.yaml: ", "irsa: ")) for line in lines), lines


def test_the_undamaged_full_stack_is_clean(project):
    assert run(project, yaml.safe_dump(FULL)) == (0, "Pulumi.dev.yaml: ok\n", "")


def test_the_damage_finds_a_planted_traceback(project, monkeypatch):
    # The property can fail: with a parser that breaks on a list, it does.
    from irsa import settings as settings_module

    def broken(value):
        raise TypeError("planted")
    monkeypatch.setattr(settings_module, "_tags", lambda tags, p: broken(tags))
    with pytest.raises(TypeError):
        run(project, yaml.safe_dump(FULL))
