"""Role presets: parameters validated, policies held to IAM's rules, and enforced in moto.

IAM's rules come from outside the code under test: botocore's model of IAM
(policy name and document patterns and lengths), the parliament linter (known
actions, resource types and condition keys per service), and moto's IAM
enforcement for an allowed and a denied call per preset.

What moto can and cannot show (moto 5, server mode, IAM enforced):
- it evaluates a statement's Resource only for S3, IAM, STS and SQS; for other
  services it checks the action against Resource "*", so a Route 53 zone,
  secret or parameter ARN never matches there;
- its signature check fails on GET requests of REST services (route53, amp):
  SignatureDoesNotMatch even for an administrator, so the Route 53 list calls
  that the presets grant on "*" cannot be made.
So velero, s3-bucket and the four EC2 add-ons (load balancer controller, EBS and EFS CSI
drivers, cluster-autoscaler) get an allowed and a denied call; cert-manager,
external-dns, external-secrets and amp-remote-write a denied call only (which
moto reports naming the action). amp-remote-write's one action, aps:RemoteWrite,
is a data-plane call with no boto3 operation at all.
"""

from __future__ import annotations

import functools
import json
import re

import botocore.session
import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives.asymmetric import rsa
from support import iam_setup, tokens
from support.moto_server import ACCOUNT_ID, REGION, shared_server

from irsa import oidc, presets

ISSUER = oidc.github_issuer_url("example-org", "oidc-issuer", "main")
AUDIENCE = "sts.amazonaws.com"
ZONE = "Z0123456789ABCDEFGHIJ"
BUCKET = "team-loki-chunks"
SECRET_ARN = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT_ID}:secret:prod/db-AbCdEf"
PARAMETER_ARN = f"arn:aws:ssm:{REGION}:{ACCOUNT_ID}:parameter/prod/*"
KMS_KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT_ID}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
WORKSPACE_ARN = f"arn:aws:aps:{REGION}:{ACCOUNT_ID}:workspace/ws-0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d"

# Examples of every preset, as a user writes them.
EXAMPLES = {
    "cert-manager": {"name": "cert-manager", "hostedZoneIds": [ZONE]},
    "external-dns": {"name": "external-dns", "hostedZoneIds": [ZONE, "Z99"]},
    "external-secrets": {"name": "external-secrets", "secretArns": [SECRET_ARN],
                         "parameterArns": [PARAMETER_ARN]},
    "velero": {"name": "velero", "bucket": BUCKET},
    "s3-bucket": {"name": "s3-bucket", "bucket": BUCKET},
    "amp-remote-write": {"name": "amp-remote-write", "workspaceArn": WORKSPACE_ARN},
    "aws-load-balancer-controller": {"name": "aws-load-balancer-controller"},
    "ebs-csi-driver": {"name": "ebs-csi-driver", "kmsKeyArns": [KMS_KEY_ARN]},
    "efs-csi-driver": {"name": "efs-csi-driver"},
    "cluster-autoscaler": {"name": "cluster-autoscaler", "clusterName": "prod"},
}


def iam_shape(name: str) -> dict:
    return botocore.session.get_session().get_service_model("iam").shape_for(name).metadata


def java_pattern(pattern: str) -> re.Pattern[str]:
    """botocore's \\uXXXX escapes, in Python's syntax (the patterns used here have no \\p{…})."""
    return re.compile(pattern)


def test_every_preset_has_an_example():
    assert set(EXAMPLES) == set(presets.PRESETS)


@pytest.mark.parametrize("name", sorted(presets.PRESETS))
def test_policy_name_and_document_meet_iams_input_rules(name):
    preset = presets.parse(EXAMPLES[name])
    name_shape, document_shape = iam_shape("policyNameType"), iam_shape("policyDocumentType")
    assert java_pattern(name_shape["pattern"]).fullmatch(preset.policy_name)
    assert len(preset.policy_name) <= name_shape["max"]
    document = json.dumps(preset.policy(), separators=(",", ":"))
    assert java_pattern(document_shape["pattern"]).fullmatch(document)
    assert document_shape["min"] <= len(document) <= document_shape["max"]


# Findings accepted on purpose, with the reason.
ACCEPTED_FINDINGS = {
    # velero-plugin-for-aws documents its EC2 snapshot actions on "*": the volumes and
    # snapshots are the cluster's, not known when the role is made.
    "velero": [("RESOURCE_STAR", ["ec2:CreateSnapshot", "ec2:CreateVolume", "ec2:DeleteSnapshot"])],
}


# The add-ons' own policies, as published: parliament's findings of a kind, accepted whole.
ACCEPTED_ISSUES = {
    # Upstream's iam_policy.json: reads on *, and writes conditioned on the controller's tag,
    # which parliament does not count as narrowing.
    "aws-load-balancer-controller": {"RESOURCE_STAR"},
    # AmazonEBSCSIDriverPolicyV2 lists volume and snapshot (or instance) ARNs in one statement;
    # each action needs only the one of its type (parliament reports the other).
    "ebs-csi-driver": {"RESOURCE_MISMATCH"},
    # The recommended policy: on *, as the README writes it (clusterName adds a tag condition).
    "cluster-autoscaler": {"RESOURCE_STAR"},
}
# Newer than parliament's copy of IAM's reference (its release of 2023), named in upstream's
# policies of 2026: ELB IPAM pools, ec2:CopyVolumes, and the S3 Files service (s3files).
NEWER_THAN_PARLIAMENT = ("elasticloadbalancing:ModifyIpPools", "elasticloadbalancing:CreateAction",
                         "ec2:CopyVolumes", "prefix s3files")


@pytest.mark.parametrize("name", sorted(presets.PRESETS))
def test_parliament_finds_nothing_unexpected(name):
    parliament = pytest.importorskip("parliament")
    document = presets.parse(EXAMPLES[name]).policy()
    findings = parliament.analyze_policy_string(json.dumps(document)).findings
    unexpected = [(f.issue, f.detail) for f in findings
                  if f.issue not in ACCEPTED_ISSUES.get(name, ())
                  and not (f.issue.startswith("UNKNOWN_") and any(n in str(f.detail) for n in NEWER_THAN_PARLIAMENT))]
    expected = ACCEPTED_FINDINGS.get(name, [])
    assert [u for u in unexpected if u not in expected] == [] and all(e in unexpected for e in expected)


def test_parliament_is_live():
    parliament = pytest.importorskip("parliament")
    broken = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["route53:ChangeRecordSets"], "Resource": "*"}]}
    issues = [f.issue for f in parliament.analyze_policy_string(json.dumps(broken)).findings]
    assert "UNKNOWN_ACTION" in issues


@functools.cache
def iam_service_prefixes() -> frozenset[str]:
    """The prefixes IAM actions use: each botocore service's signing name and endpoint prefix."""
    session = botocore.session.get_session()
    prefixes = set()
    for service in session.get_available_services():
        metadata = session.get_service_model(service).metadata
        prefixes |= {metadata.get("signingName"), metadata.get("endpointPrefix")}
    return frozenset(prefixes)


@pytest.mark.parametrize("name", sorted(presets.PRESETS))
def test_every_action_names_a_service_botocore_knows(name):
    prefixes = iam_service_prefixes()
    for statement in presets.parse(EXAMPLES[name]).policy()["Statement"]:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        for action in actions:
            service, _, operation = action.partition(":")
            assert service in prefixes, action
            assert re.fullmatch(r"[A-Z][A-Za-z]+\*?", operation), action


def test_zone_and_bucket_resources_are_exactly_the_given_ones():
    document = presets.parse(EXAMPLES["external-dns"]).policy()
    change = next(s for s in document["Statement"] if "route53:ChangeResourceRecordSets" in s["Action"])
    assert change["Resource"] == [f"arn:aws:route53:::hostedzone/{ZONE}", "arn:aws:route53:::hostedzone/Z99"]
    cert = presets.parse(EXAMPLES["cert-manager"]).policy()
    txt = next(s for s in cert["Statement"] if s.get("Condition"))
    assert txt["Condition"] == {"ForAllValues:StringEquals": {
        "route53:ChangeResourceRecordSetsRecordTypes": ["TXT"]}}
    s3 = presets.parse(EXAMPLES["s3-bucket"]).policy()
    assert sorted(r for s in s3["Statement"] for r in s["Resource"]) == [
        f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"]


@pytest.mark.parametrize("value, message", [
    ("external-dns", "must be an object"),
    ({"name": "externaldns"}, "name must be one of cert-manager, external-dns"),
    ({"name": "external-dns"}, "external-dns needs hostedZoneIds"),
    ({"name": "external-dns", "hostedZoneIds": []}, "hostedZoneIds must be a list of hosted zone ids"),
    ({"name": "external-dns", "hostedZoneIds": ["z123"]}, "entry \"z123\" is not hosted zone ids"),
    ({"name": "external-dns", "hostedZoneIds": [ZONE, ZONE]}, "lists an entry more than once"),
    ({"name": "external-dns", "hostedZoneIds": [ZONE], "bucket": BUCKET}, "has no parameter bucket"),
    ({"name": "external-secrets"}, "needs at least one of secretArns, parameterArns"),
    ({"name": "external-secrets", "secretArns": ["arn:aws:ssm:us-east-1:123456789012:parameter/x"]},
     "is not Secrets Manager secret ARNs"),
    ({"name": "velero", "bucket": "Backups"}, "is not an S3 bucket name"),
    ({"name": "velero", "bucket": ["b1"]}, "bucket must be an S3 bucket name"),
    ({"name": "amp-remote-write", "workspaceArn": "ws-123"}, "is not an Amazon Managed Prometheus"),
    ({"name": "external-dns", "hostedZoneIds": [f"Z{i:020d}" for i in range(400)]},
     "IAM allows 10240 of inline policy per role"),
])
def test_bad_presets_get_one_message(value, message):
    with pytest.raises(presets.PresetError, match=re.escape(message)):
        presets.parse(value)


# --- enforced in moto ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def signing_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def credentials_for(name: str, signing_key, setup=None) -> tuple:
    """A role with the preset's policy in moto; temporary credentials for it, IAM enforced."""
    server = shared_server()
    server.reset()
    iam = server.client("iam")
    provider_arn = iam_setup.create_provider(iam, ISSUER, [AUDIENCE])
    irsa = iam_setup.create_role(iam, provider_arn, ISSUER, "apps", name, AUDIENCE)
    preset = presets.parse(EXAMPLES[name])
    iam.put_role_policy(RoleName=irsa.role_name, PolicyName=preset.policy_name,
                        PolicyDocument=json.dumps(preset.policy()))
    if setup:
        setup(server)
    server.enforce_iam(unchecked_calls=1)  # the unsigned AssumeRoleWithWebIdentity
    token = tokens.sign(tokens.claims(ISSUER, "apps", name, AUDIENCE), signing_key)
    answer = server.client("sts").assume_role_with_web_identity(
        RoleArn=irsa.role_arn, RoleSessionName="preset", WebIdentityToken=token)["Credentials"]
    return server, {"aws_access_key_id": answer["AccessKeyId"],
                    "aws_secret_access_key": answer["SecretAccessKey"],
                    "aws_session_token": answer["SessionToken"]}


def denied(call, action: str) -> None:
    """The call fails with AccessDenied for exactly this action.

    moto answers some JSON and REST services with an XML error body that
    botocore does not parse, so the code and message are also read from there.
    S3 says only "Access Denied", as S3 does: there the operation is checked.
    """
    with pytest.raises(ClientError) as error:
        call()
    response = error.value.response
    nested = response.get("Errors", {}).get("Error", {})
    text = " ".join(str(v) for v in (response["Error"].get("Code"), response["Error"].get("Message"),
                                     nested.get("Code"), nested.get("Message")))
    assert "AccessDenied" in text, response
    if action.startswith("s3:"):
        assert error.value.operation_name == action.removeprefix("s3:")
    else:
        assert f"not authorized to perform: {action}" in text, response


@pytest.fixture(autouse=False)
def clean_moto():
    yield
    shared_server().reset()


def _bucket(server):
    server.client("s3").create_bucket(Bucket=BUCKET)
    server.client("s3").create_bucket(Bucket="someone-elses-bucket")


@pytest.mark.parametrize("name", ["cert-manager", "external-dns"])
def test_route53_presets_deny_creating_zones(name, signing_key, clean_moto):
    server, creds = credentials_for(name, signing_key)
    route53 = server.client("route53", creds)
    denied(lambda: route53.create_hosted_zone(Name="example.com", CallerReference="x"),
           "route53:CreateHostedZone")


def test_external_secrets_denies_writing_secrets_and_parameters(signing_key, clean_moto):
    server, creds = credentials_for("external-secrets", signing_key)
    denied(lambda: server.client("secretsmanager", creds).create_secret(Name="x", SecretString="y"),
           "secretsmanager:CreateSecret")
    denied(lambda: server.client("ssm", creds).put_parameter(Name="/prod/x", Value="y", Type="String"),
           "ssm:PutParameter")


def test_velero_allows_its_bucket_and_snapshots_and_denies_other_buckets(signing_key, clean_moto):
    server, creds = credentials_for("velero", signing_key, _bucket)
    s3 = server.client("s3", creds, s3={"addressing_style": "path"})
    s3.put_object(Bucket=BUCKET, Key="backups/b1/velero-backup.json", Body=b"{}")
    server.client("ec2", creds).describe_volumes()
    denied(lambda: s3.put_object(Bucket="someone-elses-bucket", Key="x", Body=b"{}"), "s3:PutObject")
    denied(lambda: server.client("ec2", creds).describe_instances(), "ec2:DescribeInstances")


def test_s3_bucket_allows_read_write_of_its_bucket_only(signing_key, clean_moto):
    server, creds = credentials_for("s3-bucket", signing_key, _bucket)
    s3 = server.client("s3", creds, s3={"addressing_style": "path"})
    s3.put_object(Bucket=BUCKET, Key="chunks/1", Body=b"data")
    assert s3.get_object(Bucket=BUCKET, Key="chunks/1")["Body"].read() == b"data"
    denied(lambda: s3.get_object(Bucket="someone-elses-bucket", Key="chunks/1"), "s3:GetObject")
    denied(lambda: s3.create_bucket(Bucket="team-loki-chunks-2"), "s3:CreateBucket")


def test_amp_remote_write_denies_managing_workspaces(signing_key, clean_moto):
    server, creds = credentials_for("amp-remote-write", signing_key)
    denied(lambda: server.client("amp", creds).create_workspace(alias="x"), "aps:CreateWorkspace")


def test_the_examples_in_docs_presets_md_are_valid_configuration():
    import yaml

    from conftest import ROOT
    from irsa import settings

    text = (ROOT / "docs" / "presets.md").read_text()
    blocks = re.findall(r"^```yaml\n(.*?)^```", text, re.S | re.M)
    assert blocks
    for block in blocks:
        config = yaml.safe_load(block)["config"]
        raw = {"irsa:githubOwner": "o", "irsa:githubRepository": "r", "irsa:host": "h",
               **{k: v if isinstance(v, str) else json.dumps(v) for k, v in config.items()}}
        parsed = settings.parse(raw)
        assert all(a.preset for a in parsed.service_accounts)


# --- the add-ons people run on EC2: an allowed and a denied call each ----------------------


def test_aws_load_balancer_controller_reads_and_may_not_run_instances(signing_key, clean_moto):
    server, creds = credentials_for("aws-load-balancer-controller", signing_key)
    server.client("ec2", creds).describe_vpcs()
    server.client("elbv2", creds).describe_load_balancers()
    denied(lambda: server.client("ec2", creds).run_instances(ImageId="ami-12345678", MinCount=1, MaxCount=1),
           "ec2:RunInstances")
    denied(lambda: server.client("iam", creds).create_user(UserName="x"), "iam:CreateUser")


def test_ebs_csi_driver_describes_volumes_and_may_not_describe_vpcs(signing_key, clean_moto):
    server, creds = credentials_for("ebs-csi-driver", signing_key)
    server.client("ec2", creds).describe_volumes()
    denied(lambda: server.client("ec2", creds).describe_vpcs(), "ec2:DescribeVpcs")


def test_efs_csi_driver_passes_iam_for_access_points_and_may_not_create_file_systems(signing_key, clean_moto):
    # EFS is a REST service: moto's signature check fails its GETs (module docstring), so the
    # allowed call is CreateAccessPoint (a POST; moto does not check that the file system exists).
    server, creds = credentials_for("efs-csi-driver", signing_key)
    made = server.client("efs", creds).create_access_point(
        FileSystemId="fs-01234567", Tags=[{"Key": "efs.csi.aws.com/cluster", "Value": "true"}])
    assert made["AccessPointId"].startswith("fsap-")
    denied(lambda: server.client("efs", creds).create_file_system(CreationToken="x"),
           "elasticfilesystem:CreateFileSystem")


def test_cluster_autoscaler_describes_groups_and_may_not_delete_one(signing_key, clean_moto):
    server, creds = credentials_for("cluster-autoscaler", signing_key)
    server.client("autoscaling", creds).describe_auto_scaling_groups()
    denied(lambda: server.client("autoscaling", creds).delete_auto_scaling_group(AutoScalingGroupName="x"),
           "autoscaling:DeleteAutoScalingGroup")


def test_velero_may_tag_its_backup_objects(signing_key, clean_moto):
    server, creds = credentials_for("velero", signing_key, _bucket)
    s3 = server.client("s3", creds, s3={"addressing_style": "path"})
    s3.put_object(Bucket=BUCKET, Key="backups/b1/x", Body=b"{}")
    s3.put_object_tagging(Bucket=BUCKET, Key="backups/b1/x",
                          Tagging={"TagSet": [{"Key": "velero.io/backup", "Value": "b1"}]})
    denied(lambda: s3.put_object_tagging(Bucket="someone-elses-bucket", Key="x",
                                         Tagging={"TagSet": [{"Key": "k", "Value": "v"}]}), "s3:PutObjectTagging")


@pytest.mark.parametrize("name", ["aws-load-balancer-controller", "ebs-csi-driver", "efs-csi-driver",
                                  "cluster-autoscaler"])
def test_the_ec2_add_ons_work_with_no_parameters(name):
    document = presets.parse({"name": name}).policy()
    assert document["Statement"]
    assert not any("kms:" in json.dumps(s) for s in document["Statement"])


def test_kms_keys_and_cluster_tag_narrow_what_they_name():
    ebs = presets.parse(EXAMPLES["ebs-csi-driver"]).policy()
    (kms,) = [s for s in ebs["Statement"] if any(a.startswith("kms:") for a in s["Action"])]
    assert kms["Resource"] == [KMS_KEY_ARN]
    assert sorted(kms["Action"]) == ["kms:CreateGrant", "kms:Decrypt", "kms:GenerateDataKeyWithoutPlaintext"]
    autoscaler = presets.parse(EXAMPLES["cluster-autoscaler"]).policy()
    (scale,) = [s for s in autoscaler["Statement"] if "autoscaling:SetDesiredCapacity" in s["Action"]]
    assert scale["Condition"] == {"Null": {"aws:ResourceTag/k8s.io/cluster-autoscaler/prod": "false"}}
    assert "Condition" not in next(s for s in presets.parse({"name": "cluster-autoscaler"}).policy()["Statement"]
                                   if "autoscaling:SetDesiredCapacity" in s["Action"])


@pytest.mark.parametrize("value, message", [
    ({"name": "ebs-csi-driver", "kmsKeyArns": ["alias/ebs"]}, "is not KMS key ARNs"),
    ({"name": "cluster-autoscaler", "clusterName": "has space"}, "is not a cluster name"),
    ({"name": "efs-csi-driver", "kmsKeyArns": [KMS_KEY_ARN]}, "efs-csi-driver has no parameter kmsKeyArns"),
])
def test_bad_ec2_add_on_parameters_are_named(value, message):
    with pytest.raises(presets.PresetError, match=re.escape(message)):
        presets.parse(value)


def test_the_roles_inline_policies_are_sized_together():
    from irsa import settings
    from test_program import DEV

    big = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": [f"arn:aws:s3:::bucket-{i:04d}/*" for i in range(200)]}]}
    entry = {"namespace": "kube-system", "name": "aws-load-balancer-controller",
             "preset": {"name": "aws-load-balancer-controller"}, "policy": big}
    with pytest.raises(settings.SettingsError) as err:
        settings.parse({**DEV, "irsa:serviceAccounts": json.dumps([entry])})
    (problem,) = err.value.problems
    assert problem.startswith("irsa:serviceAccounts[0] (kube-system/aws-load-balancer-controller): the role's "
                              "inline policies (s3BucketPrefix, policy, preset) come to ") and \
        "IAM allows 10240 per role" in problem
    # Each alone fits: the sum is what IAM refuses.
    assert len(json.dumps(big, separators=(",", ":"))) < presets.INLINE_POLICY_LIMIT
    small = {"Statement": [{"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"}]}
    settings.parse({**DEV, "irsa:serviceAccounts": json.dumps([{**entry, "policy": small}])})
