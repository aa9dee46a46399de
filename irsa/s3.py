"""Pure rules for an issuer stored in S3: bucket names, object keys, headers, bucket policies.

No Pulumi here: ``irsa.components.s3_store`` turns these into resources, the
tests feed the same documents to moto, and ``irsa verify`` reads the same keys.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from irsa import oidc

POLICY_VERSION = "2012-10-17"
# Every published document is JSON; raw.githubusercontent.com serves text/plain.
CONTENT_TYPE = "application/json"
# Short, so a rotated JWKS reaches STS (and CloudFront) within a minute.
CACHE_CONTROL = "public, max-age=60"
CACHE_MAX_AGE_SECONDS = 60
# AWS's managed cache policy "Managed-CachingOptimized": honours the origin's
# Cache-Control (min TTL 1 s), so CACHE_CONTROL above bounds CloudFront's cache too.
# The ID is fixed by AWS (CloudFront developer guide, "Use managed cache policies").
CACHING_OPTIMIZED_POLICY_ID = "658327ea-f89d-4fab-a63d-7e88639e58f6"
CLOUDFRONT_SERVICE = "cloudfront.amazonaws.com"
# ACM certificates for CloudFront must be requested in us-east-1.
CLOUDFRONT_CERTIFICATE_REGION = "us-east-1"

# General purpose bucket naming rules (S3 user guide, "Bucket naming rules"),
# minus dots: a dotted name breaks the *.s3.REGION.amazonaws.com wildcard
# certificate of virtual-hosted HTTPS URLs. botocore's BucketName shape has no pattern.
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", "--x-s3", "--table-s3", ".mrap")
_REGION = re.compile(r"^[a-z]{2}(?:-[a-z]+)+-\d$")
# One issuer path segment: what survives URLs, S3 keys and GitHub paths unescaped.
_PATH_SEGMENT = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,62}[A-Za-z0-9])?$")
MAX_PATH_LENGTH = 128


class BucketNameError(ValueError):
    """A bucket name S3 would refuse, or one unusable for a virtual-hosted HTTPS issuer."""


def bucket_name_hint(text: str) -> str | None:
    """For a bucket's ARN or URL where its name belongs: the advice to give the name."""
    found = re.fullmatch(r"(?:arn:aws(?:-[a-z]+)*:s3:::|s3://)([^/]+)/?(.*)", text)
    if not found:
        return None
    return f"that is the bucket's {'ARN' if text.startswith('arn:') else 'URL'}: give its name, {found.group(1)}"


def check_bucket_name(name: str) -> str:
    """Return ``name`` if it is a usable issuer bucket; raise ``BucketNameError`` saying why."""
    hint = bucket_name_hint(name)
    if hint:
        raise BucketNameError(f"bucket name {name!r}: {hint}")
    if "." in name:
        raise BucketNameError(
            f"bucket name {name!r} contains a dot: S3's certificate for "
            "BUCKET.s3.REGION.amazonaws.com covers one label only, so HTTPS would fail")
    if not _BUCKET.match(name):
        raise BucketNameError(
            f"bucket name {name!r} must be 3 to 63 lowercase letters, digits and hyphens, "
            "starting and ending with a letter or digit")
    if name.startswith(_RESERVED_PREFIXES) or name.endswith(_RESERVED_SUFFIXES):
        raise BucketNameError(f"bucket name {name!r} starts or ends with a prefix or suffix S3 reserves")
    return name


def is_region_name(region: str) -> bool:
    """Whether ``region`` has the shape of an AWS region name."""
    return bool(_REGION.match(region))


def check_region(region: str) -> str:
    """Return ``region`` if it looks like an AWS region name (``ap-northeast-1``)."""
    if not _REGION.match(region):
        raise ValueError(f"{region!r} is not an AWS region name such as ap-northeast-1")
    return region


def derived_bucket_name(account_id: str, project: str, stack: str) -> str:
    """The bucket used when ``irsa:issuerBucket`` is unset: unique per account and stack.

    ``irsa-oidc-ACCOUNT-HASH``: bucket names are global, the account id keeps
    them apart between accounts, the hash of project and stack within one.
    """
    digest = hashlib.sha256(f"{project}/{stack}".encode()).hexdigest()[:8]
    return check_bucket_name(f"irsa-oidc-{account_id}-{digest}")


def check_issuer_path(path: str) -> str:
    """Return ``path`` if it is a usable issuer path: ``""`` or segments joined by ``/``."""
    if path == "":
        return path
    segments = path.split("/")
    if len(path) > MAX_PATH_LENGTH or not all(_PATH_SEGMENT.match(s) for s in segments):
        raise ValueError(
            f"{path!r} must be segments of letters, digits, '.', '_' and '-' joined by single "
            f"'/', each starting and ending with a letter or digit, no leading or trailing "
            f"'/', at most {MAX_PATH_LENGTH} characters")
    if any(s in (".well-known",) for s in segments) or path.endswith("jwks.json"):
        raise ValueError(f"{path!r} must not name the documents themselves")
    return path


def document_keys(path: str) -> tuple[str, str]:
    """The object keys of the discovery document and the JWKS under ``path``."""
    return (oidc.document_key(path, oidc.DISCOVERY_PATH), oidc.document_key(path, oidc.JWKS_PATH))


def readable_keys(path: str) -> tuple[str, ...]:
    """The keys (S3 ARN resource patterns) a bucket policy makes readable.

    Without a path: exactly the two documents at the root. With a path the
    bucket is meant to be shared (``irsa:issuerPath``): the two document names
    under any path, so every stack's documents are readable and nothing else.
    """
    if not path:
        return document_keys("")
    return tuple(f"*{suffix}" for suffix in (oidc.DISCOVERY_PATH, oidc.JWKS_PATH))


def object_arn(partition: str, bucket: str, key: str) -> str:
    """The ARN of an object (or key pattern) in a bucket."""
    return f"arn:{partition}:s3:::{bucket}/{key}"


def public_read_policy(bucket: str, path: str, partition: str = "aws") -> dict[str, Any]:
    """Anonymous ``s3:GetObject`` on the issuer documents and nothing else.

    A bucket policy, not an ACL: buckets created since April 2023 have ACLs
    disabled (``BucketOwnerEnforced``), so ``public-read`` fails.
    """
    return {
        "Version": POLICY_VERSION,
        "Statement": [{
            "Sid": "PublicReadOfOidcIssuerDocuments",
            "Effect": "Allow",
            "Principal": "*",
            "Action": "s3:GetObject",
            "Resource": [object_arn(partition, bucket, k) for k in readable_keys(path)],
        }],
    }


def cloudfront_read_policy(bucket: str, path: str, distribution_arn: Any,
                           partition: str = "aws") -> dict[str, Any]:
    """Only the given CloudFront distribution (through origin access control) reads the documents.

    The ``AWS:SourceArn`` condition ties the service principal to one
    distribution: without it, any CloudFront distribution of any account could
    be pointed at the bucket.
    """
    return {
        "Version": POLICY_VERSION,
        "Statement": [{
            "Sid": "CloudFrontReadsOidcIssuerDocuments",
            "Effect": "Allow",
            "Principal": {"Service": CLOUDFRONT_SERVICE},
            "Action": "s3:GetObject",
            "Resource": [object_arn(partition, bucket, k) for k in readable_keys(path)],
            "Condition": {"StringEquals": {"AWS:SourceArn": distribution_arn}},
        }],
    }


def account_block_problem(block_public_policy: bool, restrict_public_buckets: bool, account: str) -> str | None:
    """Why the account's S3 Block Public Access stops an ``s3`` issuer, with the fix; None if it does not.

    BlockPublicPolicy makes PutBucketPolicy of a public policy fail (AccessDenied);
    RestrictPublicBuckets keeps anonymous readers out even when the policy is in place.
    """
    on = [name for name, value in (("BlockPublicPolicy", block_public_policy),
                                   ("RestrictPublicBuckets", restrict_public_buckets)) if value]
    if not on:
        return None
    return (f"account {account} has S3 Block Public Access {' and '.join(on)} on, so the s3 issuer's "
            "public-read bucket policy would be refused (AccessDenied) or not honoured. Use "
            "irsa:issuerHost cloudfront (no public bucket), or allow public bucket policies for the "
            f"account: aws s3control put-public-access-block --account-id {account} "
            "--public-access-block-configuration BlockPublicAcls=true,IgnorePublicAcls=true,"
            "BlockPublicPolicy=false,RestrictPublicBuckets=false")


ACCOUNT_BLOCK_UNKNOWN = (
    "could not read the account's S3 Block Public Access settings ({reason}); if putting the issuer "
    "bucket's policy fails with AccessDenied, account-level BlockPublicPolicy is the likely cause: "
    "see docs/issuer-hosting.md (s3) for the fix")


def host_kind(issuer_url: str) -> str:
    """``github``, ``s3`` or ``cloudfront`` (any other https host) for an issuer URL."""
    host = issuer_url.removeprefix("https://").split("/", 1)[0]
    if host == oidc.GITHUB_RAW_HOST:
        return "github"
    if re.fullmatch(r"[a-z0-9-]+\.s3\.[a-z0-9-]+\.amazonaws\.com(?:\.cn)?", host):
        return "s3"
    return "cloudfront"
