"""Role presets: the least-privilege policy each add-on's own project documents.

A service account entry may carry ``preset: {name: NAME, PARAMETER: VALUE…}``;
``parse`` validates it and ``Preset.policy()`` returns the IAM policy document.
Each builder follows the policy its project publishes (cited above it),
narrowed to the resources the user names where the project says it can be.
Pure: no Pulumi, no AWS calls.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from irsa import policies, s3

POLICY_VERSION = "2012-10-17"
# IAM's quota for the inline policies of one role, counted without white space.
INLINE_POLICY_LIMIT = 10240

# Route 53 hosted zone ids: upper-case letters and digits (botocore route53 ResourceId: ≤ 32).
_ZONE_ID = re.compile(r"[A-Z0-9]{1,32}")
# S3 bucket names (general purpose buckets): 3–63, lowercase letters, digits, '.', '-'.
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_PARTITION = r"arn:aws(?:-[a-z]+)*"
_SECRET_ARN = re.compile(_PARTITION + r":secretsmanager:[a-z0-9-]+:\d{12}:secret:[\w/+=.@*?-]+", re.ASCII)
_PARAMETER_ARN = re.compile(_PARTITION + r":ssm:[a-z0-9-]+:\d{12}:parameter/[\w/.*-]+", re.ASCII)
_KMS_KEY_ARN = re.compile(_PARTITION + r":kms:[a-z0-9-]+:\d{12}:key/[A-Za-z0-9-]{1,128}", re.ASCII)
# A cluster name in a tag key: IAM's tag characters, the key (k8s.io/cluster-autoscaler/NAME) within 128.
_CLUSTER_NAME = re.compile(r"[A-Za-z0-9_.:/=+@-]{1,100}", re.ASCII)
_WORKSPACE_ARN = re.compile(_PARTITION + r":aps:[a-z0-9-]+:\d{12}:workspace/ws-[A-Za-z0-9-]+", re.ASCII)


class PresetError(ValueError):
    """A preset that is unknown or whose parameters are missing or malformed."""


@dataclass(frozen=True)
class Parameter:
    """One parameter of a preset: its JSON kind, whether required, and its value check."""

    kind: type
    required: bool
    check: Callable[[str], bool]
    example: str

    def describe(self) -> str:
        return f"a list of {self.example}" if self.kind is list else self.example


@dataclass(frozen=True)
class Preset:
    """A validated preset: its name and parameters (as given)."""

    name: str
    parameters: Mapping[str, Any]

    @property
    def policy_name(self) -> str:
        """The inline role policy's name (IAM policyNameType: [\\w+=,.@-]+, ≤ 128)."""
        return f"preset-{self.name}"

    def policy(self, partition: str = "aws") -> dict[str, Any]:
        """The IAM policy document for this preset, its ARNs in ``partition`` (aws, aws-cn, aws-us-gov)."""
        return PRESETS[self.name].build(self.parameters, partition)


# --- the documented policies ------------------------------------------------


def _zone_arns(zone_ids: list[str], partition: str) -> list[str]:
    return [f"arn:{partition}:route53:::hostedzone/{z}" for z in zone_ids]


def cert_manager(p: Mapping[str, Any], partition: str = "aws") -> dict[str, Any]:
    """cert-manager's ACME DNS-01 solver for Route 53.

    Source: cert-manager.io/docs/configuration/acme/dns01/route53/ ("Set up an
    IAM Policy"): route53:GetChange on change/*, Change/ListResourceRecordSets
    on the hosted zones restricted to TXT records, ListHostedZonesByName on *.
    The page says to narrow hostedzone/* to your zones, which this does. The
    TXT condition goes on ChangeResourceRecordSets alone: the condition key does
    not exist for ListResourceRecordSets (IAM's service reference; parliament
    reports it), so that action gets its own statement.
    """
    zones = _zone_arns(p["hostedZoneIds"], partition)
    return _document(
        {"Sid": "GetChange", "Effect": "Allow", "Action": "route53:GetChange",
         "Resource": f"arn:{partition}:route53:::change/*"},
        {"Sid": "ChangeTxtRecordsInZones", "Effect": "Allow",
         "Action": ["route53:ChangeResourceRecordSets"], "Resource": zones,
         "Condition": {"ForAllValues:StringEquals": {
             "route53:ChangeResourceRecordSetsRecordTypes": ["TXT"]}}},
        {"Sid": "ListRecordsInZones", "Effect": "Allow",
         "Action": ["route53:ListResourceRecordSets"], "Resource": zones},
        {"Sid": "FindZones", "Effect": "Allow", "Action": "route53:ListHostedZonesByName",
         "Resource": "*"},
    )


def external_dns(p: Mapping[str, Any], partition: str = "aws") -> dict[str, Any]:
    """ExternalDNS on Route 53.

    Source: kubernetes-sigs/external-dns docs/tutorials/aws.md ("IAM Policy",
    v0.22.0 and master of 2026-08-22): ChangeResourceRecordSets,
    ListResourceRecordSets and ListTagsForResources on hostedzone/*, which the
    page says to narrow to your zones (done here), and ListHostedZones on *.
    """
    return _document(
        {"Sid": "ChangeRecordsInZones", "Effect": "Allow",
         "Action": ["route53:ChangeResourceRecordSets", "route53:ListResourceRecordSets",
                    "route53:ListTagsForResources"],
         "Resource": _zone_arns(p["hostedZoneIds"], partition)},
        {"Sid": "ListZones", "Effect": "Allow", "Action": ["route53:ListHostedZones"],
         "Resource": ["*"]},
    )


def external_secrets(p: Mapping[str, Any], partition: str = "aws") -> dict[str, Any]:
    """External Secrets Operator reading AWS Secrets Manager and/or SSM Parameter Store.

    Sources: external-secrets.io provider/aws-secrets-manager ("IAM Policy":
    GetResourcePolicy, GetSecretValue, DescribeSecret, ListSecretVersionIds on
    the secrets' ARNs) and provider/aws-parameter-store ("IAM Policy":
    ssm:GetParameter* on the parameters' ARNs). Secrets encrypted with a
    customer managed KMS key also need kms:Decrypt on that key (add it with policy).
    """
    statements = []
    if p.get("secretArns"):
        statements.append(
            {"Sid": "ReadSecrets", "Effect": "Allow",
             "Action": ["secretsmanager:GetResourcePolicy", "secretsmanager:GetSecretValue",
                        "secretsmanager:DescribeSecret", "secretsmanager:ListSecretVersionIds"],
             "Resource": list(p["secretArns"])})
    if p.get("parameterArns"):
        statements.append(
            {"Sid": "ReadParameters", "Effect": "Allow", "Action": ["ssm:GetParameter*"],
             "Resource": list(p["parameterArns"])})
    return _document(*statements)


def velero(p: Mapping[str, Any], partition: str = "aws") -> dict[str, Any]:
    """Velero with velero-plugin-for-aws: backups in one bucket, EBS volume snapshots.

    Source: vmware-tanzu/velero-plugin-for-aws README ("Set permissions for
    Velero", tag v1.13.2): the EC2 snapshot actions on *, object actions on
    BUCKET/* — s3:PutObjectTagging among them since 2024-09 (commit a8feda4:
    backups with tags need it) — and s3:ListBucket on BUCKET. The EC2 actions
    stay on *, as documented: the volumes and snapshots are whatever the
    cluster's persistent volumes are.
    """
    bucket = p["bucket"]
    return _document(
        {"Sid": "EbsSnapshots", "Effect": "Allow",
         "Action": ["ec2:DescribeVolumes", "ec2:DescribeSnapshots", "ec2:CreateTags",
                    "ec2:CreateVolume", "ec2:CreateSnapshot", "ec2:DeleteSnapshot"],
         "Resource": "*"},
        {"Sid": "BackupObjects", "Effect": "Allow",
         "Action": ["s3:GetObject", "s3:DeleteObject", "s3:PutObject", "s3:PutObjectTagging",
                    "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
         "Resource": [f"arn:{partition}:s3:::{bucket}/*"]},
        {"Sid": "ListBackupBucket", "Effect": "Allow", "Action": ["s3:ListBucket"],
         "Resource": [f"arn:{partition}:s3:::{bucket}"]},
    )


def s3_bucket(p: Mapping[str, Any], partition: str = "aws") -> dict[str, Any]:
    """Read/write of one bucket, for log and metrics stores: Loki, Thanos, Mimir.

    Sources: Thanos docs/storage.md (S3 "policy": s3:ListBucket, GetObject,
    DeleteObject, PutObject on the bucket and its objects); Grafana Loki's
    storage docs (AWS: the same four actions); Grafana Mimir uses the same
    object-store client. ListBucket is a bucket action, the others object actions.
    """
    bucket = p["bucket"]
    return _document(
        {"Sid": "ListBucket", "Effect": "Allow", "Action": ["s3:ListBucket"],
         "Resource": [f"arn:{partition}:s3:::{bucket}"]},
        {"Sid": "ReadWriteObjects", "Effect": "Allow",
         "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
         "Resource": [f"arn:{partition}:s3:::{bucket}/*"]},
    )


def amp_remote_write(p: Mapping[str, Any], partition: str = "aws") -> dict[str, Any]:
    """Prometheus remote write to an Amazon Managed Service for Prometheus workspace.

    Source: the AWS managed policy AmazonPrometheusRemoteWriteAccess
    (aps:RemoteWrite on *), narrowed to the one workspace.
    """
    return _document(
        {"Sid": "RemoteWrite", "Effect": "Allow", "Action": ["aps:RemoteWrite"],
         "Resource": [p["workspaceArn"]]},
    )


# --- the add-ons people run on EC2 -------------------------------------------
# Each as its project publishes it; only the partition in ARNs is the stack's.


def _allow(sid: str, actions: list[str], resource: Any = "*", condition: Mapping[str, Any] | None = None
           ) -> dict[str, Any]:
    statement = {"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resource}
    if condition:
        statement["Condition"] = dict(condition)
    return statement


# The tag the AWS Load Balancer Controller puts on what it creates, and conditions on it.
_LBC_TAG = "elbv2.k8s.aws/cluster"
_LBC_REQUEST_TAGGED = {"Null": {f"aws:RequestTag/{_LBC_TAG}": "false"}}
_LBC_RESOURCE_TAGGED = {"Null": {f"aws:ResourceTag/{_LBC_TAG}": "false"}}
_LBC_RETAG = {"Null": {f"aws:RequestTag/{_LBC_TAG}": "true", f"aws:ResourceTag/{_LBC_TAG}": "false"}}


def aws_load_balancer_controller(p: Mapping[str, Any], partition: str = "aws") -> dict[str, Any]:
    """The AWS Load Balancer Controller (ALB for Ingress, NLB for Services).

    Source: kubernetes-sigs/aws-load-balancer-controller docs/install/iam_policy.json
    at tag v3.5.0 (commit 11eb202c97e4): the same 16 statements, the partition
    the stack's (upstream's iam_policy_cn.json and iam_policy_us-gov.json are
    this one with arn:aws-cn: and arn:aws-us-gov:). It writes only what the
    controller tagged elbv2.k8s.aws/cluster, and reads broadly. 5.6 KB compact:
    within the 10,240 characters of inline policy a role may hold.
    """
    ec2 = f"arn:{partition}:ec2:*:*"
    elb = f"arn:{partition}:elasticloadbalancing:*:*"
    balancers = [f"{elb}:targetgroup/*/*", f"{elb}:loadbalancer/net/*/*", f"{elb}:loadbalancer/app/*/*"]
    return _document(
        _allow("CreateElbServiceLinkedRole", ["iam:CreateServiceLinkedRole"], "*",
               {"StringEquals": {"iam:AWSServiceName": "elasticloadbalancing.amazonaws.com"}}),
        _allow("Describe", [
            "ec2:DescribeAccountAttributes", "ec2:DescribeAddresses", "ec2:DescribeAvailabilityZones",
            "ec2:DescribeInternetGateways", "ec2:DescribeVpcs", "ec2:DescribeVpcPeeringConnections",
            "ec2:DescribeSubnets", "ec2:DescribeSecurityGroups", "ec2:DescribeInstances",
            "ec2:DescribeNetworkInterfaces", "ec2:DescribeTags", "ec2:GetCoipPoolUsage",
            "ec2:DescribeCoipPools", "ec2:GetSecurityGroupsForVpc", "ec2:DescribeIpamPools",
            "ec2:DescribeRouteTables",
            "elasticloadbalancing:DescribeLoadBalancers", "elasticloadbalancing:DescribeLoadBalancerAttributes",
            "elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeListenerCertificates",
            "elasticloadbalancing:DescribeSSLPolicies", "elasticloadbalancing:DescribeRules",
            "elasticloadbalancing:DescribeTargetGroups", "elasticloadbalancing:DescribeTargetGroupAttributes",
            "elasticloadbalancing:DescribeTargetHealth", "elasticloadbalancing:DescribeTags",
            "elasticloadbalancing:DescribeTrustStores", "elasticloadbalancing:DescribeListenerAttributes",
            "elasticloadbalancing:DescribeCapacityReservation"]),
        _allow("CertificatesWafShield", [
            "cognito-idp:DescribeUserPoolClient", "acm:ListCertificates", "acm:DescribeCertificate",
            "iam:ListServerCertificates", "iam:GetServerCertificate",
            "waf-regional:GetWebACL", "waf-regional:GetWebACLForResource", "waf-regional:AssociateWebACL",
            "waf-regional:DisassociateWebACL", "wafv2:GetWebACL", "wafv2:GetWebACLForResource",
            "wafv2:AssociateWebACL", "wafv2:DisassociateWebACL", "shield:GetSubscriptionState",
            "shield:DescribeProtection", "shield:CreateProtection", "shield:DeleteProtection"]),
        _allow("SecurityGroupIngress", ["ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress"]),
        _allow("CreateSecurityGroup", ["ec2:CreateSecurityGroup"]),
        _allow("TagNewSecurityGroup", ["ec2:CreateTags"], f"{ec2}:security-group/*",
               {"StringEquals": {"ec2:CreateAction": "CreateSecurityGroup"}, **_LBC_REQUEST_TAGGED}),
        _allow("RetagOwnSecurityGroups", ["ec2:CreateTags", "ec2:DeleteTags"], f"{ec2}:security-group/*",
               _LBC_RETAG),
        _allow("ManageOwnSecurityGroups", ["ec2:AuthorizeSecurityGroupIngress",
                                           "ec2:RevokeSecurityGroupIngress", "ec2:DeleteSecurityGroup"],
               "*", _LBC_RESOURCE_TAGGED),
        _allow("CreateTaggedBalancers", ["elasticloadbalancing:CreateLoadBalancer",
                                         "elasticloadbalancing:CreateTargetGroup"], "*", _LBC_REQUEST_TAGGED),
        _allow("ListenersAndRules", ["elasticloadbalancing:CreateListener", "elasticloadbalancing:DeleteListener",
                                     "elasticloadbalancing:CreateRule", "elasticloadbalancing:DeleteRule"]),
        _allow("RetagOwnBalancers", ["elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags"],
               balancers, _LBC_RETAG),
        _allow("TagListenersAndRules", ["elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags"],
               [f"{elb}:listener/net/*/*/*", f"{elb}:listener/app/*/*/*",
                f"{elb}:listener-rule/net/*/*/*", f"{elb}:listener-rule/app/*/*/*"]),
        _allow("ModifyOwnBalancers", [
            "elasticloadbalancing:ModifyLoadBalancerAttributes", "elasticloadbalancing:SetIpAddressType",
            "elasticloadbalancing:SetSecurityGroups", "elasticloadbalancing:SetSubnets",
            "elasticloadbalancing:DeleteLoadBalancer", "elasticloadbalancing:ModifyTargetGroup",
            "elasticloadbalancing:ModifyTargetGroupAttributes", "elasticloadbalancing:DeleteTargetGroup",
            "elasticloadbalancing:ModifyListenerAttributes", "elasticloadbalancing:ModifyCapacityReservation",
            "elasticloadbalancing:ModifyIpPools"], "*", _LBC_RESOURCE_TAGGED),
        _allow("TagOnCreate", ["elasticloadbalancing:AddTags"], balancers,
               {"StringEquals": {"elasticloadbalancing:CreateAction": ["CreateTargetGroup", "CreateLoadBalancer"]},
                **_LBC_REQUEST_TAGGED}),
        _allow("RegisterTargets", ["elasticloadbalancing:RegisterTargets",
                                   "elasticloadbalancing:DeregisterTargets"], f"{elb}:targetgroup/*/*"),
        _allow("ModifyListenersAndRules", [
            "elasticloadbalancing:SetWebAcl", "elasticloadbalancing:ModifyListener",
            "elasticloadbalancing:AddListenerCertificates", "elasticloadbalancing:RemoveListenerCertificates",
            "elasticloadbalancing:ModifyRule", "elasticloadbalancing:SetRulePriorities"]),
    )


_EBS_TAG = "ebs.csi.aws.com/cluster"
_EBS_PVC_TAG = "kubernetes.io/created-for/pvc/name"


def ebs_csi_driver(p: Mapping[str, Any], partition: str = "aws") -> dict[str, Any]:
    """The Amazon EBS CSI driver.

    Source: kubernetes-sigs/aws-ebs-csi-driver docs/AmazonEBSCSIDriverPolicyV2.json
    at tag v1.64.0 (commit 429e202e5890), which docs/install.md names as the
    example policy and AWS publishes as the managed policy
    AmazonEBSCSIDriverPolicyV2: writes only volumes and snapshots tagged
    ebs.csi.aws.com/cluster=true (or made for a PVC by the in-tree plugin).
    ``kmsKeyArns``: docs/install.md's "Encrypted EBS Volumes via KMS" statement
    (kms:Decrypt, GenerateDataKeyWithoutPlaintext, CreateGrant), on those keys
    rather than the page's key/* — without it the driver gets no KMS access.
    """
    ec2 = f"arn:{partition}:ec2:*:*"
    volumes, snapshots = f"{ec2}:volume/*", f"{ec2}:snapshot/*"
    own = {"StringEquals": {f"ec2:ResourceTag/{_EBS_TAG}": "true"}}
    migrated = {"StringLike": {f"ec2:ResourceTag/{_EBS_PVC_TAG}": "*"}}
    statements = [
        _allow("ReadOnlyDescribeOperations", [
            "ec2:DescribeAvailabilityZones", "ec2:DescribeInstances", "ec2:DescribeInstanceTypes",
            "ec2:DescribeSnapshots", "ec2:DescribeVolumes", "ec2:DescribeVolumesModifications",
            "ec2:DescribeVolumeStatus"]),
        _allow("CreateAndCopyVolumesWithManagedTag", ["ec2:CreateVolume", "ec2:CopyVolumes"], volumes,
               {"StringEquals": {f"aws:RequestTag/{_EBS_TAG}": "true"}}),
        _allow("CopyManagedVolumes", ["ec2:CopyVolumes"], f"{ec2}:volume/vol-*", own),
        _allow("CopyCSIMigratedVolumes", ["ec2:CopyVolumes"], f"{ec2}:volume/vol-*", migrated),
        _allow("CreateSnapshotsWithManagedTag", ["ec2:CreateSnapshot"], snapshots,
               {"StringEquals": {f"aws:RequestTag/{_EBS_TAG}": "true"}}),
        _allow("CreateSnapshotsFromManagedVolumes", ["ec2:CreateSnapshot"], volumes, own),
        _allow("ManageManagedVolumes", ["ec2:ModifyVolume", "ec2:AttachVolume", "ec2:DetachVolume",
                                        "ec2:DeleteVolume"], volumes, own),
        _allow("ManageCSIMigratedVolumes", ["ec2:ModifyVolume", "ec2:AttachVolume", "ec2:DetachVolume",
                                            "ec2:DeleteVolume"], volumes, migrated),
        _allow("CreateVolumesFromAndEnableFSROnManagedSnapshots",
               ["ec2:CreateVolume", "ec2:EnableFastSnapshotRestores"], snapshots, own),
        _allow("AttachDetachVolumesToAnyInstance", ["ec2:AttachVolume", "ec2:DetachVolume"],
               f"{ec2}:instance/*"),
        _allow("DeleteAndLockManagedSnapshots", ["ec2:DeleteSnapshot", "ec2:LockSnapshot"], snapshots, own),
        _allow("TagResourcesOnCreation", ["ec2:CreateTags"], [volumes, snapshots],
               {"StringEquals": {"ec2:CreateAction": ["CreateVolume", "CreateSnapshot", "CopyVolumes"]}}),
        _allow("ModifyTagsOnManagedVolumes", ["ec2:CreateTags", "ec2:DeleteTags"], volumes,
               {**own, "Null": {"aws:TagKeys": "false"},
                "ForAllValues:StringNotEquals": {"aws:TagKeys": [
                    _EBS_TAG, "ebs.csi.aws.com/cluster-name", _EBS_PVC_TAG]}}),
    ]
    if p.get("kmsKeyArns"):
        statements.append(_allow("EncryptedVolumesWithTheseKeys", [
            "kms:Decrypt", "kms:GenerateDataKeyWithoutPlaintext", "kms:CreateGrant"], list(p["kmsKeyArns"])))
    return _document(*statements)


def efs_csi_driver(p: Mapping[str, Any], partition: str = "aws") -> dict[str, Any]:
    """The Amazon EFS CSI driver (dynamic provisioning with access points).

    Source: kubernetes-sigs/aws-efs-csi-driver docs/iam-policy-example.json at
    tag v3.4.1 (commit a4fc67600be6), the statements of AWS's managed policy
    AmazonEFSCSIDriverPolicy plus the s3files actions v3.4 added for S3 Files:
    reads on *, and creates, tags and deletes only access points tagged
    efs.csi.aws.com/cluster=true. No KMS statement: EFS encrypts at rest
    itself, the driver never calls KMS; the policy holds no ARN.
    """
    tagged = "efs.csi.aws.com/cluster"
    return _document(
        _allow("Describe", ["elasticfilesystem:DescribeAccessPoints", "elasticfilesystem:DescribeFileSystems",
                            "elasticfilesystem:DescribeMountTargets", "s3files:ListAccessPoints",
                            "s3files:ListFileSystems", "ec2:DescribeAvailabilityZones"]),
        _allow("CreateTaggedAccessPoints", ["elasticfilesystem:CreateAccessPoint", "s3files:CreateAccessPoint"],
               "*", {"StringLike": {f"aws:RequestTag/{tagged}": "true"}}),
        _allow("TagOwnResources", ["elasticfilesystem:TagResource", "s3files:TagResource"], "*",
               {"StringLike": {f"aws:ResourceTag/{tagged}": "true"}}),
        _allow("DeleteOwnAccessPoints", ["elasticfilesystem:DeleteAccessPoint", "s3files:DeleteAccessPoint"],
               "*", {"StringEquals": {f"aws:ResourceTag/{tagged}": "true"}}),
    )


def cluster_autoscaler(p: Mapping[str, Any], partition: str = "aws") -> dict[str, Any]:
    """cluster-autoscaler on EC2 Auto Scaling groups.

    Source: kubernetes/autoscaler cluster-autoscaler/cloudprovider/aws/README.md,
    "Full Cluster Autoscaler Features Policy (Recommended)" (the same at tag
    cluster-autoscaler-1.36.1 and master of 2026-08-22): the describe calls on
    *, SetDesiredCapacity and TerminateInstanceInAutoScalingGroup on *, which
    the page strongly recommends narrowing with tag conditions. ``clusterName``
    does that: only groups carrying the tag k8s.io/cluster-autoscaler/NAME (the
    auto-discovery tag the page recommends per cluster) can be scaled.
    """
    scale = _allow("ScaleGroups", ["autoscaling:SetDesiredCapacity",
                                   "autoscaling:TerminateInstanceInAutoScalingGroup"])
    if p.get("clusterName"):
        scale["Condition"] = {"Null": {f"aws:ResourceTag/k8s.io/cluster-autoscaler/{p['clusterName']}": "false"}}
    return _document(
        _allow("Describe", ["autoscaling:DescribeAutoScalingGroups", "autoscaling:DescribeAutoScalingInstances",
                            "autoscaling:DescribeLaunchConfigurations", "autoscaling:DescribeScalingActivities",
                            "ec2:DescribeImages", "ec2:DescribeInstanceTypes",
                            "ec2:DescribeLaunchTemplateVersions", "ec2:GetInstanceTypesFromInstanceRequirements",
                            "eks:DescribeNodegroup"]),
        scale,
    )


def _document(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": POLICY_VERSION, "Statement": list(statements)}


# --- the table of presets ---------------------------------------------------

_ZONES = Parameter(list, True, lambda v: bool(_ZONE_ID.fullmatch(v)), "hosted zone ids (Z0123456789ABC)")
_BUCKET_NAME = Parameter(str, True, lambda v: bool(_BUCKET.fullmatch(v)) and ".." not in v,
                         "an S3 bucket name")


@dataclass(frozen=True)
class PresetSpec:
    """A preset's parameters, its policy builder, and whom it is for."""

    parameters: Mapping[str, Parameter]
    build: Callable[[Mapping[str, Any], str], dict[str, Any]]
    summary: str
    # Names of parameters of which at least one must be given (besides required ones).
    one_of: tuple[str, ...] = ()


PRESETS: dict[str, PresetSpec] = {
    "cert-manager": PresetSpec({"hostedZoneIds": _ZONES}, cert_manager,
                               "cert-manager ACME DNS-01 challenges in Route 53 zones"),
    "external-dns": PresetSpec({"hostedZoneIds": _ZONES}, external_dns,
                               "ExternalDNS records in Route 53 zones"),
    "external-secrets": PresetSpec(
        {"secretArns": Parameter(list, False, lambda v: bool(_SECRET_ARN.fullmatch(v)),
                                 "Secrets Manager secret ARNs"),
         "parameterArns": Parameter(list, False, lambda v: bool(_PARAMETER_ARN.fullmatch(v)),
                                    "SSM parameter ARNs")},
        external_secrets, "External Secrets Operator reading Secrets Manager / Parameter Store",
        one_of=("secretArns", "parameterArns")),
    "velero": PresetSpec({"bucket": _BUCKET_NAME}, velero,
                         "Velero backups in a bucket and EBS snapshots"),
    "s3-bucket": PresetSpec({"bucket": _BUCKET_NAME}, s3_bucket,
                            "read/write of one bucket (Loki, Thanos, Mimir)"),
    "amp-remote-write": PresetSpec(
        {"workspaceArn": Parameter(str, True, lambda v: bool(_WORKSPACE_ARN.fullmatch(v)),
                                   "an Amazon Managed Prometheus workspace ARN")},
        amp_remote_write, "Prometheus remote write to Amazon Managed Prometheus"),
    "aws-load-balancer-controller": PresetSpec({}, aws_load_balancer_controller,
                                               "AWS Load Balancer Controller (ALB Ingress, NLB Services)"),
    "ebs-csi-driver": PresetSpec(
        {"kmsKeyArns": Parameter(list, False, lambda v: bool(_KMS_KEY_ARN.fullmatch(v)), "KMS key ARNs")},
        ebs_csi_driver, "Amazon EBS CSI driver, optionally with encrypted volumes"),
    "efs-csi-driver": PresetSpec({}, efs_csi_driver, "Amazon EFS CSI driver (access points)"),
    "cluster-autoscaler": PresetSpec(
        {"clusterName": Parameter(str, False, lambda v: bool(_CLUSTER_NAME.fullmatch(v)),
                                  "a cluster name (the k8s.io/cluster-autoscaler/NAME tag)")},
        cluster_autoscaler, "cluster-autoscaler on EC2 Auto Scaling groups"),
}


def _entry_hint(entry: str) -> str | None:
    """What to write instead of a common near miss: a zone's path, a bucket's ARN."""
    zone = re.fullmatch(r"/?hostedzone/([A-Z0-9]{1,32})", entry)
    if zone:
        return f"drop the /hostedzone/ prefix Route 53 shows: {zone.group(1)}"
    return s3.bucket_name_hint(entry)


def parse(value: Any) -> Preset:
    """Validate ``{name: NAME, PARAMETER: VALUE…}``; raise ``PresetError`` naming the problem."""
    if not isinstance(value, dict):
        raise PresetError(f"must be an object {{name: PRESET, …parameters}}, got {json.dumps(value)}")
    name = value.get("name")
    if not isinstance(name, str) or name not in PRESETS:
        raise PresetError(f"name must be one of {', '.join(PRESETS)}, got {json.dumps(name)}")
    spec = PRESETS[name]
    given = {k: v for k, v in value.items() if k != "name"}
    unknown = sorted(set(given) - set(spec.parameters))
    if unknown:
        raise PresetError(f"{name} has no parameter {', '.join(unknown)}; "
                          f"its parameters: {', '.join(spec.parameters)}")
    for key, parameter in spec.parameters.items():
        if key not in given:
            if parameter.required:
                raise PresetError(f"{name} needs {key}: {parameter.describe()}")
            continue
        item = given[key]
        items = item if parameter.kind is list else [item]
        if not isinstance(item, parameter.kind) or (parameter.kind is list and not item):
            raise PresetError(f"{key} must be {parameter.describe()}, got {json.dumps(item)}")
        for entry in items:
            if not isinstance(entry, str) or not parameter.check(entry):
                hint = _entry_hint(entry) if isinstance(entry, str) else None
                raise PresetError(f"{key} entry {json.dumps(entry)} is not {parameter.example}"
                                  + (f": {hint}" if hint else ""))
            problem = policies.secret_arn_problem(entry)
            if problem:
                raise PresetError(f"{key} entry {problem}")
        if parameter.kind is list and len(set(items)) != len(items):
            raise PresetError(f"{key} lists an entry more than once")
    if spec.one_of and not any(given.get(k) for k in spec.one_of):
        raise PresetError(f"{name} needs at least one of {', '.join(spec.one_of)}")
    preset = Preset(name, given)
    size = len(json.dumps(preset.policy(), separators=(",", ":")))
    if size > INLINE_POLICY_LIMIT:
        raise PresetError(f"{name}'s policy would be {size} characters; IAM allows "
                          f"{INLINE_POLICY_LIMIT} of inline policy per role: name fewer resources")
    return preset
