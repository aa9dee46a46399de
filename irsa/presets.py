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

    def policy(self) -> dict[str, Any]:
        """The IAM policy document for this preset."""
        return PRESETS[self.name].build(self.parameters)


# --- the documented policies ------------------------------------------------


def _zone_arns(zone_ids: list[str]) -> list[str]:
    return [f"arn:aws:route53:::hostedzone/{z}" for z in zone_ids]


def cert_manager(p: Mapping[str, Any]) -> dict[str, Any]:
    """cert-manager's ACME DNS-01 solver for Route 53.

    Source: cert-manager.io/docs/configuration/acme/dns01/route53/ ("Set up an
    IAM Policy"): route53:GetChange on change/*, Change/ListResourceRecordSets
    on the hosted zones restricted to TXT records, ListHostedZonesByName on *.
    The page says to narrow hostedzone/* to your zones, which this does. The
    TXT condition goes on ChangeResourceRecordSets alone: the condition key does
    not exist for ListResourceRecordSets (IAM's service reference; parliament
    reports it), so that action gets its own statement.
    """
    zones = _zone_arns(p["hostedZoneIds"])
    return _document(
        {"Sid": "GetChange", "Effect": "Allow", "Action": "route53:GetChange",
         "Resource": "arn:aws:route53:::change/*"},
        {"Sid": "ChangeTxtRecordsInZones", "Effect": "Allow",
         "Action": ["route53:ChangeResourceRecordSets"], "Resource": zones,
         "Condition": {"ForAllValues:StringEquals": {
             "route53:ChangeResourceRecordSetsRecordTypes": ["TXT"]}}},
        {"Sid": "ListRecordsInZones", "Effect": "Allow",
         "Action": ["route53:ListResourceRecordSets"], "Resource": zones},
        {"Sid": "FindZones", "Effect": "Allow", "Action": "route53:ListHostedZonesByName",
         "Resource": "*"},
    )


def external_dns(p: Mapping[str, Any]) -> dict[str, Any]:
    """ExternalDNS on Route 53.

    Source: kubernetes-sigs/external-dns docs/tutorials/aws.md ("IAM Policy"):
    route53:ChangeResourceRecordSets on hostedzone/* (narrow it to your zones,
    which this does), and ListHostedZones, ListResourceRecordSets,
    ListTagsForResources on *. ListResourceRecordSets takes a hosted zone as
    resource, so it is narrowed to the zones too; the list calls stay on *.
    """
    return _document(
        {"Sid": "ChangeRecordsInZones", "Effect": "Allow",
         "Action": ["route53:ChangeResourceRecordSets", "route53:ListResourceRecordSets"],
         "Resource": _zone_arns(p["hostedZoneIds"])},
        {"Sid": "ListZones", "Effect": "Allow",
         "Action": ["route53:ListHostedZones", "route53:ListTagsForResources"],
         "Resource": ["*"]},
    )


def external_secrets(p: Mapping[str, Any]) -> dict[str, Any]:
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


def velero(p: Mapping[str, Any]) -> dict[str, Any]:
    """Velero with velero-plugin-for-aws: backups in one bucket, EBS volume snapshots.

    Source: vmware-tanzu/velero-plugin-for-aws README ("Set permissions for
    Velero"): the EC2 snapshot actions on *, object actions on BUCKET/*, and
    s3:ListBucket on BUCKET. The EC2 actions stay on *, as documented: the
    volumes and snapshots are whatever the cluster's persistent volumes are.
    """
    bucket = p["bucket"]
    return _document(
        {"Sid": "EbsSnapshots", "Effect": "Allow",
         "Action": ["ec2:DescribeVolumes", "ec2:DescribeSnapshots", "ec2:CreateTags",
                    "ec2:CreateVolume", "ec2:CreateSnapshot", "ec2:DeleteSnapshot"],
         "Resource": "*"},
        {"Sid": "BackupObjects", "Effect": "Allow",
         "Action": ["s3:GetObject", "s3:DeleteObject", "s3:PutObject",
                    "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
         "Resource": [f"arn:aws:s3:::{bucket}/*"]},
        {"Sid": "ListBackupBucket", "Effect": "Allow", "Action": ["s3:ListBucket"],
         "Resource": [f"arn:aws:s3:::{bucket}"]},
    )


def s3_bucket(p: Mapping[str, Any]) -> dict[str, Any]:
    """Read/write of one bucket, for log and metrics stores: Loki, Thanos, Mimir.

    Sources: Thanos docs/storage.md (S3 "policy": s3:ListBucket, GetObject,
    DeleteObject, PutObject on the bucket and its objects); Grafana Loki's
    storage docs (AWS: the same four actions); Grafana Mimir uses the same
    object-store client. ListBucket is a bucket action, the others object actions.
    """
    bucket = p["bucket"]
    return _document(
        {"Sid": "ListBucket", "Effect": "Allow", "Action": ["s3:ListBucket"],
         "Resource": [f"arn:aws:s3:::{bucket}"]},
        {"Sid": "ReadWriteObjects", "Effect": "Allow",
         "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
         "Resource": [f"arn:aws:s3:::{bucket}/*"]},
    )


def amp_remote_write(p: Mapping[str, Any]) -> dict[str, Any]:
    """Prometheus remote write to an Amazon Managed Service for Prometheus workspace.

    Source: the AWS managed policy AmazonPrometheusRemoteWriteAccess
    (aps:RemoteWrite on *), narrowed to the one workspace.
    """
    return _document(
        {"Sid": "RemoteWrite", "Effect": "Allow", "Action": ["aps:RemoteWrite"],
         "Resource": [p["workspaceArn"]]},
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
    build: Callable[[Mapping[str, Any]], dict[str, Any]]
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
