"""Partitions: ARNs and endpoints from the stack's region, checked against botocore's own table,
and what a partition cannot do refused with one line naming the key."""

from __future__ import annotations

import json
import os
import re

import botocore
import pytest
from test_program import DEV, run

from irsa import partitions, settings

S3_STACK = {**DEV, "irsa:issuerHost": "s3", "irsa:issuerBucket": "example-oidc-issuer"}


def botocore_partitions() -> list[dict]:
    with open(os.path.join(os.path.dirname(botocore.__file__), "data", "partitions.json")) as f:
        return json.load(f)["partitions"]


@pytest.mark.parametrize("entry", botocore_partitions(), ids=lambda e: e["id"])
def test_every_region_botocore_knows_gets_its_partition_or_a_refusal(entry):
    # The pseudo-regions "aws-global", "aws-cn-global"… name global endpoints, not regions.
    regions = [r for r in entry["regions"] if not r.endswith("-global")]
    assert regions, entry["id"]
    for region in regions:
        assert re.fullmatch(entry["regionRegex"], region)
        if entry["id"] in ("aws", "aws-cn", "aws-us-gov"):
            found = partitions.of_region(region)
            assert (found.name, found.dns_suffix) == (entry["id"], entry["outputs"]["dnsSuffix"]), region
        else:
            with pytest.raises(partitions.UnsupportedPartitionError, match=entry["id"]):
                partitions.of_region(region)


def problems(config) -> list[str]:
    with pytest.raises(settings.SettingsError) as err:
        settings.parse(config)
    return err.value.problems


def test_the_s3_issuer_url_in_china_ends_in_amazonaws_com_cn():
    parsed = settings.parse({**S3_STACK, "aws:region": "cn-north-1"})
    assert parsed.issuer.url == "https://example-oidc-issuer.s3.cn-north-1.amazonaws.com.cn"
    assert parsed.partition.name == "aws-cn"
    gov = settings.parse({**S3_STACK, "aws:region": "us-gov-west-1"})
    assert gov.issuer.url == "https://example-oidc-issuer.s3.us-gov-west-1.amazonaws.com"


@pytest.mark.parametrize("config, message", [
    ({**DEV, "irsa:issuerHost": "cloudfront", "aws:region": "us-gov-west-1"},
     "irsa:issuerHost cloudfront cannot serve the issuer in us-gov-west-1 (aws-us-gov): CloudFront is not offered"),
    ({**DEV, "irsa:issuerHost": "cloudfront", "aws:region": "cn-northwest-1"},
     "irsa:issuerHost cloudfront cannot serve the issuer in cn-northwest-1 (aws-cn)"),
    ({**DEV, "aws:region": "us-iso-east-1"}, "aws:region: us-iso-east-1 is in the aws-iso partition"),
    ({**DEV, "aws:region": "cn-north-1", "irsa:serviceAccounts": json.dumps([
        {"namespace": "a", "name": "b", "policyArns": ["arn:aws:iam::aws:policy/ReadOnlyAccess"]}])},
     "irsa:serviceAccounts[0].policyArns arn:aws:iam::aws:policy/ReadOnlyAccess is in the aws partition, "
     "but aws:region cn-north-1 is in aws-cn: write it arn:aws-cn:"),
    ({**DEV, "aws:region": "us-gov-east-1", "irsa:serviceAccounts": json.dumps([
        {"namespace": "a", "name": "b", "preset": {"name": "ebs-csi-driver", "kmsKeyArns": [
            "arn:aws:kms:us-east-1:123456789012:key/abc"]}}])},
     "irsa:serviceAccounts[0].preset.kmsKeyArns arn:aws:kms:us-east-1:123456789012:key/abc is in the aws"),
])
def test_what_a_partition_cannot_do_is_refused_naming_the_key(config, message):
    found = problems(config)
    assert any(p.startswith(message) for p in found), found


def test_matching_arns_in_china_are_accepted():
    settings.parse({**DEV, "aws:region": "cn-north-1", "irsa:serviceAccounts": json.dumps([
        {"namespace": "a", "name": "b", "policyArns": ["arn:aws-cn:iam::aws:policy/ReadOnlyAccess"]}])})


def test_every_arn_the_program_writes_in_china_is_aws_cn(pulumi_mocks):
    accounts = [{"namespace": "kube-system", "name": "aws-load-balancer-controller", "existing": True,
                 "preset": {"name": "aws-load-balancer-controller"}, "s3BucketPrefix": "k8s-logs"},
                {"namespace": "velero", "name": "velero", "preset": {"name": "velero", "bucket": "backups"}}]
    r = run(pulumi_mocks, {**S3_STACK, "aws:region": "cn-north-1", "irsa:serviceAccounts": json.dumps(accounts)})
    documents = [p.inputs["policy"] for p in r.of_type("aws:iam/rolePolicy:RolePolicy")]
    assert len(documents) == 3
    arns = [a for d in documents for a in re.findall(r'"(arn:[^"]*)"', d)]
    assert arns and all(a.startswith("arn:aws-cn:") for a in arns), [a for a in arns if "aws-cn" not in a]
    provider = r.one("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    assert provider.inputs["url"] == "https://example-oidc-issuer.s3.cn-north-1.amazonaws.com.cn"
