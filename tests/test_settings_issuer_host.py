"""Settings of the issuer's host: issuerHost, issuerPath, issuerBucket, createBucket,
issuerDomain, previousIssuerHosts, and what each host needs."""

import json

import pytest

from irsa import settings

HOST = {"irsa:host": "10.0.0.5"}
GITHUB = {**HOST, "irsa:githubOwner": "example-org", "irsa:githubRepository": "oidc-issuer"}
S3 = {**HOST, "irsa:issuerHost": "s3", "aws:region": "eu-west-1"}


def parse(raw):
    return settings.parse(raw, ())


def problems(raw) -> list[str]:
    with pytest.raises(settings.SettingsError) as err:
        parse(raw)
    return err.value.problems


def test_github_stays_the_default_and_needs_its_repository():
    s = parse(GITHUB)
    assert (s.issuer.host, s.issuer.path, s.issuer.previous_hosts) == ("github", "", ())
    assert s.issuer.url == "https://raw.githubusercontent.com/example-org/oidc-issuer/refs/heads/main"
    assert problems(HOST) == [
        "irsa:githubOwner is required: pulumi config set irsa:githubOwner VALUE",
        "irsa:githubRepository is required: pulumi config set irsa:githubRepository VALUE",
    ]


def test_s3_needs_no_github_settings_and_knows_its_url_when_the_bucket_is_named():
    s = parse({**S3, "irsa:issuerBucket": "acme-oidc"})
    assert s.issuer.url == "https://acme-oidc.s3.eu-west-1.amazonaws.com"
    assert parse(S3).issuer.url_of("s3") is None  # derived name: known at deploy time


def test_cloudfront_url_is_the_custom_domain_or_known_at_deploy_time():
    s = parse({**HOST, "irsa:issuerHost": "cloudfront", "irsa:issuerDomain": "oidc.example.com",
               "irsa:issuerPath": "prod"})
    assert s.issuer.url == "https://oidc.example.com/prod"
    assert parse({**HOST, "irsa:issuerHost": "cloudfront"}).issuer.url_of("cloudfront") is None


def test_issuer_path_is_appended_for_every_host():
    s = parse({**GITHUB, "irsa:issuerPath": "clusters/prod-1"})
    assert s.issuer.url == ("https://raw.githubusercontent.com/example-org/oidc-issuer/refs/heads/"
                            "main/clusters/prod-1")
    s = parse({**S3, "irsa:issuerBucket": "acme-oidc", "irsa:issuerPath": "a.b_c-d"})
    assert s.issuer.url == "https://acme-oidc.s3.eu-west-1.amazonaws.com/a.b_c-d"


def test_s3_requires_aws_region_in_the_stack():
    assert problems({**HOST, "irsa:issuerHost": "s3"}) == [
        "irsa:issuerHost s3 needs aws:region set in the stack (pulumi config set aws:region REGION): "
        "the region is part of the issuer URL, which must not change with the environment"]


@pytest.mark.parametrize(("raw", "message"), [
    ({"irsa:issuerHost": "gitlab"}, "irsa:issuerHost must be one of github, s3, cloudfront, got 'gitlab'"),
    ({"irsa:issuerHost": "s3", "irsa:issuerBucket": "my.bucket"}, "contains a dot"),
    ({"irsa:issuerHost": "s3", "irsa:issuerBucket": "ab"}, "must be 3 to 63 lowercase letters"),
    ({"irsa:issuerHost": "s3", "irsa:issuerBucket": "My-Bucket"}, "must be 3 to 63 lowercase letters"),
    ({"irsa:issuerHost": "s3", "irsa:issuerBucket": "b" * 64}, "must be 3 to 63 lowercase letters"),
    ({"irsa:issuerHost": "s3", "irsa:issuerBucket": "-bucket"}, "must be 3 to 63 lowercase letters"),
    ({"irsa:issuerHost": "s3", "irsa:issuerBucket": "xn--bucket"}, "prefix or suffix S3 reserves"),
    ({"irsa:issuerHost": "s3", "irsa:issuerBucket": "sthree-bucket"}, "prefix or suffix S3 reserves"),
    ({"irsa:issuerHost": "s3", "irsa:issuerBucket": "bucket-s3alias"}, "prefix or suffix S3 reserves"),
    ({"irsa:issuerHost": "s3", "irsa:issuerBucket": "bucket--ol-s3"}, "prefix or suffix S3 reserves"),
    ({"irsa:issuerHost": "s3", "irsa:issuerBucket": "bucket--x-s3"}, "prefix or suffix S3 reserves"),
    ({"irsa:issuerBucket": "acme-oidc"}, "irsa:issuerBucket is for irsa:issuerHost s3 or cloudfront"),
    ({"irsa:issuerDomain": "oidc.example.com"}, "irsa:issuerDomain is for irsa:issuerHost cloudfront"),
    ({"irsa:issuerHost": "cloudfront", "irsa:issuerDomain": "Oidc.Example.com"},
     "irsa:issuerDomain must be a lowercase DNS name"),
    ({"irsa:issuerHost": "cloudfront", "irsa:issuerDomain": "localhost"},
     "irsa:issuerDomain must be a lowercase DNS name"),
    ({"irsa:issuerHost": "s3", "irsa:createBucket": "false", "irsa:issuerPath": "a"},
     "irsa:createBucket false publishes into an existing bucket: set irsa:issuerBucket"),
    ({"irsa:issuerHost": "s3", "irsa:createBucket": "false", "irsa:issuerBucket": "acme-oidc"},
     "irsa:createBucket false means the bucket belongs to another stack: set irsa:issuerPath"),
    ({"irsa:issuerHost": "s3", "irsa:previousIssuerHosts": '["s3"]'},
     "irsa:previousIssuerHosts entry 's3' must be one of github, cloudfront"),
    ({"irsa:previousIssuerHosts": '["s3", "s3"]'}, "irsa:previousIssuerHosts names 's3' more than once"),
    ({"irsa:issuerHost": "cloudfront", "irsa:previousIssuerHosts": '["s3"]',
      "irsa:issuerBucket": "acme-oidc"}, "need a bucket each"),
    ({"aws:region": "Europe"}, "is not an AWS region name"),
])
def test_bad_issuer_settings_name_their_key(raw, message):
    base = {**S3, "irsa:issuerHost": raw.get("irsa:issuerHost", "github"), **GITHUB}
    if raw.get("irsa:issuerHost") in (None, "github") and "aws:region" not in raw:
        base.pop("aws:region")
    if "aws:region" in raw:
        base["irsa:issuerHost"] = "s3"
    found = problems({**base, **raw})
    assert any(message in p for p in found), found


@pytest.mark.parametrize("path", ["/a", "a/", "a//b", "a b", ".well-known", "x/.well-known",
                                  "a/jwks.json", "-a", "a-", "a?b", "a#b", "ä", "x" * 129])
def test_issuer_path_must_be_plain_segments(path):
    found = problems({**GITHUB, "irsa:issuerPath": path})
    assert len(found) == 1 and found[0].startswith(f"irsa:issuerPath {path!r}"), found


def test_auto_pins_a_thumbprint_only_for_github():
    explicit = "ab" * 20
    s = parse({**S3, **GITHUB, "irsa:issuerHost": "s3", "irsa:previousIssuerHosts": '["github"]',
               "irsa:thumbprints": json.dumps(["auto", explicit])})
    assert s.thumbprints_for("github") == ("auto", explicit)
    assert s.thumbprints_for("s3") == (explicit,)
    assert s.thumbprints_for("cloudfront") == (explicit,)


def test_a_move_warns_until_the_previous_host_is_dropped():
    s = parse({**S3, **GITHUB, "irsa:issuerHost": "s3", "irsa:previousIssuerHosts": '["github"]'})
    assert s.issuer.hosts == ("s3", "github")
    assert any("irsa:previousIssuerHosts keeps github publishing" in w for w in s.warnings)
    assert not [w for w in parse(GITHUB).warnings if "previousIssuerHosts" in w]


def test_trust_policy_size_counts_every_trusted_issuer():
    long_path = "/".join(["p" * 63] * 2)
    account = {"namespace": "n" * 63, "name": "s" * 253, "roleName": "long-names"}
    one = {**GITHUB, "irsa:issuerPath": long_path, "irsa:serviceAccounts": json.dumps([account])}
    parse(one)  # one statement fits
    two = {**one, **S3, "irsa:issuerHost": "s3", "irsa:issuerBucket": "acme-oidc",
           "irsa:previousIssuerHosts": '["github"]'}
    found = problems(two)
    assert any("trust policy" in p and "2048" in p for p in found), found
