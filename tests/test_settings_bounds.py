"""Every settings limit at its edges: the value just inside is accepted, just outside refused.

Limits and where they come from:
- tokenExpirationSeconds 600–86400: Kubernetes accepts projected-token lifetimes from 600 s;
  the EKS pod identity webhook's --token-expiration range is 600–86400 (docs/DESIGN).
- extraClientIds: an IAM OIDC provider holds at most 100 client ids, the audience included
  (IAM quotas; botocore's CreateOpenIDConnectProvider ClientIDList).
- thumbprints: at most 5, each 40 hex digits (botocore thumbprintListType / thumbprintType).
- roleName: 1–64 of [\\w+=,.@-] (botocore roleNameType).
- s3BucketPrefix: starts a bucket name, so the S3 naming rules
  (https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html): lowercase
  letters, digits, '.', '-'; begins with a letter or digit; no '..'; not starting with
  xn--, sthree- or amzn-s3-demo-.
- policyArns: arn:PARTITION:iam::ACCOUNT|aws:policy/PATH/NAME.
- keyBits 2048/3072/4096; sshPort 1–65535; readyTimeoutSeconds 10–3600; DNS-1123 names.
Values are literal strings here, never built with the code under test.
"""

import json

import pytest

from irsa import settings

REQUIRED = {
    "irsa:githubOwner": "example-org",
    "irsa:githubRepository": "oidc-issuer",
    "irsa:host": "10.0.0.5",
}


def parse(extra):
    return settings.parse({**REQUIRED, **extra}, ())


def accepted(extra) -> bool:
    try:
        parse(extra)
    except settings.SettingsError:
        return False
    return True


def refused_naming(extra, key: str) -> None:
    with pytest.raises(settings.SettingsError) as err:
        parse(extra)
    assert key in str(err.value), str(err.value)


def account(**fields):
    return {"irsa:serviceAccounts": json.dumps([{"namespace": "apps", "name": "app", **fields}])}


def ids(n: int) -> str:
    return json.dumps([f"client-{i}" for i in range(n)])


@pytest.mark.parametrize("key, inside, outside", [
    ("tokenExpirationSeconds", ["600", "86400"], ["599", "86401"]),
    ("keyBits", ["2048", "3072", "4096"], ["1024", "2047", "4097", "8192"]),
    ("sshPort", ["1", "65535"], ["0", "65536"]),
    ("readyTimeoutSeconds", ["10", "3600"], ["9", "3601"]),
    ("extraClientIds", [ids(99), json.dumps(["sts.amazonaws.com"] + [f"c{i}" for i in range(99)])],
     [ids(100), json.dumps(["x", ""])]),
    ("thumbprints", [json.dumps(["a" * 40] * 5), json.dumps(["A" * 40]), '["auto"]'],
     [json.dumps(["a" * 40] * 6), json.dumps(["a" * 39]), json.dumps(["a" * 41]),
      json.dumps(["g" * 40]), json.dumps([":".join(["aa"] * 20)])]),
])
def test_numeric_and_list_limits(key, inside, outside):
    for value in inside:
        assert accepted({f"irsa:{key}": value}), f"{key}={value[:60]} should be accepted"
    for value in outside:
        refused_naming({f"irsa:{key}": value}, f"irsa:{key}")


@pytest.mark.parametrize("prefix, ok", [
    ("ab", True), ("a" * 60, True), ("a", False), ("a" * 61, False),
    ("a.b", True), ("a..b", False), ("a-b", True), ("0ab", True),
    ("-ab", False), (".ab", False), ("Ab", False), ("a_b", False),
    ("xn-a", True), ("xn--a", False), ("xna", True),
    ("sthree", True), ("sthree-a", False), ("sthreea", True),
    ("amzn-s3-demo", True), ("amzn-s3-demo-a", False),
])
def test_bucket_prefix_forms(prefix, ok):
    if ok:
        assert accepted(account(s3BucketPrefix=prefix)), prefix
    else:
        refused_naming(account(s3BucketPrefix=prefix), "s3BucketPrefix")


@pytest.mark.parametrize("arn, ok", [
    ("arn:aws:iam::aws:policy/ReadOnlyAccess", True),
    ("arn:aws:iam::123456789012:policy/team/read-s3", True),
    ("arn:aws-cn:iam::aws:policy/ReadOnlyAccess", True),
    ("arn:aws-us-gov:iam::123456789012:policy/p", True),
    ("arn:aws:iam::12345678901:policy/p", False),  # 11 digits
    ("arn:aws:iam::1234567890123:policy/p", False),  # 13 digits
    ("arn:aws:iam::123456789012:role/p", False),
    ("arn:aws:iam::123456789012:policy/", False),
    ("arn:aws:s3:::bucket", False),
    ("arn:aws:iam::aws:policy/Read Only", False),
    ("arn:aws:iam::aws:policy/Ünicode", False),
    ("ReadOnlyAccess", False),
    (" arn:aws:iam::aws:policy/ReadOnlyAccess", False),
    ("arn:aws:iam::aws:policy/ReadOnlyAccess\n", False),
])
def test_policy_arn_forms(arn, ok):
    if ok:
        assert accepted(account(policyArns=[arn])), arn
    else:
        refused_naming(account(policyArns=[arn]), "policyArns")


@pytest.mark.parametrize("role, ok", [
    ("r", True), ("r" * 64, True), ("r" * 65, False), ("a+=,.@_-b", True),
    ("a/b", False), ("a b", False), ("é", False),
])
def test_role_name_length_and_characters(role, ok):
    if ok:
        assert accepted(account(roleName=role)), role
    else:
        refused_naming(account(roleName=role), "roleName")


def test_derived_role_names_of_any_length_are_accepted():
    # The default name is cut to 64 with a hash (iam_names.default_role_name), never refused.
    assert accepted({"irsa:serviceAccounts": json.dumps([{"namespace": "a" * 63, "name": "b" * 253}])})


@pytest.mark.parametrize("namespace, ok", [
    ("a", True), ("a" * 63, True), ("a" * 64, False), ("a-b", True), ("-a", False), ("a-", False),
    ("A", False), ("a.b", False),
])
def test_namespace_is_a_dns_label(namespace, ok):
    entry = {"irsa:serviceAccounts": json.dumps([{"namespace": namespace, "name": "app", "roleName": "r"}])}
    if ok:
        assert accepted(entry), namespace
    else:
        refused_naming(entry, "namespace")


@pytest.mark.parametrize("name, ok", [
    ("a", True), ("a" * 253, True), ("a" * 254, False), ("a.b-c", True), ("a..b", False),
    (".a", False), ("a.", False), ("A", False),
])
def test_name_is_a_dns_subdomain(name, ok):
    entry = {"irsa:serviceAccounts": json.dumps([{"namespace": "apps", "name": name, "roleName": "r"}])}
    if ok:
        assert accepted(entry), name
    else:
        refused_naming(entry, ".name")


@pytest.mark.parametrize("names, ok", [
    (["a"], True), (["a" * 32], True), (["a" * 33], False), (["a-b"], True), (["-a"], False),
    ([], False), (["a", "a"], False), (["A"], False),
])
def test_signing_key_names(names, ok):
    extra = {"irsa:signingKeys": json.dumps(names)}
    if ok:
        assert accepted(extra), names
    else:
        refused_naming(extra, "irsa:signingKeys")


@pytest.mark.parametrize("extra, key", [
    ({"irsa:githubOwner": "example-org\n"}, "irsa:githubOwner"),
    ({"irsa:githubRepository": "oidc-issuer\n"}, "irsa:githubRepository"),
    ({"irsa:host": "10.0.0.5\n"}, "irsa:host"),
    ({"irsa:sshUser": "ubuntu\n"}, "irsa:sshUser"),
    ({"irsa:keyDir": "/opt/k8s\n"}, "irsa:keyDir"),
    ({"irsa:signingKeys": json.dumps(["primary\n"])}, "irsa:signingKeys"),
    ({"irsa:thumbprints": json.dumps(["a" * 40 + "\n"])}, "irsa:thumbprints"),
    (account(roleName="r\n"), "roleName"),
    (account(s3BucketPrefix="ab\n"), "s3BucketPrefix"),
    ({"irsa:serviceAccounts": json.dumps([{"namespace": "apps\n", "name": "app", "roleName": "r"}])},
     "namespace"),
    ({"irsa:serviceAccounts": json.dumps([{"namespace": "apps", "name": "app\n", "roleName": "r"}])},
     ".name"),
])
def test_a_trailing_newline_is_not_part_of_any_name(extra, key):
    """Python's ``$`` also matches before a final newline: every pattern must match the whole value."""
    refused_naming(extra, key)


@pytest.mark.parametrize("branch, ok", [
    ("main", True), ("release/1.2", True), ("a.b", True), ("a-b", True), ("a@b", True),
    ("/a", False), ("-a", False), (".a", False), ("a/", False), ("a.", False), ("a.lock", False),
    ("a.LOCK", True), ("@", False), ("a..b", False), ("a//b", False), ("a@{b", False),
    ("a~b", False), ("a^b", False), ("a:b", False), ("a?b", False), ("a*b", False), ("a[b", False),
    ("a\\b", False), ("a b", False), ("", False),
])
def test_branch_names_follow_git(branch, ok):
    """git check-ref-format's rules for a branch (the issuer URL embeds it)."""
    if ok:
        assert accepted({"irsa:githubBranch": branch}), branch
    else:
        refused_naming({"irsa:githubBranch": branch}, "irsa:githubBranch")


@pytest.mark.parametrize("field, value, kind", [
    ("name", 5, "a string"), ("policyArns", "x", "a list"), ("policy", [], "an object"),
    ("testPod", "yes", "true or false"), ("allowWildcard", 1, "true or false"),
])
def test_service_account_field_types_are_named(field, value, kind):
    entry = {"namespace": "apps", "name": "app", field: value}
    with pytest.raises(settings.SettingsError) as err:
        parse({"irsa:serviceAccounts": json.dumps([entry])})
    assert f"irsa:serviceAccounts[0].{field} must be {kind}, got {json.dumps(value)}" in err.value.problems
