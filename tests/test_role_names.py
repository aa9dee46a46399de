"""Role names per stack: distinct between stacks of one account, within IAM's roleNameType,
and never renamed under an existing stack (a rename is a replace: a new ARN)."""

from __future__ import annotations

import hashlib
import json
import re

import botocore.session
import pytest
from test_program import DEV, STACK_PREFIX, run

from irsa import iam_names, settings

ROLE = "aws:iam/role:Role"


def role_name_pattern() -> re.Pattern[str]:
    shape = botocore.session.get_session().get_service_model("iam").shape_for("roleNameType").metadata
    assert shape["max"] == 64
    return re.compile(shape["pattern"], re.ASCII)


def names_of(config: dict, project: str, stack: str) -> dict[str, str]:
    parsed = settings.parse(config)
    return {a.key: parsed.role_name_of(a, project, stack) for a in parsed.service_accounts}


def test_two_stacks_of_one_project_name_their_roles_apart():
    dev, prod = names_of(DEV, "irsa", "dev"), names_of(DEV, "irsa", "prod")
    assert dev["default/aws-cli"] == "irsa-dev-" + hashlib.sha256(b"irsa/dev").hexdigest()[:6] + "_default_aws-cli"
    assert dev["default/aws-cli"] != prod["default/aws-cli"]
    # Names that join alike ("a-b" + "c", "a" + "b-c") still differ: the hash is of PROJECT/STACK.
    assert iam_names.stack_prefix("a-b", "c") != iam_names.stack_prefix("a", "b-c")


@pytest.mark.parametrize("project, stack, namespace, name", [
    ("irsa", "dev", "default", "aws-cli"),
    ("p" * 100, "s" * 100, "n" * 63, "a" * 253),  # every part at its longest
    ("irsa", "prod", "team-*", "*"),
])
def test_default_names_fit_iams_role_name_type(project, stack, namespace, name):
    found = iam_names.default_role_name(namespace, name, iam_names.stack_prefix(project, stack))
    assert role_name_pattern().fullmatch(found) and len(found) <= 64, found


def test_cut_names_stay_distinct_and_keep_their_start():
    prefix = iam_names.stack_prefix("irsa", "dev")
    first = iam_names.default_role_name("apps", "x" * 80 + "a", prefix)
    second = iam_names.default_role_name("apps", "x" * 80 + "b", prefix)
    assert first != second and len(first) == len(second) == 64
    assert first.startswith(prefix + "_apps_xxx")


def test_the_legacy_prefix_gives_the_names_of_earlier_versions():
    config = {**DEV, "irsa:roleNamePrefix": "k8s"}
    assert names_of(config, "irsa", "dev") == {"default/aws-cli": "k8s_default_aws-cli"}
    assert iam_names.default_role_name("batch", "job-*") == "k8s_batch_job-+"


def test_role_name_overrides_the_default():
    accounts = [{"namespace": "default", "name": "aws-cli", "roleName": "mine"}]
    config = {**DEV, "irsa:serviceAccounts": json.dumps(accounts), "irsa:roleNamePrefix": "k8s"}
    assert names_of(config, "irsa", "dev") == {"default/aws-cli": "mine"}


def test_a_default_name_never_renames_an_existing_role(pulumi_mocks):
    """The engine keeps a property listed in ignoreChanges at its value in the state, and uses
    the input only when it creates the resource: a stack whose roles were named k8s_… keeps them."""
    r = run(pulumi_mocks)
    role = r.one(ROLE)
    assert role.inputs["name"] == f"{STACK_PREFIX}_default_aws-cli"
    assert role.ignore_changes == ["name"]


def test_an_explicit_role_name_is_applied_to_an_existing_role(pulumi_mocks):
    accounts = [{"namespace": "default", "name": "aws-cli", "roleName": "mine"}]
    r = run(pulumi_mocks, {**DEV, "irsa:serviceAccounts": json.dumps(accounts)})
    role = r.one(ROLE)
    assert role.inputs["name"] == "mine" and role.ignore_changes == []
