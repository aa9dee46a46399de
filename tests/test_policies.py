"""The IAM documents of irsa.policies, read back as IAM would read them."""

from __future__ import annotations

import json

import pytest

from irsa import oidc, policies

ISSUER = oidc.github_issuer_url("example-org", "oidc-issuer", "main")
PREFIX = oidc.condition_key_prefix(ISSUER)
PROVIDER_ARN = f"arn:aws:iam::123456789012:oidc-provider/{PREFIX}"
AUDIENCE = "sts.amazonaws.com"


def parsed_trust(namespace: str = "default", name: str = "aws-cli") -> dict:
    return json.loads(json.dumps(policies.trust_policy(PROVIDER_ARN, PREFIX, namespace, name, AUDIENCE)))


def test_trust_policy_is_the_documented_statement():
    assert parsed_trust() == {
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Federated": PROVIDER_ARN},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {
                "raw.githubusercontent.com/example-org/oidc-issuer/refs/heads/main:sub":
                    "system:serviceaccount:default:aws-cli",
                "raw.githubusercontent.com/example-org/oidc-issuer/refs/heads/main:aud": AUDIENCE,
            }},
        }],
    }


def test_condition_keys_are_the_issuer_without_scheme_plus_sub_and_aud():
    (condition,) = parsed_trust()["Statement"][0]["Condition"].values()
    assert sorted(condition) == [f"{PREFIX}:aud", f"{PREFIX}:sub"]
    assert not any(key.startswith("https://") for key in condition)


@pytest.mark.parametrize("namespace, name", [("team-*", "aws-cli"), ("default", "*"), ("*", "*")])
def test_wildcards_switch_to_string_like(namespace, name):
    statement = parsed_trust(namespace, name)["Statement"][0]
    assert list(statement["Condition"]) == ["StringLike"]
    sub = statement["Condition"]["StringLike"][f"{PREFIX}:sub"]
    assert sub == f"system:serviceaccount:{namespace}:{name}"


def test_concrete_service_account_never_uses_string_like():
    assert "StringLike" not in parsed_trust("default", "aws-cli")["Statement"][0]["Condition"]


def test_compact_json_has_no_white_space_between_tokens():
    text = policies.compact_json(parsed_trust())
    assert json.loads(text) == parsed_trust()
    assert not any(c.isspace() for c in text)


def _longest_name_within_limit() -> int:
    """Length of the longest service-account name whose trust policy still fits."""
    base = policies.check_trust_policy_size(PREFIX, "default", "a", AUDIENCE)
    return 1 + policies.TRUST_POLICY_LIMIT - base


def test_size_limit_is_inclusive_at_2048():
    longest = _longest_name_within_limit()
    assert policies.check_trust_policy_size(PREFIX, "default", "a" * longest, AUDIENCE) == 2048
    with pytest.raises(policies.PolicyTooLargeError):
        policies.check_trust_policy_size(PREFIX, "default", "a" * (longest + 1), AUDIENCE)


def test_size_is_measured_with_the_longest_provider_arn():
    size = policies.check_trust_policy_size(PREFIX, "default", "aws-cli", AUDIENCE)
    govcloud_arn = f"arn:aws-us-gov:iam::000000000000:oidc-provider/{PREFIX}"
    document = policies.trust_policy(govcloud_arn, PREFIX, "default", "aws-cli", AUDIENCE)
    assert size == len(policies.compact_json(document))
    assert size > len(policies.compact_json(parsed_trust()))


def test_too_large_message_names_the_account_the_size_and_the_ways_out():
    name = "a" * (_longest_name_within_limit() + 10)
    with pytest.raises(policies.PolicyTooLargeError) as raised:
        policies.check_trust_policy_size(PREFIX, "default", name, AUDIENCE)
    message = str(raised.value)
    assert f"service account default/{name}" in message
    assert "would be 2058 characters; AWS allows 2048 by default" in message
    assert "Shorten the issuer URL" in message and "quota" in message


def test_s3_prefix_policy_is_the_seed_policy():
    # The seed's document for BUCKET_PREFIX=k8s-default-aws-cli, with its Sid computed by sed.
    seed = {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "FullAccessTok8sdefaultawscliBuckets", "Effect": "Allow", "Action": ["s3:*"],
             "Resource": ["arn:aws:s3:::k8s-default-aws-cli-*", "arn:aws:s3:::k8s-default-aws-cli-*/*"]},
            {"Sid": "ListBucketsForConsoleAccess", "Effect": "Allow",
             "Action": ["s3:ListAllMyBuckets", "s3:GetBucketLocation"], "Resource": "*"},
        ],
    }
    assert json.loads(json.dumps(policies.s3_prefix_policy("k8s-default-aws-cli"))) == seed


def test_s3_sid_keeps_only_letters_and_digits():
    sid = policies.s3_prefix_policy("team.a-b1")["Statement"][0]["Sid"]
    assert sid == "FullAccessToteamab1Buckets"
