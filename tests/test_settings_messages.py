"""The messages issue 23 asked for: each names the key and says what to change."""

from __future__ import annotations

import pytest

from irsa import policies, settings

HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIC5ABYbR/rS9PYaBNFoMWXDDg16AQ+G5y7IOVQAoXwWd"
REQUIRED = {"irsa:githubOwner": "example-org", "irsa:githubRepository": "oidc-issuer",
            "irsa:host": "node1.example.internal", "irsa:sshHostKey": HOST_KEY}


def problems(extra=None, drop=()):
    raw = {k: v for k, v in REQUIRED.items() if k not in drop} | (extra or {})
    try:
        settings.parse({k: v if isinstance(v, str) else __import__("json").dumps(v)
                        for k, v in raw.items()})
    except settings.SettingsError as err:
        return err.problems
    return []


def accounts(*entries):
    return {"irsa:serviceAccounts": list(entries)}


def test_a_big_inline_policy_is_refused_at_preview_naming_the_account():
    statement = {"Effect": "Allow", "Action": "s3:GetObject",
                 "Resource": [f"arn:aws:s3:::bucket-{i:04d}/*" for i in range(400)]}
    found = problems(accounts({"namespace": "apps", "name": "big",
                               "policy": {"Version": "2012-10-17", "Statement": [statement]}}))
    assert len(found) == 1
    assert found[0].startswith("irsa:serviceAccounts[0] (apps/big): the role's inline policies")
    assert "IAM allows 10240 per role" in found[0]


def test_the_inline_total_adds_up_every_inline_policy_of_the_role():
    # Each alone fits; the s3BucketPrefix policy and the policy together do not.
    def policy_of(n):
        return {"Statement": [{"Effect": "Allow", "Action": "s3:GetObject",
                               "Resource": [f"arn:aws:s3:::b-{i:04d}/*" for i in range(n)]}]}
    n = max(n for n in range(300, 500) if policies.inline_size([policy_of(n)]) <= 10240)
    policy = policy_of(n)
    assert policies.inline_size([policy, policies.s3_prefix_policy("apps-data")]) > 10240
    alone = problems(accounts({"namespace": "apps", "name": "one", "policy": policy}))
    together = problems(accounts({"namespace": "apps", "name": "one", "policy": policy,
                                  "s3BucketPrefix": "apps-data"}))
    assert alone == [] and len(together) == 1 and "inline policies" in together[0]


def test_managed_policies_over_the_quota_warn_then_fail():
    arns = [f"arn:aws:iam::111122223333:policy/p{i}" for i in range(21)]
    over_max = problems(accounts({"namespace": "apps", "name": "many", "policyArns": arns}))
    assert over_max == ["irsa:serviceAccounts[0] (apps/many): policyArns attaches 21 managed "
                        "policies; IAM allows at most 20 per role: combine some"]
    raw = {**REQUIRED, "irsa:serviceAccounts": __import__("json").dumps(
        [{"namespace": "apps", "name": "many", "policyArns": arns[:11]}])}
    warnings = settings.parse(raw).warnings
    assert any("apps/many attaches 11 managed policies" in w for w in warnings)


@pytest.mark.parametrize("effect, message", [
    ("allow", 'Statement[0].Effect must be Allow or Deny (IAM is case-sensitive), got "allow": '
              "write Allow"),
    ("Permit", 'Statement[0].Effect must be Allow or Deny (IAM is case-sensitive), got "Permit"'),
])
def test_effect_is_case_sensitive(effect, message):
    policy = {"Statement": [{"Effect": effect, "Action": "s3:*", "Resource": "*"}]}
    assert problems(accounts({"namespace": "a", "name": "b", "policy": policy})) == [
        f"irsa:serviceAccounts[0].policy {message}"]


@pytest.mark.parametrize("arn, ok", [
    ("arn:aws:secretsmanager:eu-central-1:111122223333:secret:app/db", False),
    ("arn:aws:secretsmanager:eu-central-1:111122223333:secret:app/db-*", True),
    ("arn:aws:secretsmanager:eu-central-1:111122223333:secret:app/db-??????", True),
    ("arn:aws:secretsmanager:eu-central-1:111122223333:secret:app/db-AbC123", True),
])
def test_a_secret_arn_without_its_random_suffix_is_refused(arn, ok):
    policy = {"Statement": [{"Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
                             "Resource": [arn]}]}
    in_policy = problems(accounts({"namespace": "a", "name": "b", "policy": policy}))
    in_preset = problems(accounts({"namespace": "a", "name": "b", "preset": {
        "name": "external-secrets", "secretArns": [arn]}}))
    if ok:
        assert in_policy == [] and in_preset == []
    else:
        assert len(in_policy) == 1 and len(in_preset) == 1
        for message in in_policy + in_preset:
            assert "AccessDenied" in message and f"{arn}-??????" in message


def test_an_unquoted_date_version_is_refused_when_not_the_policy_language():
    policy = {"Version": "2012-10-18", "Statement": [{"Effect": "Allow", "Action": "s3:*",
                                                      "Resource": "*"}]}
    assert problems(accounts({"namespace": "a", "name": "b", "policy": policy})) == [
        'irsa:serviceAccounts[0].policy Version must be 2012-10-17, got "2012-10-18"']


def test_an_ed25519_key_labelled_ssh_rsa_names_the_mismatch():
    body = HOST_KEY.split()[1]
    found = problems({"irsa:sshHostKey": f"ssh-rsa {body}"})
    assert found == [f"irsa:sshHostKey: the key for node1.example.internal is labelled ssh-rsa but "
                     f"is an ssh-ed25519 key: write 'ssh-ed25519 {body[:12]}…'"]
    # A truncated key is still called that.
    assert "truncated or mistyped" in problems({"irsa:sshHostKey": f"ssh-ed25519 {body[:20]}"})[0]


def test_a_route53_zone_path_says_to_drop_the_prefix():
    found = problems(accounts({"namespace": "dns", "name": "external-dns", "preset": {
        "name": "external-dns", "hostedZoneIds": ["/hostedzone/Z0123456789ABC"]}}))
    assert found == ['irsa:serviceAccounts[0].preset: hostedZoneIds entry "/hostedzone/Z0123456789ABC" '
                     "is not hosted zone ids (Z0123456789ABC): drop the /hostedzone/ prefix Route 53 "
                     "shows: Z0123456789ABC"]


@pytest.mark.parametrize("extra, expected", [
    ({"irsa:issuerHost": "s3", "irsa:issuerBucket": "arn:aws:s3:::my-issuer"},
     "irsa:issuerBucket: bucket name 'arn:aws:s3:::my-issuer': that is the bucket's ARN: give its "
     "name, my-issuer"),
    (accounts({"namespace": "b", "name": "velero", "preset": {"name": "velero",
                                                              "bucket": "s3://backups"}}),
     'irsa:serviceAccounts[0].preset: bucket entry "s3://backups" is not an S3 bucket name: that '
     "is the bucket's URL: give its name, backups"),
    (accounts({"namespace": "a", "name": "b", "s3BucketPrefix": "arn:aws:s3:::team-data-*"}),
     "irsa:serviceAccounts[0].s3BucketPrefix must start a valid bucket name: lowercase letters, "
     "digits, '.' and '-', 2 to 60 characters, starting with a letter or digit, got "
     "'arn:aws:s3:::team-data-*': that is a bucket's ARN or URL; give the start of the bucket "
     "names, e.g. 'team-data'"),
])
def test_a_bucket_arn_where_a_name_belongs_says_which_name(extra, expected):
    found = problems({"aws:region": "eu-central-1", **extra})
    assert expected in found, found


def test_a_misspelled_hosts_key_does_not_cascade_into_the_host_key():
    found = problems({"irsa:hots": ["node1.example.internal"]}, drop=("irsa:host",))
    assert found == [
        "irsa:hots is not a configuration key of this project (did you mean irsa:hosts?)",
        "irsa:host is required (or irsa:hosts for several control-plane nodes): "
        "pulumi config set irsa:host VALUE"]


def test_an_upper_case_issuer_host_gets_one_message_with_the_fix():
    found = problems({"aws:region": "eu-central-1", "irsa:issuerHost": "S3",
                      "irsa:issuerBucket": "my-issuer"})
    assert found == ["irsa:issuerHost must be one of github, s3, cloudfront, got 'S3': "
                     "write s3 (lower case)"]
    assert problems({"irsa:issuerHost": "gitlab", "irsa:issuerBucket": "my-issuer"}) == [
        "irsa:issuerHost must be one of github, s3, cloudfront, got 'gitlab'"]
