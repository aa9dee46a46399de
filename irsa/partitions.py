"""AWS partitions: which one a region is in, the name its ARNs carry, the DNS suffix of its endpoints.

Pure. The table follows botocore's ``data/partitions.json`` (a test compares
them): ``arn:aws-cn:`` and ``amazonaws.com.cn`` for the China regions,
``arn:aws-us-gov:`` for GovCloud. The isolated partitions (aws-iso*, aws-eusc)
are refused: nothing here has been tried there, and their endpoints and
services differ in ways this program does not model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Partition:
    """One partition: its ARN name, its endpoints' DNS suffix, and what it lacks."""

    name: str
    dns_suffix: str
    # Issuer hosts (irsa:issuerHost) this program cannot build there, with the reason.
    unsupported_issuer_hosts: tuple[tuple[str, str], ...] = ()


AWS = Partition("aws", "amazonaws.com")
SUPPORTED = (
    (re.compile(r"(us|eu|ap|sa|ca|me|af|il|mx)-\w+-\d+"), AWS),
    (re.compile(r"cn-\w+-\d+"), Partition("aws-cn", "amazonaws.com.cn", (
        ("cloudfront", "CloudFront in the China regions is a separate service (an ICP-licensed "
                       "domain, no ACM certificate in us-east-1) that this program does not set up"),))),
    (re.compile(r"us-gov-\w+-\d+"), Partition("aws-us-gov", "amazonaws.com", (
        ("cloudfront", "CloudFront is not offered in AWS GovCloud (US)"),))),
)
# Regions of partitions that exist but are not supported: refused by name.
REFUSED = (
    (re.compile(r"us-iso-\w+-\d+"), "aws-iso"),
    (re.compile(r"us-isob-\w+-\d+"), "aws-iso-b"),
    (re.compile(r"eu-isoe-\w+-\d+"), "aws-iso-e"),
    (re.compile(r"us-isof-\w+-\d+"), "aws-iso-f"),
    (re.compile(r"eusc-de-\w+-\d+"), "aws-eusc"),
)


class UnsupportedPartitionError(ValueError):
    """A region of a partition this program does not support, or no region at all."""


def of_region(region: str) -> Partition:
    """The partition of ``region``; raises ``UnsupportedPartitionError`` naming it when unsupported."""
    for pattern, name in REFUSED:
        if pattern.fullmatch(region):
            raise UnsupportedPartitionError(
                f"{region} is in the {name} partition, which this program does not support "
                "(aws, aws-cn and aws-us-gov are)")
    for pattern, partition in SUPPORTED:
        if pattern.fullmatch(region):
            return partition
    raise UnsupportedPartitionError(f"{region!r} is not a region of the aws, aws-cn or aws-us-gov partitions")


def issuer_host_problem(partition: Partition, host: str) -> str | None:
    """Why ``host`` cannot publish the issuer in this partition, or None."""
    return dict(partition.unsupported_issuer_hosts).get(host)


def dns_suffix(region: str) -> str:
    """The endpoints' DNS suffix for ``region``; ``amazonaws.com`` when the region is not
    supported (the settings report that region by itself, naming aws:region)."""
    try:
        return of_region(region).dns_suffix
    except UnsupportedPartitionError:
        return AWS.dns_suffix
