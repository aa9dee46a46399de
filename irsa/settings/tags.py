"""irsa:tags: the tags on every AWS resource the program creates, under IAM's tag rules
and, for an S3 or CloudFront issuer, S3's per-object limit."""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Mapping
from typing import Any

from irsa import iam_names
from irsa.settings.issuer import IssuerSettings
from irsa.settings.problems import _Problems

# IAM's own limit (botocore's model of IAM: tagListType).
MAX_TAGS = 50

# Tag keys the program sets itself on roles; a user tag may not take them.
PROGRAM_TAG_KEYS = (iam_names.NAMESPACE_TAG, iam_names.SERVICE_ACCOUNT_TAG)

# S3 allows 10 tags per object; each issuer document carries its own irsa/document tag.
MAX_OBJECT_TAGS = 10


def _tag_text_ok(text: str) -> bool:
    """IAM's tag pattern [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]: letters, separators, numbers, _.:/=+-@."""
    return all(unicodedata.category(c)[0] in "LZN" or c in "_.:/=+-@" for c in text)


def _tags(tags: dict[str, Any] | None, p: _Problems) -> dict[str, str]:
    """irsa:tags under IAM's tag rules (botocore: tagKeyType, tagValueType, tagListType)."""
    if not tags:
        return {}
    limit = MAX_TAGS - len(PROGRAM_TAG_KEYS)
    p.check(len(tags) <= limit,
            f"irsa:tags may hold at most {limit} tags (IAM allows {MAX_TAGS} per resource and "
            f"the program sets {len(PROGRAM_TAG_KEYS)}), got {len(tags)}")
    for key, value in tags.items():
        if not (1 <= len(key) <= 128 and _tag_text_ok(key)):
            p.add(f"irsa:tags key {key!r} must be 1 to 128 letters, digits, spaces or _.:/=+-@")
        elif key.lower().startswith("aws:"):
            p.add(f"irsa:tags key {key!r}: the aws: prefix is reserved for AWS")
        elif key in PROGRAM_TAG_KEYS:
            p.add(f"irsa:tags key {key!r} is set by the program itself")
        if not isinstance(value, str):
            p.add(f"irsa:tags value of {key!r} must be a string, got {json.dumps(value)}")
        elif not (len(value) <= 256 and _tag_text_ok(value)):
            p.add(f"irsa:tags value of {key!r} must be at most 256 letters, digits, spaces "
                  f"or _.:/=+-@, got {value!r}")
    return {k: v for k, v in tags.items() if isinstance(v, str)}


def _store_tags(tags: Mapping[str, str], issuer: IssuerSettings, p: _Problems) -> None:
    """irsa:tags also go on the S3 objects of an s3 or cloudfront issuer."""
    buckets = [h for h in issuer.hosts if h in ("s3", "cloudfront")]
    limit = MAX_OBJECT_TAGS - 1
    if buckets:
        p.check(len(tags) <= limit,
                f"irsa:tags may hold at most {limit} tags with a {buckets[0]} issuer: S3 allows "
                f"{MAX_OBJECT_TAGS} per object and the issuer documents carry irsa/document; "
                f"got {len(tags)}")
