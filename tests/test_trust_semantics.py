"""The verifier's rarer paths, against IAM's documented semantics and AWS-shaped wrong answers.

Sources for the trust-policy semantics (IAM User Guide):
- [OPS] "IAM JSON policy elements: Condition operators",
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
  (StringEquals exact and case-sensitive; StringNotEquals negated; StringEqualsIgnoreCase;
  StringLike with ``*`` and ``?`` anywhere in the value; a key absent from the request context
  makes a condition false, except for negated operators, where it is true).
- [COND] "IAM JSON policy elements: Condition",
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition.html
  (context key names are not case-sensitive; values' case depends on the operator; several
  values for one key are ORed).
- [SETS] "Single-valued vs. multivalued context keys",
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html
  (ForAnyValue: at least one request value matches, false when the key is absent;
  ForAllValues: every request value matches, true when the key is absent).

The caller-identity and s3-prefix checks are fed answers shaped like AWS's (the response
dicts botocore returns, ``ClientError`` with AWS error codes), through a stub client, because
moto only ever answers them the well-behaved way.
"""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from irsa.verify import trust
from irsa.verify.broken import Broken
from irsa.verify.chain import Chain, Inputs
from irsa.verify.checks import check_caller_identity, check_s3_prefix

# Literal values, not built with irsa.policies: the evaluator is what is under test.
PREFIX = "127.0.0.1:8443/acme/oidc-issuer/refs/heads/main"
PROVIDER = f"arn:aws:iam::123456789012:oidc-provider/{PREFIX}"
SUB_KEY = f"{PREFIX}:sub"
AUD_KEY = f"{PREFIX}:aud"
SUB = "system:serviceaccount:default:aws-cli"
CONTEXT = {SUB_KEY: SUB, AUD_KEY: "sts.amazonaws.com"}


def policy(condition: dict, effect: str = "Allow", action: str = "sts:AssumeRoleWithWebIdentity") -> dict:
    return {"Version": "2012-10-17", "Statement": [{
        "Effect": effect, "Principal": {"Federated": PROVIDER}, "Action": action,
        "Condition": condition}]}


def allowed(condition: dict, context: dict | None = None) -> bool:
    return trust.evaluate(policy(condition), PROVIDER, context or CONTEXT).allowed


# --- string operators [OPS] ---------------------------------------------------------------


def test_string_equals_is_exact_and_case_sensitive():
    """[OPS] StringEquals: exact matching, case-sensitive; wildcards are plain characters."""
    assert allowed({"StringEquals": {SUB_KEY: SUB}})
    assert not allowed({"StringEquals": {SUB_KEY: SUB.upper()}})
    assert not allowed({"StringEquals": {SUB_KEY: "system:serviceaccount:default:*"}})


def test_string_not_equals_is_negated_over_all_values():
    """[OPS]/[COND] StringNotEquals: true when the value matches none of the listed values."""
    assert allowed({"StringNotEquals": {SUB_KEY: "system:serviceaccount:default:other"}})
    assert not allowed({"StringNotEquals": {SUB_KEY: SUB}})
    assert not allowed({"StringNotEquals": {SUB_KEY: ["system:serviceaccount:x:y", SUB]}})


def test_string_not_like_is_negated_wildcard_matching():
    """[OPS] StringNotLike: true when the value matches none of the patterns."""
    assert allowed({"StringNotLike": {SUB_KEY: "system:serviceaccount:kube-system:*"}})
    assert not allowed({"StringNotLike": {SUB_KEY: "system:serviceaccount:default:*"}})
    assert not allowed({"StringNotLike": {SUB_KEY: ["nothing", "*:aws-?li"]}})


def test_string_equals_ignore_case():
    """[OPS] StringEqualsIgnoreCase: exact matching, ignoring case; no wildcards."""
    assert allowed({"StringEqualsIgnoreCase": {SUB_KEY: SUB.upper()}})
    assert not allowed({"StringEqualsIgnoreCase": {SUB_KEY: SUB.upper() + "X"}})
    assert not allowed({"StringEqualsIgnoreCase": {SUB_KEY: "SYSTEM:SERVICEACCOUNT:DEFAULT:*"}})


def test_string_like_matches_the_whole_value():
    """[OPS] StringLike: ``*`` any run of characters, ``?`` exactly one; the whole value must match
    (a pattern matching only a prefix or a suffix of the value does not match)."""
    assert allowed({"StringLike": {SUB_KEY: "system:serviceaccount:*:aws-cli"}})
    assert allowed({"StringLike": {SUB_KEY: "system:serviceaccount:default:aws-?li"}})
    assert not allowed({"StringLike": {SUB_KEY: "system:serviceaccount:default:aws"}})  # prefix only
    assert not allowed({"StringLike": {SUB_KEY: "serviceaccount:default:aws-cli"}})  # suffix only
    assert not allowed({"StringLike": {SUB_KEY: "system:serviceaccount:default:aws-c?"}})
    assert not allowed({"StringLike": {SUB_KEY: "system.serviceaccount.default.aws-cli"}})  # . is literal


def test_several_values_for_one_key_are_alternatives():
    """[COND] Several values for one key: the condition holds if any of them matches."""
    assert allowed({"StringEquals": {SUB_KEY: ["system:serviceaccount:x:y", SUB]}})
    assert not allowed({"StringEquals": {SUB_KEY: ["system:serviceaccount:x:y", "z"]}})


def test_context_key_names_are_case_insensitive_values_are_not():
    """[COND] Context key names are not case-sensitive."""
    assert allowed({"StringEquals": {SUB_KEY.upper(): SUB}})
    assert not allowed({"StringEquals": {SUB_KEY.upper(): SUB.upper()}})


def test_every_operator_and_key_must_hold():
    """[COND] Several operators, or several keys, in one Condition are ANDed."""
    assert allowed({"StringEquals": {SUB_KEY: SUB, AUD_KEY: "sts.amazonaws.com"}})
    assert not allowed({"StringEquals": {SUB_KEY: SUB, AUD_KEY: "other"}})
    assert not allowed({"StringEquals": {SUB_KEY: SUB}, "StringLike": {AUD_KEY: "x*"}})


def test_a_key_absent_from_the_request():
    """[OPS] An absent key: a positive operator is false, a negated one is true."""
    absent = f"{PREFIX}:amr"
    assert not allowed({"StringEquals": {absent: "x"}})
    assert allowed({"StringNotEquals": {absent: "x"}})
    assert allowed({"StringNotLike": {absent: "*"}})


# --- set operators [SETS] -----------------------------------------------------------------


def test_for_any_value():
    """[SETS] ForAnyValue: at least one request value satisfies the operator; absent key: false."""
    assert allowed({"ForAnyValue:StringEquals": {SUB_KEY: [SUB, "x"]}})
    assert not allowed({"ForAnyValue:StringEquals": {SUB_KEY: ["x", "y"]}})
    assert allowed({"ForAnyValue:StringLike": {SUB_KEY: "*:aws-cli"}})
    assert not allowed({"ForAnyValue:StringEquals": {f"{PREFIX}:amr": "x"}})
    assert not allowed({"ForAnyValue:StringNotEquals": {f"{PREFIX}:amr": "x"}})


def test_for_all_values():
    """[SETS] ForAllValues: every request value satisfies the operator; absent key: true
    (which is why IAM warns against ForAllValues with Allow)."""
    assert allowed({"ForAllValues:StringEquals": {SUB_KEY: [SUB, "x"]}})
    assert not allowed({"ForAllValues:StringEquals": {SUB_KEY: ["x"]}})
    assert allowed({"ForAllValues:StringEquals": {f"{PREFIX}:amr": "x"}})
    assert allowed({"ForAllValues:StringNotLike": {SUB_KEY: "*:kube-system:*"}})
    assert not allowed({"ForAllValues:StringNotLike": {SUB_KEY: "*:default:*"}})


# --- what the evaluator does not model ----------------------------------------------------


def test_a_deny_it_does_not_understand_is_never_passed_over():
    """An unknown operator in a Deny might deny: the role is not reported assumable."""
    document = policy({"StringEquals": {SUB_KEY: SUB}})
    document["Statement"].append(dict(document["Statement"][0], Effect="Deny", Sid="Odd",
                                      Condition={"DateGreaterThan": {"aws:CurrentTime": "2020-01-01"}}))
    decision = trust.evaluate(document, PROVIDER, CONTEXT)
    assert not decision.allowed and decision.reasons[0].startswith("statement Odd may deny it")


def test_a_global_key_is_not_guessed():
    """Keys outside the provider's namespace (aws:…) may or may not be set by STS: not guessed."""
    decision = trust.evaluate(policy({"StringNotEquals": {"aws:SourceIp": "x"}}), PROVIDER, CONTEXT)
    assert not decision.allowed and "aws:SourceIp is not set" in decision.reasons[0]


def test_actions_match_case_insensitively_and_by_wildcard():
    """[OPS]-style wildcards in Action, and IAM action names are not case-sensitive."""
    for action in ("sts:AssumeRoleWithWebIdentity", "sts:assumerolewithwebidentity", "sts:*", "*"):
        assert trust.evaluate(policy({}, action=action), PROVIDER, CONTEXT).allowed, action
    assert not trust.evaluate(policy({}, action="sts:AssumeRole"), PROVIDER, CONTEXT).allowed


def test_a_deny_statement_that_matches_wins():
    """An explicit Deny that applies overrides the Allow (IAM policy evaluation logic)."""
    document = policy({"StringEquals": {SUB_KEY: SUB}})
    document["Statement"].append(dict(document["Statement"][0], Effect="Deny",
                                      Condition={"StringLike": {SUB_KEY: "*"}}))
    assert not trust.evaluate(document, PROVIDER, CONTEXT).allowed
    document["Statement"][1]["Condition"] = {"StringNotLike": {SUB_KEY: "*"}}
    assert trust.evaluate(document, PROVIDER, CONTEXT).allowed


# --- caller-identity and s3-prefix fed AWS-shaped answers ---------------------------------

ROLE_ARN = "arn:aws:iam::123456789012:role/team/k8s_default_aws-cli"


class StubAws:
    """Stands in for ``irsa.verify.aws.Aws``: hands out the given client objects."""

    region = "us-east-1"

    def __init__(self, **clients):
        self.clients = clients

    def client(self, service, credentials=None, unsigned=False, **config):
        return self.clients[service]


class Sts:
    def __init__(self, arn: str):
        self.arn = arn

    def get_caller_identity(self):
        # The shape botocore returns for sts:GetCallerIdentity.
        return {"UserId": "AROAEXAMPLE:irsa-verify", "Account": self.arn.split(":")[4], "Arn": self.arn,
                "ResponseMetadata": {"HTTPStatusCode": 200}}


def aws_error(code: str, status: int, operation: str = "CreateBucket") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": f"{code} (from a stub)"},
                        "ResponseMetadata": {"HTTPStatusCode": status}}, operation)


def chain(aws: StubAws, role_arn: str = ROLE_ARN) -> Chain:
    inputs = Inputs(issuer_url="https://" + PREFIX, namespace="default", name="aws-cli",
                    role_arn=role_arn, get_token=lambda: "", token_source="a test",
                    s3_bucket_prefix="irsa-test")
    return Chain(inputs=inputs, aws=aws, credentials={"AccessKeyId": "A", "SecretAccessKey": "B",
                                                      "SessionToken": "C"})


def test_caller_identity_accepts_a_session_of_the_role():
    arn = "arn:aws:sts::123456789012:assumed-role/k8s_default_aws-cli/irsa-verify"
    assert check_caller_identity(chain(StubAws(sts=Sts(arn)))) == arn


@pytest.mark.parametrize("arn", [
    "arn:aws:sts::123456789012:assumed-role/k8s_default_aws-cli-other/irsa-verify",  # another role
    "arn:aws:sts::123456789012:assumed-role/other-k8s_default_aws-cli/irsa-verify",
    "arn:aws:sts::210987654321:assumed-role/k8s_default_aws-cli/irsa-verify",  # another account
    "arn:aws:iam::123456789012:user/k8s_default_aws-cli",  # the caller's own user
    "arn:aws:sts::123456789012:federated-user/k8s_default_aws-cli",
    "arn:aws-cn:sts::123456789012:assumed-role/k8s_default_aws-cli/irsa-verify",  # another partition
])
def test_caller_identity_refuses_another_identity(arn):
    with pytest.raises(Broken, match="the temporary credentials are for"):
        check_caller_identity(chain(StubAws(sts=Sts(arn))))


class S3:
    """CreateBucket answers in order: None for success, or a ClientError to raise."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.created, self.deleted = [], []

    def create_bucket(self, Bucket, **kwargs):
        answer = self.answers.pop(0)
        if answer is not None:
            raise answer
        self.created.append(Bucket)

    def delete_bucket(self, Bucket):
        self.deleted.append(Bucket)


def test_s3_prefix_passes_when_only_the_prefix_is_allowed():
    s3 = S3(None, aws_error("AccessDenied", 403))
    assert "AccessDenied, as expected" in check_s3_prefix(chain(StubAws(s3=s3)))
    assert s3.created == s3.deleted and s3.created[0].startswith("irsa-test-")


def test_s3_prefix_fails_when_the_other_bucket_can_be_made():
    s3 = S3(None, None)
    with pytest.raises(Broken, match="succeeded, but only irsa-test-"):
        check_s3_prefix(chain(StubAws(s3=s3)))
    assert s3.deleted == s3.created, "the bucket made by mistake is cleaned up"


@pytest.mark.parametrize("code, status", [
    ("BucketAlreadyExists", 409), ("InvalidBucketName", 400), ("SlowDown", 503),
    ("AccessDeniedException", 403), ("InvalidAccessKeyId", 403),
])
def test_s3_prefix_denied_half_with_another_error_is_not_a_pass(code, status):
    with pytest.raises(Broken, match=f"failed with {code}, not AccessDenied"):
        check_s3_prefix(chain(StubAws(s3=S3(None, aws_error(code, status)))))


def test_s3_prefix_allowed_half_refused():
    with pytest.raises(Broken, match="CreateBucket irsa-test-.* was refused: AccessDenied"):
        check_s3_prefix(chain(StubAws(s3=S3(aws_error("AccessDenied", 403)))))
