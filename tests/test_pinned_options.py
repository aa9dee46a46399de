"""Presets, role options and check-config, pinned down in process (issue 24).

Each test states the exact result — the policy document, the accepted and
refused values at IAM's limits, the report's lines — so a changed resource,
a loosened rule or a different notion of "secret" or "set" fails here, and
mutmut (which sees only this process) can tell.
"""

from __future__ import annotations

import json
import shutil

import pytest
import yaml

from conftest import ROOT
from irsa import check_config, presets, project_config, settings

ACCOUNT = "123456789012"
ZONE = "Z0123456789ABCDEFGHIJ"
BUCKET = "team-loki-chunks"
SECRET_ARN = f"arn:aws:secretsmanager:eu-west-1:{ACCOUNT}:secret:prod/db-AbCdEf"
PARAMETER_ARN = f"arn:aws:ssm:eu-west-1:{ACCOUNT}:parameter/prod/*"
WORKSPACE_ARN = f"arn:aws:aps:eu-west-1:{ACCOUNT}:workspace/ws-0a1b2c3d"
SECRET_ACTIONS = ["secretsmanager:GetResourcePolicy", "secretsmanager:GetSecretValue",
                  "secretsmanager:DescribeSecret", "secretsmanager:ListSecretVersionIds"]


def policy(**preset) -> dict:
    return presets.parse(preset).policy()


def statements(document: dict) -> dict[str, tuple]:
    """Sid → (actions, resources, condition), actions and resources as lists."""
    def listed(value):
        return value if isinstance(value, list) else [value]
    assert document["Version"] == "2012-10-17"
    return {s["Sid"]: (listed(s["Action"]), listed(s["Resource"]), s.get("Condition"))
            for s in document["Statement"] if s["Effect"] == "Allow"}


# --- presets: the exact resources each statement reaches ---------------------------


def test_bucket_presets_reach_the_bucket_and_its_objects_not_a_prefix_of_buckets():
    velero = statements(policy(name="velero", bucket=BUCKET))
    assert velero == {
        "EbsSnapshots": (["ec2:DescribeVolumes", "ec2:DescribeSnapshots", "ec2:CreateTags",
                          "ec2:CreateVolume", "ec2:CreateSnapshot", "ec2:DeleteSnapshot"], ["*"], None),
        # s3:PutObjectTagging: velero-plugin-for-aws's documented policy since 2024-09 (presets.velero).
        "BackupObjects": (["s3:GetObject", "s3:DeleteObject", "s3:PutObject", "s3:PutObjectTagging",
                           "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
                          [f"arn:aws:s3:::{BUCKET}/*"], None),
        "ListBackupBucket": (["s3:ListBucket"], [f"arn:aws:s3:::{BUCKET}"], None),
    }
    # The same bucket and objects in the stack's partition, nothing else.
    china = statements(presets.parse({"name": "velero", "bucket": BUCKET}).policy("aws-cn"))
    assert china["BackupObjects"][1] == [f"arn:aws-cn:s3:::{BUCKET}/*"]
    assert china["ListBackupBucket"][1] == [f"arn:aws-cn:s3:::{BUCKET}"]
    assert statements(policy(name="s3-bucket", bucket=BUCKET)) == {
        "ListBucket": (["s3:ListBucket"], [f"arn:aws:s3:::{BUCKET}"], None),
        "ReadWriteObjects": (["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                             [f"arn:aws:s3:::{BUCKET}/*"], None),
    }


def test_a_bucket_prefix_reaches_the_buckets_it_starts_and_not_the_bucket_of_that_name():
    (account,) = settings.parse({
        "irsa:githubOwner": "o", "irsa:githubRepository": "r", "irsa:host": "10.0.0.5",
        "irsa:serviceAccounts": json.dumps([{"namespace": "a", "name": "b", "s3BucketPrefix": "team-a"}]),
    }, set()).service_accounts
    assert account.s3_bucket_prefix == "team-a" and account.has_permissions
    from irsa import policies
    full = policies.s3_prefix_policy("team-a")["Statement"][0]
    assert full["Resource"] == ["arn:aws:s3:::team-a-*", "arn:aws:s3:::team-a-*/*"]
    assert "arn:aws:s3:::team-a" not in full["Resource"]


def test_parameters_are_read_as_parameters_and_secrets_as_secrets():
    both = statements(policy(name="external-secrets", secretArns=[SECRET_ARN], parameterArns=[PARAMETER_ARN]))
    assert both == {"ReadSecrets": (SECRET_ACTIONS, [SECRET_ARN], None),
                    "ReadParameters": (["ssm:GetParameter*"], [PARAMETER_ARN], None)}
    assert statements(policy(name="external-secrets", parameterArns=[PARAMETER_ARN])) == {
        "ReadParameters": (["ssm:GetParameter*"], [PARAMETER_ARN], None)}
    assert statements(policy(name="external-secrets", secretArns=[SECRET_ARN])) == {
        "ReadSecrets": (SECRET_ACTIONS, [SECRET_ARN], None)}
    # A parameter ARN is no secret ARN and the other way round.
    with pytest.raises(presets.PresetError, match="is not Secrets Manager secret ARNs"):
        presets.parse({"name": "external-secrets", "secretArns": [PARAMETER_ARN]})
    with pytest.raises(presets.PresetError, match="is not SSM parameter ARNs"):
        presets.parse({"name": "external-secrets", "parameterArns": [SECRET_ARN]})


def test_route53_presets_reach_the_given_zones_and_list_calls_stay_on_star():
    zones = [f"arn:aws:route53:::hostedzone/{ZONE}", "arn:aws:route53:::hostedzone/Z99"]
    assert statements(policy(name="external-dns", hostedZoneIds=[ZONE, "Z99"])) == {
        # ListTagsForResources on the zones, as external-dns's AWS tutorial narrows it (presets.external_dns).
        "ChangeRecordsInZones": (["route53:ChangeResourceRecordSets", "route53:ListResourceRecordSets",
                                  "route53:ListTagsForResources"], zones, None),
        "ListZones": (["route53:ListHostedZones"], ["*"], None),
    }
    gov = statements(presets.parse({"name": "external-dns", "hostedZoneIds": [ZONE]}).policy("aws-us-gov"))
    assert gov["ChangeRecordsInZones"][1] == [f"arn:aws-us-gov:route53:::hostedzone/{ZONE}"]
    assert gov["ListZones"][1] == ["*"]
    txt = {"ForAllValues:StringEquals": {"route53:ChangeResourceRecordSetsRecordTypes": ["TXT"]}}
    assert statements(policy(name="cert-manager", hostedZoneIds=[ZONE, "Z99"])) == {
        "GetChange": (["route53:GetChange"], ["arn:aws:route53:::change/*"], None),
        "ChangeTxtRecordsInZones": (["route53:ChangeResourceRecordSets"], zones, txt),
        "ListRecordsInZones": (["route53:ListResourceRecordSets"], zones, None),
        "FindZones": (["route53:ListHostedZonesByName"], ["*"], None),
    }
    assert statements(policy(name="amp-remote-write", workspaceArn=WORKSPACE_ARN)) == {
        "RemoteWrite": (["aps:RemoteWrite"], [WORKSPACE_ARN], None)}


@pytest.mark.parametrize("value", [
    {"name": "velero", "bucket": "ab"}, {"name": "velero", "bucket": "a" * 64},
    {"name": "velero", "bucket": "a..b"}, {"name": "velero", "bucket": "-ab"},
    {"name": "velero", "bucket": "ab-"}, {"name": "velero"}, {"name": "velero", "bucket": 5},
    {"name": "external-dns", "hostedZoneIds": ["Z" * 33]}, {"name": "external-dns", "hostedZoneIds": "Z1"},
    {"name": "external-secrets", "secretArns": []}, {"name": "external-secrets", "secretArns": [1]},
    {"name": "external-secrets", "secretArns": [f"arn:aws:secretsmanager:eu-west-1:{ACCOUNT}1:secret:x"]},
    {"name": "amp-remote-write", "workspaceArn": [WORKSPACE_ARN]},
    {"name": "amp-remote-write", "workspaceArn": WORKSPACE_ARN.replace("ws-", "")},
    {"name": "external-secrets", "parameterArns": [PARAMETER_ARN, PARAMETER_ARN]},
])
def test_preset_values_at_and_past_the_limits_are_refused(value):
    with pytest.raises(presets.PresetError):
        presets.parse(value)


@pytest.mark.parametrize("value", [
    {"name": "velero", "bucket": "abc"}, {"name": "velero", "bucket": "a" * 63},
    {"name": "velero", "bucket": "a.b-c"}, {"name": "external-dns", "hostedZoneIds": ["Z" * 32]},
    {"name": "external-secrets", "secretArns": [SECRET_ARN.replace("arn:aws:", "arn:aws-us-gov:")]},
    {"name": "amp-remote-write", "workspaceArn": WORKSPACE_ARN},
])
def test_preset_values_at_the_limits_are_accepted(value):
    assert presets.parse(value).parameters == {k: v for k, v in value.items() if k != "name"}


def test_an_inline_policy_exactly_at_iams_limit_passes():
    # cert-manager's size grows by len(",\"arn:aws:route53:::hostedzone/Z…\"") per zone, twice.
    def size(zones):
        return len(json.dumps(presets.Preset("cert-manager", {"hostedZoneIds": zones}).policy(),
                              separators=(",", ":")))
    zones = [f"Z{i:031d}" for i in range(80)]
    while size(zones) > presets.INLINE_POLICY_LIMIT:
        zones.pop()
    presets.parse({"name": "cert-manager", "hostedZoneIds": zones})
    assert size(zones) <= presets.INLINE_POLICY_LIMIT < size([*zones, "Z" + "9" * 31])
    with pytest.raises(presets.PresetError, match=f"IAM allows {presets.INLINE_POLICY_LIMIT}"):
        presets.parse({"name": "cert-manager", "hostedZoneIds": [*zones, "Z" + "9" * 31]})


# --- role options: IAM's path, boundary, duration and description rules -------------


def role_option_problems(**options) -> list[str]:
    try:
        settings.parse({"irsa:githubOwner": "o", "irsa:githubRepository": "r", "irsa:host": "10.0.0.5",
                        "irsa:serviceAccounts": json.dumps([{"namespace": "a", "name": "b", **options}])},
                       set())
    except settings.SettingsError as err:
        return err.problems
    return []


@pytest.mark.parametrize("path", ["/", "/k8s/", "/a/b/", "/~!/", "/" + "a" * 510 + "/", "///"])
def test_iam_role_paths_iam_accepts(path):
    assert role_option_problems(path=path) == []


@pytest.mark.parametrize("path", ["", "k8s", "/k8s", "k8s/", "//", "/k 8s/", "/é/", "/\x7f/",
                                  "/" + "a" * 511 + "/"])
def test_iam_role_paths_iam_refuses(path):
    assert role_option_problems(path=path) == [
        f"irsa:serviceAccounts[0].path must be / or start and end with / (printable ASCII, no spaces, "
        f"at most 512), e.g. /k8s/, got {path!r}"]


def test_role_option_limits():
    boundary = f"arn:aws:iam::{ACCOUNT}:policy/" + "b" * (2048 - len(f"arn:aws:iam::{ACCOUNT}:policy/"))
    assert role_option_problems(permissionsBoundary=boundary) == []
    assert len(role_option_problems(permissionsBoundary=boundary + "b")) == 1
    assert role_option_problems(maxSessionDuration=3600) == role_option_problems(maxSessionDuration=43200) == []
    assert role_option_problems(maxSessionDuration=3599) == [
        "irsa:serviceAccounts[0].maxSessionDuration must be between 3600 and 43200 seconds, got 3599"]
    assert len(role_option_problems(maxSessionDuration=43201)) == 1
    assert role_option_problems(description="é\t" * 500) == []
    assert len(role_option_problems(description="x" * 1001)) == 1
    assert len(role_option_problems(description="\u20ac")) == 1  # not Latin-1


# --- check-config: what is a secret value, what is a set key ------------------------

BASE = {"aws:region": "eu-central-1", "irsa:githubOwner": "example-org",
        "irsa:githubRepository": "oidc-issuer", "irsa:host": "node1.example.internal",
        "irsa:sshHostKey": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIC5ABYbR/rS9PYaBNFoMWXDDg16AQ+G5y7IOVQAoXwWd"}


@pytest.fixture
def project(tmp_path):
    shutil.copy(ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    return tmp_path


def check(project, config) -> check_config.Report:
    path = project / "Pulumi.dev.yaml"
    path.write_text(yaml.safe_dump({"config": config}))
    return check_config.check(project, path)


@pytest.mark.parametrize("value", [
    {"other": "x", "secure": "v1:AAAA"},  # an object with more than secure: a plain object
    ["secure"],  # a list, not a {secure: …} mapping
    {"Secure": "v1:AAAA"},
])
def test_only_a_mapping_of_secure_alone_is_an_encrypted_value(project, value):
    assert not project_config.is_encrypted(value)
    # Not encrypted, so its type is checked (an encrypted value's is not: it cannot be read).
    report = check(project, {**BASE, "irsa:sshPrivateKey": value})
    # Shown as JSON on one line, as the Pulumi CLI would print the value.
    assert report.problems == [f"irsa:sshPrivateKey: value {json.dumps(value)} is not a string"]


def test_an_encrypted_value_is_a_set_secret_with_unknown_content(project):
    values, secret = project_config.program_config(
        {"config": {"irsa:sshPrivateKey": {"secure": "v1:A"}, "irsa:sshPort": 2222, "irsa:host": "h",
                    "irsa:createRepository": True}})
    assert values == {"irsa:sshPrivateKey": "[encrypted]", "irsa:sshPort": "2222", "irsa:host": "h",
                      "irsa:createRepository": "true"}
    assert secret == {"irsa:sshPrivateKey"}
    report = check(project, {**BASE, "irsa:sshPrivateKey": {"secure": "v1:A"}})
    assert (report.problems, report.warnings) == ([], [])


def test_a_key_counts_as_set_under_the_projects_namespace_not_anothers(project):
    config = {k: v for k, v in BASE.items() if k != "irsa:githubOwner"} | {"other:githubOwner": "example-org"}
    assert check(project, config).problems == ["irsa:githubOwner is required: pulumi config set irsa:githubOwner VALUE"]
    assert check(project, {**BASE}).problems == []
    assert check(project, {**BASE, "irsa:keyBits": None}).problems == ["irsa:keyBits: value null is not an integer"]


def test_a_required_key_the_cli_sees_unset_is_named():
    project = {"name": "p", "config": {"a": {"type": "string"}, "b": {"type": "string", "default": "x"},
                                       "c": {"type": "string", "value": "y"}, "s": {"type": "string", "secret": True,
                                                                                  "default": ""}}}
    assert project_config.stack_violations(project, {"config": {}}) == ["p:a: required, not set"]
    assert project_config.stack_violations(project, {"config": {"p:a": "v", "p:s": "plain"}}) == [
        "p:s: must be set as a secret"]
    assert project_config.stack_violations(project, {"config": {"p:a": {"secure": "v"}, "p:s": {"secure": "v"}}}) == []
    assert project_config.stack_violations(project, {"config": {"other:a": "v"}}) == ["p:a: required, not set"]


def test_a_plain_key_set_as_a_secret_is_left_to_its_default_and_named(project):
    report = check(project, {**BASE, "irsa:sshPort": {"secure": "v1:y"}, "irsa:host": {"secure": "v1:x"}})
    assert report.problems == []
    assert report.warnings == ["irsa:host is encrypted: its value cannot be checked offline",
                               "irsa:sshPort is encrypted: its value cannot be checked offline"]
    # A secret key set as a secret is not such a key; another namespace's secrets are not judged.
    report = check(project, {**BASE, "irsa:sshPrivateKey": {"secure": "v"}, "github:token": {"secure": "v"},
                             "aws:region": {"secure": "v"}})
    assert (report.problems, report.warnings) == ([], [])
    # Not even where the settings read it: an s3 issuer's region, the region's partition.
    report = check(project, {**BASE, "irsa:issuerHost": "s3", "aws:region": {"secure": "v"}})
    assert (report.problems, report.warnings) == ([], [])
    report = check(project, {**BASE, "irsa:issuerHost": "s3", "aws:region": "nowhere"})
    assert report.problems == ["aws:region: 'nowhere' is not an AWS region name such as ap-northeast-1"]
    # Encrypted, a key the settings require counts as set; missing, it is required.
    without_host = {k: v for k, v in BASE.items() if k != "irsa:host"}
    assert check(project, without_host | {"irsa:host": {"secure": "x"}}).problems == []
    assert check(project, without_host).problems[0].startswith("irsa:host is required")


def test_the_cli_rules_stop_the_check_before_the_settings(project):
    report = check(project, {**BASE, "irsa:keyBits": "big", "irsa:hots": "x"})
    assert report.problems == ['irsa:keyBits: value "big" is not an integer']
    report = check(project, {**BASE, "irsa:hots": "x"})
    assert report.problems == ["irsa:hots is not a configuration key of this project (did you mean irsa:hosts?)"]


@pytest.mark.parametrize(("value", "type_", "ok"), [
    ("12", "integer", True), ("+12", "integer", True), ("-3", "integer", True), ("1.5", "integer", False),
    (12, "integer", True), (12.0, "integer", True), (12.5, "integer", False), (True, "integer", False),
    ("true", "boolean", True), ("false", "boolean", True), ("yes", "boolean", False), (False, "boolean", True),
    ("x", "string", True), (1, "string", False), ([], "object", False), ({}, "object", True),
])
def test_the_clis_value_types(value, type_, ok):
    assert project_config.matches(value, type_) is ok


def test_arrays_check_their_items_and_need_an_items_type():
    assert project_config.matches(["a", "b"], "array", {"type": "string"})
    assert not project_config.matches(["a", 1], "array", {"type": "string"})
    assert not project_config.matches(["a"], "array", None)
    assert project_config.cli_rule_violations({"name": "p", "config": {
        "a": {"type": "array"}, "b": {"type": "float"}, "c": {"type": "integer", "default": "x"},
        "other:k": {"value": 1}, "other:j": {"type": "string"}, "d": "plain"}}) == [
        "a: an array needs items", "b: unknown type 'float'", 'c: default "x" is not an integer',
        "other:j: a key of another namespace may only carry a value"]


def test_nested_arrays_check_their_own_items():
    nested = {"type": "array", "items": {"type": "string"}}
    assert project_config.matches([["a"], ["b"]], "array", nested)
    assert not project_config.matches([["a"], [1]], "array", nested)


def test_every_rule_is_checked_past_keys_it_skips():
    assert project_config.cli_rule_violations({"name": "p", "config": {
        "plain": "x", "other:k": {"value": 1}, "a": {"type": "array"}}}) == ["a: an array needs items"]
    project = {"name": "p", "config": {"other:k": {"type": "string"}, "untyped": {"default": 1},
                                       "p:a": {"type": "string"}, "b": {"type": "integer"}}}
    assert project_config.stack_violations(project, {"config": {"p:b": "x"}}) == [
        "p:a: required, not set", 'p:b: value "x" is not an integer']
    assert project_config.stack_violations(project, {"config": {"p:a": {"secure": "v"}, "p:b": "1"}}) == []
    assert project_config.stack_violations(project, {}) == ["p:a: required, not set", "p:b: required, not set"]


def test_project_and_stack_file_problems_all_reach_the_report(tmp_path):
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    project["config"]["badRule"] = {"type": "float", "default": 1.5}
    (tmp_path / "Pulumi.yaml").write_text(yaml.safe_dump(project))
    stack = tmp_path / "Pulumi.dev.yaml"
    stack.write_text(yaml.safe_dump({"config": {**BASE, "irsa:hots": "x"}}))
    report = check_config.check(tmp_path, stack)
    assert report.stack_file == stack
    assert report.problems == [
        "badRule: unknown type 'float'",
        "irsa:hots is not a configuration key of this project (did you mean irsa:hosts?)"]
    stack.write_text(yaml.safe_dump({"config": {**BASE, "irsa:keyBits": "big"}}))
    assert check_config.check(tmp_path, stack).problems == [
        "badRule: unknown type 'float'", 'irsa:keyBits: value "big" is not an integer']


def test_stack_files_and_their_names(tmp_path):
    for name in ("Pulumi.yaml", "Pulumi.prod.yaml", "Pulumi.dev.yaml", "Pulumi.dev.yml", "other.yaml"):
        (tmp_path / name).write_text("config: {}\n")
    assert check_config.stack_files(tmp_path) == [tmp_path / "Pulumi.dev.yaml", tmp_path / "Pulumi.prod.yaml"]
    assert check_config.stack_file(tmp_path, "my-org/irsa/prod") == tmp_path / "Pulumi.prod.yaml"
    assert check_config.stack_file(tmp_path, "dev") == tmp_path / "Pulumi.dev.yaml"


@pytest.mark.parametrize(("text", "message"), [
    (None, "Pulumi.dev.yaml: no such file"),
    ("config: [", "Pulumi.dev.yaml: cannot read it: "),
    ("- a list\n", "Pulumi.dev.yaml: not a YAML mapping"),
])
def test_unreadable_stack_files_are_named(project, text, message):
    path = project / "Pulumi.dev.yaml"
    if text is not None:
        path.write_text(text)
    with pytest.raises(check_config.CheckConfigError) as caught:
        check_config.check(project, path)
    assert str(caught.value).startswith(f"{project}/{message}")


def test_an_empty_stack_file_is_an_empty_configuration(project):
    (project / "Pulumi.dev.yaml").write_text("")
    report = check_config.check(project, project / "Pulumi.dev.yaml")
    assert report.problems and report.problems[0].startswith("irsa:githubOwner is required")


def test_only_signs_and_digits_make_an_integer_string():
    assert not project_config.matches("X5", "integer") and not project_config.matches("5X", "integer")


def test_an_untyped_key_is_not_the_clis_and_a_secret_problem_does_not_stop_the_check():
    project = {"name": "p", "config": {"s": {"type": "string", "secret": True}, "untyped": {"description": "x"},
                                       "b": {"type": "integer", "default": 1}}}
    assert project_config.stack_violations(project, {"config": {"p:s": "plain", "p:b": "x"}}) == [
        "p:s: must be set as a secret", 'p:b: value "x" is not an integer']
