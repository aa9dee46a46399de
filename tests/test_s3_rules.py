"""irsa.s3 called directly: bucket names, regions, paths, keys, policies, hosts (fast, in process).

These are what mutmut's per-test coverage selects for ``irsa/s3.py``; the
Pulumi-program and moto tests reach the same functions only through the program.
"""

from __future__ import annotations

import hashlib

import pytest

from irsa import s3

ACCOUNT = "111122223333"
DISTRIBUTION = "arn:aws:cloudfront::111122223333:distribution/E2EXAMPLE"


def test_constants_the_store_and_cloudfront_rely_on():
    assert s3.CONTENT_TYPE == "application/json"
    assert s3.CACHE_CONTROL == "public, max-age=60" and s3.CACHE_MAX_AGE_SECONDS == 60
    assert s3.CACHING_OPTIMIZED_POLICY_ID == "658327ea-f89d-4fab-a63d-7e88639e58f6"
    assert s3.CLOUDFRONT_SERVICE == "cloudfront.amazonaws.com"
    assert s3.CLOUDFRONT_CERTIFICATE_REGION == "us-east-1"
    assert s3.MAX_PATH_LENGTH == 128


@pytest.mark.parametrize("name", ["abc", "a" * 63, "my-issuer-1", "0bucket9", "a-b"])
def test_usable_bucket_names_are_returned_unchanged(name):
    assert s3.check_bucket_name(name) == name


@pytest.mark.parametrize("name, message", [
    ("my.bucket", "bucket name 'my.bucket' contains a dot: S3's certificate for "
                  "BUCKET.s3.REGION.amazonaws.com covers one label only, so HTTPS would fail"),
    ("ab", "bucket name 'ab' must be 3 to 63 lowercase letters, digits and hyphens, "
           "starting and ending with a letter or digit"),
    ("a" * 64, None), ("Abc", None), ("-abc", None), ("abc-", None), ("a_bc", None), ("", None),
    ("xn--abc", "bucket name 'xn--abc' starts or ends with a prefix or suffix S3 reserves"),
    ("sthree-abc", "reserves"), ("amzn-s3-demo-abc", "reserves"),
    ("abc-s3alias", "reserves"), ("abc--ol-s3", "reserves"), ("abc--x-s3", "reserves"),
    ("abc--table-s3", "reserves"),
    ("arn:aws:s3:::my-bucket", "bucket name 'arn:aws:s3:::my-bucket': that is the bucket's ARN: "
                               "give its name, my-bucket"),
    ("s3://my-bucket/path", "bucket name 's3://my-bucket/path': that is the bucket's URL: "
                            "give its name, my-bucket"),
])
def test_unusable_bucket_names_are_refused_saying_why(name, message):
    with pytest.raises(s3.BucketNameError) as raised:
        s3.check_bucket_name(name)
    if message is None:
        assert str(raised.value) == (f"bucket name {name!r} must be 3 to 63 lowercase letters, digits "
                                     "and hyphens, starting and ending with a letter or digit")
    elif message == "reserves":
        assert str(raised.value) == f"bucket name {name!r} starts or ends with a prefix or suffix S3 reserves"
    else:
        assert str(raised.value) == message


def test_a_bucket_error_is_a_value_error():
    assert issubclass(s3.BucketNameError, ValueError)


@pytest.mark.parametrize("text, hint", [
    ("arn:aws:s3:::b1", "that is the bucket's ARN: give its name, b1"),
    ("arn:aws-cn:s3:::b1/", "that is the bucket's ARN: give its name, b1"),
    ("arn:aws-us-gov:s3:::b1/k/x", "that is the bucket's ARN: give its name, b1"),
    ("s3://b1", "that is the bucket's URL: give its name, b1"),
    ("s3://b1/a/b", "that is the bucket's URL: give its name, b1"),
    ("b1", None), ("arn:aws:iam::1:role/x", None), ("https://b1.s3.amazonaws.com", None),
    ("xs3://b1", None), ("s3://", None),
])
def test_bucket_name_hint(text, hint):
    assert s3.bucket_name_hint(text) == hint


@pytest.mark.parametrize("region, ok", [
    ("ap-northeast-1", True), ("us-east-1", True), ("us-gov-west-1", True), ("cn-north-1", True),
    ("us-east", False), ("useast-1", False), ("US-east-1", False), ("us-east-12", False),
    ("u-east-1", False), ("us-east-1 ", False), (" us-east-1", False), ("", False), ("us--1", False),
])
def test_region_names(region, ok):
    assert s3.is_region_name(region) is ok
    if ok:
        assert s3.check_region(region) == region
    else:
        with pytest.raises(ValueError) as raised:
            s3.check_region(region)
        assert str(raised.value) == f"{region!r} is not an AWS region name such as ap-northeast-1"


def test_derived_bucket_name_is_account_and_eight_hex_digits_of_project_slash_stack():
    digest = hashlib.sha256(b"irsa/dev").hexdigest()[:8]
    assert s3.derived_bucket_name(ACCOUNT, "irsa", "dev") == f"irsa-oidc-{ACCOUNT}-{digest}"
    assert s3.derived_bucket_name(ACCOUNT, "a-b", "c") != s3.derived_bucket_name(ACCOUNT, "a", "b-c")


@pytest.mark.parametrize("path", ["", "a", "a/b", "team.x/cluster_1", "A" * 64, "a/" * 63 + "ab",
                                  "a-b/c.d/e_f", "0"])
def test_usable_issuer_paths(path):
    assert s3.check_issuer_path(path) == path


SHAPE = ("must be segments of letters, digits, '.', '_' and '-' joined by single '/', each starting "
         "and ending with a letter or digit, no leading or trailing '/', at most 128 characters")


@pytest.mark.parametrize("path", ["/a", "a/", "a//b", "-a", "a-", ".a", "a.", "a b", "a/~b", "A" * 65,
                                  "a/" * 64 + "a", "é", "/"])
def test_issuer_paths_of_the_wrong_shape(path):
    with pytest.raises(ValueError) as raised:
        s3.check_issuer_path(path)
    assert str(raised.value) == f"{path!r} {SHAPE}"


def test_the_longest_path_is_128_characters():
    path = ("a" * 63 + "/") * 2
    path = path[:128].rstrip("/")
    assert len("a/" * 63 + "ab") == 128
    assert s3.check_issuer_path("a/" * 63 + "ab") == "a/" * 63 + "ab"
    with pytest.raises(ValueError):
        s3.check_issuer_path("a/" * 63 + "abc")
    assert s3.check_issuer_path(path) == path


@pytest.mark.parametrize("path", ["a/jwks.json", "jwks.json", "ajwks.json", "a/b/xjwks.json"])
def test_issuer_paths_that_name_the_documents(path):
    with pytest.raises(ValueError) as raised:
        s3.check_issuer_path(path)
    assert str(raised.value) == f"{path!r} must not name the documents themselves"


@pytest.mark.parametrize("path", ["x/.well-known", ".well-known/a", ".well-known"])
def test_a_well_known_segment_already_fails_the_shape(path):
    # A segment must start with a letter or digit, so ".well-known" never reaches the
    # documents check: that check only restates it.
    with pytest.raises(ValueError) as raised:
        s3.check_issuer_path(path)
    assert str(raised.value) == f"{path!r} {SHAPE}"


def test_well_known_inside_a_segment_is_a_segment_like_any():
    assert s3.check_issuer_path("a/x.well-known") == "a/x.well-known"
    assert s3.check_issuer_path("a/jwks.jsonx") == "a/jwks.jsonx"


def test_document_keys():
    assert s3.document_keys("") == (".well-known/openid-configuration", "jwks.json")
    assert s3.document_keys("a/b") == ("a/b/.well-known/openid-configuration", "a/b/jwks.json")


def test_readable_keys():
    assert s3.readable_keys("") == (".well-known/openid-configuration", "jwks.json")
    assert s3.readable_keys("a/b") == ("*/.well-known/openid-configuration", "*/jwks.json")


def test_object_arn():
    assert s3.object_arn("aws-cn", "b1", "k/x") == "arn:aws-cn:s3:::b1/k/x"


def test_public_read_policy_reads_the_two_documents_and_nothing_else():
    assert s3.public_read_policy("b1", "") == {
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "PublicReadOfOidcIssuerDocuments",
            "Effect": "Allow",
            "Principal": "*",
            "Action": "s3:GetObject",
            "Resource": ["arn:aws:s3:::b1/.well-known/openid-configuration", "arn:aws:s3:::b1/jwks.json"],
        }],
    }
    shared = s3.public_read_policy("b1", "c/d", partition="aws-cn")
    assert shared["Statement"][0]["Resource"] == [
        "arn:aws-cn:s3:::b1/*/.well-known/openid-configuration", "arn:aws-cn:s3:::b1/*/jwks.json"]


def test_cloudfront_read_policy_is_for_one_distribution():
    assert s3.cloudfront_read_policy("b1", "", DISTRIBUTION) == {
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "CloudFrontReadsOidcIssuerDocuments",
            "Effect": "Allow",
            "Principal": {"Service": "cloudfront.amazonaws.com"},
            "Action": "s3:GetObject",
            "Resource": ["arn:aws:s3:::b1/.well-known/openid-configuration", "arn:aws:s3:::b1/jwks.json"],
            "Condition": {"StringEquals": {"AWS:SourceArn": DISTRIBUTION}},
        }],
    }
    shared = s3.cloudfront_read_policy("b1", "p", DISTRIBUTION, partition="aws-us-gov")
    assert shared["Statement"][0]["Resource"] == [
        "arn:aws-us-gov:s3:::b1/*/.well-known/openid-configuration", "arn:aws-us-gov:s3:::b1/*/jwks.json"]


FIX = ("so the s3 issuer's public-read bucket policy would be refused (AccessDenied) or not honoured. "
       "Use irsa:issuerHost cloudfront (no public bucket), or allow public bucket policies for the "
       f"account: aws s3control put-public-access-block --account-id {ACCOUNT} "
       "--public-access-block-configuration BlockPublicAcls=true,IgnorePublicAcls=true,"
       "BlockPublicPolicy=false,RestrictPublicBuckets=false")


@pytest.mark.parametrize("policy, restrict, named", [
    (True, False, "BlockPublicPolicy"), (False, True, "RestrictPublicBuckets"),
    (True, True, "BlockPublicPolicy and RestrictPublicBuckets")])
def test_account_block_problem_exact(policy, restrict, named):
    assert (s3.account_block_problem(policy, restrict, ACCOUNT)
            == f"account {ACCOUNT} has S3 Block Public Access {named} on, {FIX}")


def test_an_open_account_is_no_problem():
    assert s3.account_block_problem(False, False, ACCOUNT) is None


def test_unknown_account_block_text():
    assert s3.ACCOUNT_BLOCK_UNKNOWN.format(reason="AccessDenied") == (
        "could not read the account's S3 Block Public Access settings (AccessDenied); if putting the "
        "issuer bucket's policy fails with AccessDenied, account-level BlockPublicPolicy is the likely "
        "cause: see docs/issuer-hosting.md (s3) for the fix")


@pytest.mark.parametrize("url, kind", [
    ("https://raw.githubusercontent.com/o/r/main/p", "github"),
    ("https://raw.githubusercontent.com", "github"),
    ("https://b1.s3.us-east-1.amazonaws.com", "s3"),
    ("https://b1.s3.us-east-1.amazonaws.com/p/q", "s3"),
    ("https://b1.s3.cn-north-1.amazonaws.com.cn/p", "s3"),
    ("https://d111.cloudfront.net/p", "cloudfront"),
    ("https://issuer.example.com", "cloudfront"),
    ("https://b1.s3.us-east-1.amazonaws.com.evil.com", "cloudfront"),
    ("https://x.b1.s3.us-east-1.amazonaws.com", "cloudfront"),
    ("https://B1.s3.us-east-1.amazonaws.com", "cloudfront"),
    ("https://raw.githubusercontent.com.example.com/x", "cloudfront"),
])
def test_host_kind(url, kind):
    assert s3.host_kind(url) == kind
