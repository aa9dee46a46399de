"""irsa:tags on every taggable AWS resource, in every configuration (issue 25).

Which resource types take ``tags`` is read from the pulumi-aws SDK itself (the
resource class's constructor), not listed here, so a type added to the program
later is held to the same rule without anyone remembering it is taggable.
"""

from __future__ import annotations

import importlib
import inspect
import json

import pytest

from conftest import ROOT, run_program, stack_file_config
from test_accounts import TWO
from test_wiring import BUCKETS, EVERYTHING

DEV = stack_file_config(ROOT / "Pulumi.dev.yaml")
TAGS = {"team": "platform", "cost-centre": "k8s:42"}
DATA_ROLE = "arn:aws:iam::222222222222:role/irsa-deployer"

CONFIGS = {
    "example-stack": DEV,
    "every-option": EVERYTHING,
    "cloudfront-from-s3": BUCKETS,
    "s3-from-github": {**DEV, "irsa:issuerHost": "s3", "irsa:previousIssuerHosts": '["github"]'},
    "cloudfront-derived": {**DEV, "irsa:issuerHost": "cloudfront"},
    "shared-bucket": {**DEV, "irsa:issuerHost": "s3", "irsa:issuerBucket": "shared-oidc",
                      "irsa:createBucket": "false", "irsa:issuerPath": "clusters/dev"},
    "two-accounts": TWO,
    "two-accounts-issuer-in-data": {**TWO, "irsa:issuerHost": "cloudfront", "irsa:issuerAccount": "data",
                                    "irsa:issuerDomain": "oidc.example.com",
                                    "irsa:previousIssuerHosts": '["s3", "github"]'},
}


def resource_class(type_token: str) -> type:
    """The pulumi-aws class of a type token: aws:s3/bucketObjectv2:BucketObjectv2 → pulumi_aws.s3.BucketObjectv2."""
    package, module_path, name = type_token.split(":")
    module = module_path.split("/")[0]
    found = importlib.import_module("pulumi_aws" if module == "index" else f"pulumi_aws.{module}")
    return getattr(found, name)


def takes_tags(type_token: str) -> bool:
    return "tags" in inspect.signature(resource_class(type_token)._internal_init).parameters


def test_the_sdk_says_which_types_take_tags():
    """The lookup is live: it finds tags where the SDK has them and not where it has none."""
    assert takes_tags("aws:s3/bucket:Bucket")
    assert takes_tags("aws:s3/bucketObjectv2:BucketObjectv2")
    assert takes_tags("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    assert not takes_tags("aws:s3/bucketPolicy:BucketPolicy")
    assert not takes_tags("aws:iam/rolePolicy:RolePolicy")
    with pytest.raises(AttributeError):
        takes_tags("aws:s3/noSuchThing:NoSuchThing")


@pytest.mark.parametrize("name", list(CONFIGS))
def test_every_taggable_aws_resource_carries_the_stacks_tags(pulumi_mocks, name):
    config = {**CONFIGS[name], "irsa:tags": json.dumps(TAGS)}
    pulumi_mocks.run(lambda: run_program(config))
    aws = [reg for reg in pulumi_mocks.registrations if reg.custom and reg.type.startswith("aws:")]
    taggable = [reg for reg in aws if takes_tags(reg.type)]
    assert taggable, "the configuration makes taggable resources"
    for reg in taggable:
        tags = reg.inputs.get("tags") or {}
        assert TAGS.items() <= tags.items(), f"{reg.type} {reg.name} has tags {tags}"
    # Each assumed account's provider tags whatever else is made through it.
    for provider in pulumi_mocks.of_type("pulumi:providers:aws"):
        assert json.loads(provider.inputs["defaultTags"]) == {"tags": TAGS}, provider.name


def test_every_type_the_program_makes_was_seen_above(pulumi_mocks):
    """Guard against a vacuous pass: the configurations cover every taggable type the program makes."""
    seen = set()
    for config in CONFIGS.values():
        pulumi_mocks.fresh()
        pulumi_mocks.run(lambda config=config: run_program(config))
        seen |= {reg.type for reg in pulumi_mocks.registrations if reg.type.startswith("aws:")
                 and takes_tags(reg.type)}
    assert seen == {
        "aws:iam/openIdConnectProvider:OpenIdConnectProvider", "aws:iam/role:Role",
        "aws:s3/bucket:Bucket", "aws:s3/bucketObjectv2:BucketObjectv2",
        "aws:cloudfront/distribution:Distribution", "aws:acm/certificate:Certificate",
    }
