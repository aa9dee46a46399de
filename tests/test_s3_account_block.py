"""Account-level S3 Block Public Access: an s3 issuer stops at preview with the fix, before
PutBucketPolicy would fail with AccessDenied; an account that cannot be read is explained."""

from __future__ import annotations

import grpc
import pulumi
import pytest
from test_program import DEV, run

import conftest
from irsa import s3

S3_STACK = {**DEV, "irsa:issuerHost": "s3", "irsa:issuerBucket": "example-oidc-issuer"}
BLOCKED = {**conftest.ACCOUNT_BLOCK, "blockPublicPolicy": True, "restrictPublicBuckets": True}


@pytest.mark.parametrize("policy, restrict, named", [
    (True, False, "BlockPublicPolicy"), (False, True, "RestrictPublicBuckets"),
    (True, True, "BlockPublicPolicy and RestrictPublicBuckets"), (False, False, None)])
def test_which_settings_stop_a_public_issuer(policy, restrict, named):
    problem = s3.account_block_problem(policy, restrict, "111122223333")
    if named is None:
        assert problem is None
        return
    assert f"account 111122223333 has S3 Block Public Access {named} on" in problem
    assert "aws s3control put-public-access-block --account-id 111122223333" in problem
    assert "BlockPublicPolicy=false,RestrictPublicBuckets=false" in problem


def test_a_blocked_account_stops_the_s3_issuer_before_any_policy(pulumi_mocks, monkeypatch):
    monkeypatch.setattr(conftest, "ACCOUNT_BLOCK", BLOCKED)
    with pytest.raises(Exception) as raised:
        run(pulumi_mocks, S3_STACK)
    assert "S3 Block Public Access BlockPublicPolicy and RestrictPublicBuckets on" in str(raised.value)
    assert not pulumi_mocks.of_type("aws:s3/bucketPolicy:BucketPolicy")


def test_cloudfront_needs_no_public_bucket_and_is_not_stopped(pulumi_mocks, monkeypatch):
    monkeypatch.setattr(conftest, "ACCOUNT_BLOCK", BLOCKED)
    run(pulumi_mocks, {**DEV, "irsa:issuerHost": "cloudfront"})
    assert pulumi_mocks.of_type("aws:cloudfront/distribution:Distribution")


@pytest.mark.parametrize("details, explained", [
    ("reading S3 Account Public Access Block: AccessDenied: not authorized to perform "
     "s3:GetAccountPublicAccessBlock", True),
    # Never configured: nothing blocks, nothing to say.
    ("reading S3 Account Public Access Block (111122223333): NoSuchPublicAccessBlockConfiguration", False),
    ("reading S3 Account Public Access Block (111122223333): couldn't find resource", False),
])
def test_an_unreadable_setting_is_explained_not_fatal(pulumi_mocks, monkeypatch, details, explained):
    said = []
    monkeypatch.setattr(pulumi.log, "info", lambda message, resource=None, **_: said.append(message))
    original = conftest.IrsaMocks.call

    class ProviderError(grpc.RpcError):
        """How the engine hands the program a data source's failure."""

        def code(self):
            return grpc.StatusCode.UNKNOWN

        def details(self):
            return details

    def call(self, args):
        if args.token == "aws:s3/getAccountPublicAccessBlock:getAccountPublicAccessBlock":
            raise ProviderError()
        return original(self, args)

    monkeypatch.setattr(conftest.IrsaMocks, "call", call)
    run(pulumi_mocks, S3_STACK)
    assert pulumi_mocks.of_type("aws:s3/bucketPolicy:BucketPolicy")
    assert any("could not read the account's S3 Block Public Access settings" in m and "AccessDenied" in m
               for m in said) is explained, said
