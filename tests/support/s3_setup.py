"""The S3 issuer store, as the program declares it, created in moto with boto3.

``declared`` runs the real ``__main__.py`` under the Pulumi mocks and returns the
recorded inputs of its S3 resources; ``build`` makes exactly those through the
S3 API (boto3 validates each call against botocore's S3 model).
"""

from __future__ import annotations

import os
import runpy
from pathlib import Path
from typing import Any

from pulumi.runtime import config as runtime_config

ROOT = Path(__file__).resolve().parents[2]


def run_program_keeping_globals(config: dict[str, str]) -> dict[str, Any]:
    """``conftest.run_program``, returning the program's globals (its components)."""
    runtime_config.set_all_config(config, [])
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        return runpy.run_path(str(ROOT / "__main__.py"), run_name="__main__")
    finally:
        os.chdir(cwd)


def declared(pulumi_mocks, config) -> dict[str, list]:
    """The S3 resources' recorded inputs, by type."""
    return declared_with_signing_key(pulumi_mocks, config)[0]


def declared_with_signing_key(pulumi_mocks, config) -> tuple[dict[str, list], str]:
    """``declared``, and the PEM of the signing key whose public half the JWKS holds."""
    resolved = pulumi_mocks.run(lambda: {
        "key": run_program_keeping_globals(config)["issuer"].signing_private_key_pem})
    found: dict[str, list] = {}
    for r in pulumi_mocks.registrations:
        if r.type.startswith("aws:s3/"):
            found.setdefault(r.type.split(":")[-1], []).append(r.inputs)
    return found, resolved["key"].value


def build(s3, resources: dict[str, list]) -> None:
    """Create in S3 exactly what the graph declares, in the graph's order."""
    bucket, = resources["Bucket"]
    name = bucket["bucket"]
    s3.create_bucket(Bucket=name)
    ownership, = resources["BucketOwnershipControls"]
    s3.put_bucket_ownership_controls(Bucket=name, OwnershipControls={
        "Rules": [{"ObjectOwnership": ownership["rule"]["objectOwnership"]}]})
    block, = resources["BucketPublicAccessBlock"]
    s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration={
        "BlockPublicAcls": block["blockPublicAcls"], "IgnorePublicAcls": block["ignorePublicAcls"],
        "BlockPublicPolicy": block["blockPublicPolicy"],
        "RestrictPublicBuckets": block["restrictPublicBuckets"]})
    versioning, = resources["BucketVersioning"]
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={
        "Status": versioning["versioningConfiguration"]["status"]})
    encryption, = resources["BucketServerSideEncryptionConfiguration"]
    rule = encryption["rules"][0]["applyServerSideEncryptionByDefault"]
    s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={
        "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": rule["sseAlgorithm"]}}]})
    policy, = resources["BucketPolicy"]
    s3.put_bucket_policy(Bucket=name, Policy=policy["policy"])
    for obj in resources["BucketObjectv2"]:
        s3.put_object(Bucket=obj["bucket"], Key=obj["key"], Body=obj["content"].encode(),
                      ContentType=obj["contentType"], CacheControl=obj["cacheControl"])
