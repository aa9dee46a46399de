"""The S3 issuer store as the program declares it, built in moto's S3 on 127.0.0.1.

The bucket, its settings, policy and objects are taken from the resource
graph that __main__.py registers under mocks, and created through the real S3
API (boto3 validates each call against botocore's S3 model). Then anonymous,
unsigned GETs: the two documents are readable, any other key is not.

What moto does: it evaluates a bucket policy's ``Principal: "*"`` statements
for anonymous GETs (``moto/s3/responses.py``, ``bucket.get_permission``) and
answers 403 without one. What it does not: public access block and object
ownership are stored but not enforced; a ``{"Service": ...}`` principal and
conditions are not checked; anyone may list a bucket; and an unsigned GET of a
path ending in ``/.well-known/openid-configuration`` goes to its Cognito
(``support.moto_server`` routes virtual-hosted S3 names to S3, as AWS does). So the CloudFront policy is judged by
``support.s3_policy`` instead, which is cross-checked against moto on the
public policy.
"""

from __future__ import annotations

import http.client
import json

import pytest
from support import s3_policy
from support.moto_server import REGION, shared_server
from support.s3_setup import build, declared

from conftest import ROOT, stack_file_config

DEV = stack_file_config(ROOT / "Pulumi.dev.yaml")
BUCKET = "example-oidc-issuer"
# moto's server answers in us-east-1; the stack uses the same region.
S3_STACK = {**DEV, "aws:region": REGION, "irsa:issuerHost": "s3", "irsa:issuerBucket": BUCKET}
OTHER_KEYS = ["secret.txt", "jwks.json.bak", ".well-known/other", "a/jwks.json", "JWKS.json",
              ".well-known/openid-configuration/x", "terraform.tfstate"]


@pytest.fixture
def moto():
    server = shared_server()
    server.reset()
    yield server
    server.reset()


def get(server, key: str, bucket: str = BUCKET) -> tuple[int, dict[str, str], bytes]:
    """An anonymous GET the way STS makes it: virtual-hosted name, no signature."""
    host, port = server.endpoint_url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        connection.request("GET", "/" + key, headers={"Host": server.s3_virtual_host(bucket)})
        answer = connection.getresponse()
        return answer.status, {k.lower(): v for k, v in answer.getheaders()}, answer.read()
    finally:
        connection.close()


def status(server, key: str) -> int:
    return get(server, key)[0]


def test_anonymous_reads_the_two_documents_and_nothing_else(pulumi_mocks, moto):
    resources = declared(pulumi_mocks, S3_STACK)
    s3 = moto.client("s3")
    build(s3, resources)
    for key in OTHER_KEYS:
        s3.put_object(Bucket=BUCKET, Key=key, Body=b"not for the public")
    for key in (".well-known/openid-configuration", "jwks.json"):
        code, headers, body = get(moto, key)
        assert code == 200, key
        assert headers["content-type"] == "application/json"
        assert headers["cache-control"] == "public, max-age=60"
        assert json.loads(body)  # JSON, not empty
    discovery = json.loads(get(moto, ".well-known/openid-configuration")[2])
    assert discovery["issuer"] == f"https://{BUCKET}.s3.{REGION}.amazonaws.com"
    assert discovery["jwks_uri"] == f"https://{BUCKET}.s3.{REGION}.amazonaws.com/jwks.json"
    for key in OTHER_KEYS:
        assert status(moto, key) == 403, key
    # Listing: moto lets anyone list a bucket, so the policy is read independently.
    policy = json.loads(resources["BucketPolicy"][0]["policy"])
    assert not s3_policy.allows(policy, "s3:ListBucket", f"arn:aws:s3:::{BUCKET}")
    assert not s3_policy.allows(policy, "s3:PutObject", f"arn:aws:s3:::{BUCKET}/jwks.json")


def test_without_the_policy_nothing_is_readable(pulumi_mocks, moto):
    """The control: moto really consults the policy (reads fail without it)."""
    resources = declared(pulumi_mocks, S3_STACK)
    resources["BucketPolicy"] = [{"policy": json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Principal": "*", "Action": "s3:GetObject",
         "Resource": f"arn:aws:s3:::{BUCKET}/*"}]})}]
    build(moto.client("s3"), resources)
    assert status(moto, "jwks.json") == 403


def test_independent_evaluator_agrees_with_moto_on_the_public_policy(pulumi_mocks, moto):
    resources = declared(pulumi_mocks, S3_STACK)
    build(moto.client("s3"), resources)
    policy = json.loads(resources["BucketPolicy"][0]["policy"])
    s3 = moto.client("s3")
    for key in OTHER_KEYS:
        s3.put_object(Bucket=BUCKET, Key=key, Body=b"{}")
    for key in [*OTHER_KEYS, ".well-known/openid-configuration", "jwks.json"]:
        expected = s3_policy.allows(policy, "s3:GetObject", f"arn:aws:s3:::{BUCKET}/{key}")
        assert (status(moto, key) == 200) == expected, key


def test_cloudfront_policy_admits_only_the_distribution_by_source_arn(pulumi_mocks):
    config = {**DEV, "irsa:issuerHost": "cloudfront", "irsa:issuerBucket": "example-oidc-private"}
    resources = declared(pulumi_mocks, config)
    policy = json.loads(resources["BucketPolicy"][0]["policy"])
    distribution = next(r for r in pulumi_mocks.registrations
                        if r.type == "aws:cloudfront/distribution:Distribution")
    source_arn = "arn:aws:cloudfront::123456789012:distribution/E1MOCKDIST0001"  # the mock's ARN
    assert distribution.name == "issuer-cloudfront-distribution"
    jwks = "arn:aws:s3:::example-oidc-private/jwks.json"
    discovery = "arn:aws:s3:::example-oidc-private/.well-known/openid-configuration"
    service = "cloudfront.amazonaws.com"
    for resource in (jwks, discovery):
        assert s3_policy.allows(policy, "s3:GetObject", resource, caller="service", service=service,
                                context={"aws:SourceArn": source_arn})
        # Anonymous callers, another distribution, or no SourceArn: denied.
        assert not s3_policy.allows(policy, "s3:GetObject", resource)
        assert not s3_policy.allows(policy, "s3:GetObject", resource, caller="service", service=service,
                                    context={"aws:SourceArn": source_arn.replace("E1", "E9")})
        assert not s3_policy.allows(policy, "s3:GetObject", resource, caller="service", service=service)
    assert not s3_policy.allows(policy, "s3:GetObject", "arn:aws:s3:::example-oidc-private/secret.txt",
                                caller="service", service=service, context={"aws:SourceArn": source_arn})
    assert not s3_policy.allows(policy, "s3:PutObject", jwks, caller="service", service=service,
                                context={"aws:SourceArn": source_arn})


def test_evaluator_is_not_vacuous():
    """The evaluator says yes to what AWS allows: a public wildcard and a matching condition."""
    public = {"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:Get*",
                             "Resource": "arn:aws:s3:::b/*"}]}
    assert s3_policy.allows(public, "s3:GetObject", "arn:aws:s3:::b/x/y")
    assert not s3_policy.allows(public, "s3:PutObject", "arn:aws:s3:::b/x")
    denied = {"Statement": [*public["Statement"], {"Effect": "Deny", "Principal": "*",
                                                   "Action": "s3:*", "Resource": "arn:aws:s3:::b/x"}]}
    assert not s3_policy.allows(denied, "s3:GetObject", "arn:aws:s3:::b/x")
    assert s3_policy.allows(denied, "s3:GetObject", "arn:aws:s3:::b/y")
