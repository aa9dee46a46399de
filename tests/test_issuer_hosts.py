"""The real __main__.py under mocks with issuerHost s3 and cloudfront: the resource graph.

Expected values are written out here (URLs, ARNs, enum values), not computed
with irsa.s3; enumerations are also checked against botocore's S3 and
CloudFront models, which is what the AWS APIs accept.
"""

import hashlib
import json

import botocore.session
import pytest

from conftest import ACCOUNT_ID, ROOT, run_program, stack_file_config

DEV = stack_file_config(ROOT / "Pulumi.dev.yaml")
REGION = "ap-northeast-1"  # Pulumi.dev.yaml's aws:region
BUCKET_T = "aws:s3/bucket:Bucket"
OBJECT = "aws:s3/bucketObjectv2:BucketObjectv2"
POLICY = "aws:s3/bucketPolicy:BucketPolicy"
BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
OWNERSHIP = "aws:s3/bucketOwnershipControls:BucketOwnershipControls"
VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
ENCRYPTION = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
OAC = "aws:cloudfront/originAccessControl:OriginAccessControl"
DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
OIDC = "aws:iam/openIdConnectProvider:OpenIdConnectProvider"
FILE = "github:index/repositoryFile:RepositoryFile"
GITHUB_ISSUER = "https://raw.githubusercontent.com/example-org/oidc-issuer/refs/heads/main"
MOCK_DISTRIBUTION_DOMAIN = "d111111abcdef8.cloudfront.net"  # what conftest's mock returns

S3_STACK = {**DEV, "irsa:issuerHost": "s3", "irsa:issuerBucket": "example-oidc-issuer"}
CLOUDFRONT_STACK = {**DEV, "irsa:issuerHost": "cloudfront", "irsa:issuerBucket": "example-oidc-private"}


def _models():
    session = botocore.session.get_session()
    return session.get_service_model("s3"), session.get_service_model("cloudfront")


S3_MODEL, CLOUDFRONT_MODEL = _models()


def enum(model, shape: str) -> list[str]:
    return model.shape_for(shape).enum


def run(pulumi_mocks, config):
    pulumi_mocks.run(lambda: run_program(config))
    return pulumi_mocks


def documents(r) -> dict[str, dict]:
    return {o.inputs["key"]: o for o in r.of_type(OBJECT)}


def test_s3_stack_makes_a_bucket_as_todays_s3_wants_it(pulumi_mocks):
    r = run(pulumi_mocks, S3_STACK)
    bucket = r.one(BUCKET_T)
    assert bucket.inputs["bucket"] == "example-oidc-issuer"
    assert not r.of_type(FILE), "no GitHub files for an s3 issuer"
    ownership = r.one(OWNERSHIP).inputs["rule"]["objectOwnership"]
    assert ownership == "BucketOwnerEnforced"
    assert ownership in enum(S3_MODEL, "ObjectOwnership")
    block = r.one(BLOCK).inputs
    assert (block["blockPublicAcls"], block["ignorePublicAcls"]) == (True, True)
    # A bucket policy must be able to grant public reads.
    assert (block["blockPublicPolicy"], block["restrictPublicBuckets"]) == (False, False)
    status = r.one(VERSIONING).inputs["versioningConfiguration"]["status"]
    assert status == "Enabled" and status in enum(S3_MODEL, "BucketVersioningStatus")
    rule = r.one(ENCRYPTION).inputs["rules"][0]["applyServerSideEncryptionByDefault"]
    assert rule["sseAlgorithm"] == "AES256" and "AES256" in enum(S3_MODEL, "ServerSideEncryption")


def test_s3_policy_grants_anonymous_reads_of_exactly_the_two_documents(pulumi_mocks):
    r = run(pulumi_mocks, S3_STACK)
    policy = json.loads(r.one(POLICY).inputs["policy"])
    assert policy["Statement"] == [{
        "Sid": "PublicReadOfOidcIssuerDocuments",
        "Effect": "Allow",
        "Principal": "*",
        "Action": "s3:GetObject",
        "Resource": ["arn:aws:s3:::example-oidc-issuer/.well-known/openid-configuration",
                     "arn:aws:s3:::example-oidc-issuer/jwks.json"],
    }]
    policy_registration = r.one(POLICY)
    for setting in (BLOCK, OWNERSHIP):
        assert r.one(setting).urn in r.all_dependencies(policy_registration), \
            "the policy must wait until the public access block allows it"


def test_s3_objects_are_json_with_a_short_cache_and_the_regional_issuer(pulumi_mocks):
    r = run(pulumi_mocks, S3_STACK)
    issuer = "https://example-oidc-issuer.s3.ap-northeast-1.amazonaws.com"
    objects = documents(r)
    assert set(objects) == {".well-known/openid-configuration", "jwks.json"}
    for obj in objects.values():
        assert obj.inputs["contentType"] == "application/json"
        assert obj.inputs["cacheControl"] == "public, max-age=60"
        assert obj.inputs["bucket"] == "example-oidc-issuer"
        assert r.one(POLICY).urn in r.all_dependencies(obj), "objects are written after the policy"
    discovery = json.loads(objects[".well-known/openid-configuration"].inputs["content"])
    assert discovery["issuer"] == issuer
    assert discovery["jwks_uri"] == issuer + "/jwks.json"
    assert [k["kty"] for k in json.loads(objects["jwks.json"].inputs["content"])["keys"]] == ["RSA"]
    provider = r.one(OIDC)
    assert provider.name == "oidc-s3-provider"
    assert provider.inputs["url"] == issuer
    assert r.stack_outputs["issuerUrl"].value == issuer


def test_auto_thumbprint_pins_nothing_for_s3_but_explicit_ones_stay(pulumi_mocks):
    r = run(pulumi_mocks, S3_STACK)
    assert not r.one(OIDC).inputs.get("thumbprintLists")
    pulumi_mocks.fresh()
    explicit = "a" * 40
    r = run(pulumi_mocks, {**S3_STACK, "irsa:thumbprints": json.dumps(["auto", explicit])})
    assert r.one(OIDC).inputs["thumbprintLists"] == [explicit]


def test_derived_bucket_name_is_per_account_and_stack(pulumi_mocks):
    config = {k: v for k, v in S3_STACK.items() if k != "irsa:issuerBucket"}
    r = run(pulumi_mocks, config)
    # project "irsa", stack "test" under the mocks.
    digest = hashlib.sha256(b"irsa/test").hexdigest()[:8]
    name = f"irsa-oidc-{ACCOUNT_ID}-{digest}"
    assert r.one(BUCKET_T).inputs["bucket"] == name
    assert r.one(OIDC).inputs["url"] == f"https://{name}.s3.ap-northeast-1.amazonaws.com"


def test_issuer_path_prefixes_keys_and_the_policy_covers_every_path(pulumi_mocks):
    r = run(pulumi_mocks, {**S3_STACK, "irsa:issuerPath": "clusters/prod"})
    assert set(documents(r)) == {"clusters/prod/.well-known/openid-configuration",
                                 "clusters/prod/jwks.json"}
    issuer = "https://example-oidc-issuer.s3.ap-northeast-1.amazonaws.com/clusters/prod"
    assert r.one(OIDC).inputs["url"] == issuer
    resources = json.loads(r.one(POLICY).inputs["policy"])["Statement"][0]["Resource"]
    assert resources == ["arn:aws:s3:::example-oidc-issuer/*/.well-known/openid-configuration",
                         "arn:aws:s3:::example-oidc-issuer/*/jwks.json"]


def test_shared_bucket_of_another_stack_gets_only_objects(pulumi_mocks):
    r = run(pulumi_mocks, {**S3_STACK, "irsa:createBucket": "false", "irsa:issuerPath": "b"})
    for kind in (BUCKET_T, POLICY, BLOCK, OWNERSHIP, VERSIONING, ENCRYPTION):
        assert not r.of_type(kind), kind
    assert set(documents(r)) == {"b/.well-known/openid-configuration", "b/jwks.json"}


def test_github_issuer_path_moves_the_files_and_the_url(pulumi_mocks):
    r = run(pulumi_mocks, {**DEV, "irsa:issuerPath": "clusters/prod"})
    files = {f.inputs["file"] for f in r.of_type(FILE)}
    assert files == {"clusters/prod/.well-known/openid-configuration", "clusters/prod/jwks.json"}
    assert r.one(OIDC).inputs["url"] == GITHUB_ISSUER + "/clusters/prod"


def test_cloudfront_reads_a_private_bucket_through_origin_access_control(pulumi_mocks):
    r = run(pulumi_mocks, CLOUDFRONT_STACK)
    oac = r.one(OAC).inputs
    assert (oac["originAccessControlOriginType"], oac["signingBehavior"], oac["signingProtocol"]) == \
        ("s3", "always", "sigv4")
    assert oac["originAccessControlOriginType"] in enum(CLOUDFRONT_MODEL, "OriginAccessControlOriginTypes")
    assert oac["signingBehavior"] in enum(CLOUDFRONT_MODEL, "OriginAccessControlSigningBehaviors")
    assert oac["signingProtocol"] in enum(CLOUDFRONT_MODEL, "OriginAccessControlSigningProtocols")
    distribution = r.one(DISTRIBUTION)
    origin, = distribution.inputs["origins"]
    assert origin["originAccessControlId"] == "E2OACMOCK0001"  # the OAC's id from the mock
    assert origin["domainName"] == "example-oidc-private.s3.ap-northeast-1.amazonaws.com"
    assert "s3OriginConfig" not in origin and "customOriginConfig" not in origin
    behaviour = distribution.inputs["defaultCacheBehavior"]
    assert behaviour["viewerProtocolPolicy"] == "redirect-to-https"
    assert behaviour["viewerProtocolPolicy"] in enum(CLOUDFRONT_MODEL, "ViewerProtocolPolicy")
    assert behaviour["viewerProtocolPolicy"] != "allow-all"
    assert behaviour["allowedMethods"] == ["GET", "HEAD"]
    # AWS's managed CachingOptimized policy (honours the objects' Cache-Control).
    assert behaviour["cachePolicyId"] == "658327ea-f89d-4fab-a63d-7e88639e58f6"
    assert behaviour["targetOriginId"] == origin["originId"]
    assert distribution.inputs["viewerCertificate"] == {"cloudfrontDefaultCertificate": True}
    block = r.one(BLOCK).inputs
    assert all(block[k] for k in ("blockPublicAcls", "ignorePublicAcls", "blockPublicPolicy",
                                  "restrictPublicBuckets")), "nothing public in a CloudFront bucket"


def test_cloudfront_bucket_policy_admits_only_this_distribution(pulumi_mocks):
    r = run(pulumi_mocks, CLOUDFRONT_STACK)
    policy = json.loads(r.one(POLICY).inputs["policy"])
    assert policy["Statement"] == [{
        "Sid": "CloudFrontReadsOidcIssuerDocuments",
        "Effect": "Allow",
        "Principal": {"Service": "cloudfront.amazonaws.com"},
        "Action": "s3:GetObject",
        "Resource": ["arn:aws:s3:::example-oidc-private/.well-known/openid-configuration",
                     "arn:aws:s3:::example-oidc-private/jwks.json"],
        "Condition": {"StringEquals": {
            "AWS:SourceArn": f"arn:aws:cloudfront::{ACCOUNT_ID}:distribution/E1MOCKDIST0001"}},
    }]
    assert r.one(DISTRIBUTION).urn in r.all_dependencies(r.one(POLICY))


def test_cloudfront_issuer_is_the_distribution_domain(pulumi_mocks):
    r = run(pulumi_mocks, CLOUDFRONT_STACK)
    issuer = f"https://{MOCK_DISTRIBUTION_DOMAIN}"
    discovery = json.loads(documents(r)[".well-known/openid-configuration"].inputs["content"])
    assert discovery["issuer"] == issuer
    assert r.one(OIDC).inputs["url"] == issuer
    assert not r.one(OIDC).inputs.get("thumbprintLists")
    assert r.one(DISTRIBUTION).urn in r.all_dependencies(r.one(OIDC)), \
        "the provider waits until the distribution serves the documents"


def test_cloudfront_custom_domain_gets_a_us_east_1_certificate(pulumi_mocks):
    r = run(pulumi_mocks, {**CLOUDFRONT_STACK, "irsa:issuerDomain": "oidc.example.com"})
    certificate = r.one("aws:acm/certificate:Certificate")
    assert certificate.inputs["domainName"] == "oidc.example.com"
    assert certificate.inputs["validationMethod"] == "DNS"
    assert certificate.inputs["region"] == "us-east-1"
    validation = r.one("aws:acm/certificateValidation:CertificateValidation")
    assert validation.inputs["region"] == "us-east-1"
    distribution = r.one(DISTRIBUTION).inputs
    assert distribution["aliases"] == ["oidc.example.com"]
    viewer = distribution["viewerCertificate"]
    assert viewer["sslSupportMethod"] == "sni-only"
    assert viewer["sslSupportMethod"] in enum(CLOUDFRONT_MODEL, "SSLSupportMethod")
    assert viewer["minimumProtocolVersion"] in enum(CLOUDFRONT_MODEL, "MinimumProtocolVersion")
    assert viewer["acmCertificateArn"].startswith("arn:aws:acm:us-east-1:")
    assert r.one(OIDC).inputs["url"] == "https://oidc.example.com"
    records = r.stack_outputs["issuerDnsRecords"].value
    assert {"name": "_abc.oidc.example.com.", "type": "CNAME", "value": "_xyz.acm-validations.aws."} in records
    assert {"name": "oidc.example.com", "type": "CNAME", "value": MOCK_DISTRIBUTION_DOMAIN} in records


def test_moving_from_github_to_s3_keeps_the_old_issuer_published_and_trusted(pulumi_mocks):
    r = run(pulumi_mocks, {**S3_STACK, "irsa:previousIssuerHosts": json.dumps(["github"])})
    s3_issuer = "https://example-oidc-issuer.s3.ap-northeast-1.amazonaws.com"
    # The GitHub files keep their resource names and their issuer.
    github_discovery = json.loads(r.by_name("issuer-github/example-org/oidc-issuer@main-discovery").inputs["content"])
    assert github_discovery["issuer"] == GITHUB_ISSUER
    assert r.by_name("issuer-github/example-org/oidc-issuer@main-jwks").inputs["content"] == \
        documents(r)["jwks.json"].inputs["content"], "both hosts publish the same keys"
    providers = {p.name: p.inputs["url"] for p in r.of_type(OIDC)}
    assert providers == {"oidc-github/example-org/oidc-issuer@main-provider": GITHUB_ISSUER, "oidc-s3-provider": s3_issuer}
    trust = json.loads(r.one("aws:iam/role:Role").inputs["assumeRolePolicy"])
    federated = {s["Principal"]["Federated"]: s["Condition"]["StringEquals"] for s in trust["Statement"]}
    assert federated == {
        f"arn:aws:iam::{ACCOUNT_ID}:oidc-provider/{s3_issuer.removeprefix('https://')}": {
            f"{s3_issuer.removeprefix('https://')}:sub": "system:serviceaccount:default:aws-cli",
            f"{s3_issuer.removeprefix('https://')}:aud": "sts.amazonaws.com"},
        f"arn:aws:iam::{ACCOUNT_ID}:oidc-provider/{GITHUB_ISSUER.removeprefix('https://')}": {
            f"{GITHUB_ISSUER.removeprefix('https://')}:sub": "system:serviceaccount:default:aws-cli",
            f"{GITHUB_ISSUER.removeprefix('https://')}:aud": "sts.amazonaws.com"},
    }
    assert r.stack_outputs["issuerUrl"].value == s3_issuer
    assert r.stack_outputs["previousIssuerUrls"].value == [GITHUB_ISSUER]


def test_resource_names_of_a_host_do_not_change_when_it_becomes_previous(pulumi_mocks):
    """Current → previous must be no change for the engine: same URNs."""
    def urns(config):
        pulumi_mocks.fresh()
        run(pulumi_mocks, config)
        return {r.urn for r in pulumi_mocks.registrations if r.type in (OBJECT, BUCKET_T, POLICY, OIDC, FILE)}

    github_now = urns(DEV)
    s3_now = urns(S3_STACK)
    moving = urns({**S3_STACK, "irsa:previousIssuerHosts": json.dumps(["github"])})
    assert github_now | s3_now == moving
    back = urns({**DEV, "irsa:previousIssuerHosts": json.dumps(["s3"]),
                 "irsa:issuerBucket": "example-oidc-issuer"})
    assert back == moving


@pytest.mark.parametrize("config", [S3_STACK, CLOUDFRONT_STACK,
                                    {**CLOUDFRONT_STACK, "irsa:issuerDomain": "oidc.example.com"},
                                    {**S3_STACK, "irsa:previousIssuerHosts": '["github"]'}])
def test_every_urn_is_unique(pulumi_mocks, config):
    r = run(pulumi_mocks, config)
    urns = [reg.urn for reg in r.registrations]
    assert len(urns) == len(set(urns))


# --- every recorded AWS input, held to botocore's models -----------------------------------

def api_calls(r) -> list[tuple[str, str, dict]]:
    """The AWS API calls the recorded resources become, with their parameters."""
    calls = []
    for reg in r.registrations:
        i = reg.inputs
        if reg.type == OIDC:
            calls.append(("iam", "CreateOpenIDConnectProvider", {
                "Url": i["url"], "ClientIDList": i["clientIdLists"],
                **({"ThumbprintList": i["thumbprintLists"]} if i.get("thumbprintLists") else {})}))
        elif reg.type == "aws:iam/role:Role":
            calls.append(("iam", "CreateRole", {
                "RoleName": i["name"], "AssumeRolePolicyDocument": i["assumeRolePolicy"],
                "Description": i["description"],
                "Tags": [{"Key": k, "Value": v} for k, v in i["tags"].items()]}))
        elif reg.type == BUCKET_T:
            calls.append(("s3", "CreateBucket", {"Bucket": i["bucket"]}))
        elif reg.type == POLICY:
            calls.append(("s3", "PutBucketPolicy", {"Bucket": "example", "Policy": i["policy"]}))
        elif reg.type == OBJECT:
            calls.append(("s3", "PutObject", {
                "Bucket": i["bucket"], "Key": i["key"], "ContentType": i["contentType"],
                "CacheControl": i["cacheControl"],
                "Tagging": "&".join(f"{k}={v}" for k, v in i["tags"].items())}))
        elif reg.type == OWNERSHIP:
            calls.append(("s3", "PutBucketOwnershipControls", {"Bucket": "example", "OwnershipControls": {
                "Rules": [{"ObjectOwnership": i["rule"]["objectOwnership"]}]}}))
        elif reg.type == OAC:
            calls.append(("cloudfront", "CreateOriginAccessControl", {"OriginAccessControlConfig": {
                "Name": "irsa-issuer", "Description": i["description"],
                "SigningProtocol": i["signingProtocol"], "SigningBehavior": i["signingBehavior"],
                "OriginAccessControlOriginType": i["originAccessControlOriginType"]}}))
    return calls


@pytest.mark.parametrize("config", [S3_STACK, CLOUDFRONT_STACK,
                                    {**S3_STACK, "irsa:previousIssuerHosts": '["github"]',
                                     "irsa:issuerPath": "clusters/prod"}])
def test_aws_inputs_follow_botocores_models(pulumi_mocks, config):
    from support.botocore_model import problems

    r = run(pulumi_mocks, config)
    calls = api_calls(r)
    assert {op for _, op, _ in calls} >= {"CreateOpenIDConnectProvider", "CreateRole", "PutObject",
                                          "PutBucketPolicy"}
    for service, operation, params in calls:
        assert problems(service, operation, params) == [], (operation, params)


def test_the_model_check_is_live():
    from support.botocore_model import problems

    assert problems("iam", "CreateOpenIDConnectProvider", {"Url": "x" * 256, "ClientIDList": ["a"]})
    assert problems("s3", "PutBucketOwnershipControls", {"Bucket": "b", "OwnershipControls": {
        "Rules": [{"ObjectOwnership": "public-read"}]}})
    assert problems("iam", "CreateRole", {"RoleName": "a", "AssumeRolePolicyDocument": "\x01"})


def test_the_api_servers_keep_accepting_the_previous_issuer_during_a_move(pulumi_mocks):
    """The host side of a move: every host command's script carries the previous issuer
    URL as accepted (never signing), so Kubernetes API tokens pods hold stay valid."""
    from conftest import secret_value

    r = run(pulumi_mocks, {**S3_STACK, "irsa:previousIssuerHosts": json.dumps(["github"])})
    github_url = "https://raw.githubusercontent.com/example-org/oidc-issuer/refs/heads/main"
    s3_url = "https://example-oidc-issuer.s3.ap-northeast-1.amazonaws.com"
    for phase in ("accept", "sign", "retire"):
        script = secret_value(r.by_name(f"cluster-apiserver-{phase}").inputs["stdin"])
        assert f"IRSA_ISSUER={s3_url}\n" in script, phase
        assert f"IRSA_PREVIOUS_ISSUERS=({github_url})\n" in script, phase
    pulumi_mocks.fresh()
    r = run(pulumi_mocks, S3_STACK)
    script = secret_value(r.by_name("cluster-apiserver-retire").inputs["stdin"])
    assert "IRSA_PREVIOUS_ISSUERS=()\n" in script


NEW_GITHUB_ISSUER = "https://raw.githubusercontent.com/example-org/oidc-next/refs/heads/main/prod"


def test_moving_within_github_keeps_the_old_issuer_published_trusted_and_accepted(pulumi_mocks):
    # Another repository and a path; the old location stays as a previous issuer.
    r = run(pulumi_mocks, {**DEV, "irsa:githubRepository": "oidc-next", "irsa:issuerPath": "prod",
                           "irsa:previousIssuerHosts": json.dumps(["github:example-org/oidc-issuer@main"])})
    files = {f.name: f for f in r.of_type("github:index/repositoryFile:RepositoryFile")}
    old, new = "issuer-github/example-org/oidc-issuer@main", "issuer-github/example-org/oidc-next@main:prod"
    assert set(files) == {f"{old}-discovery", f"{old}-jwks", f"{new}-discovery", f"{new}-jwks"}
    # The old files keep what they had (so nothing changes for them) and adopt the former names.
    assert (files[f"{old}-jwks"].inputs["repository"], files[f"{old}-jwks"].inputs["file"]) == \
        ("oidc-issuer", "jwks.json")
    assert json.loads(files[f"{old}-discovery"].inputs["content"])["issuer"] == GITHUB_ISSUER
    assert files[f"{old}-discovery"].aliases[0]["name"] == "issuer-discovery"
    assert not files[f"{new}-discovery"].aliases
    assert (files[f"{new}-jwks"].inputs["repository"], files[f"{new}-jwks"].inputs["file"]) == \
        ("oidc-next", "prod/jwks.json")
    assert json.loads(files[f"{new}-discovery"].inputs["content"])["issuer"] == NEW_GITHUB_ISSUER
    providers = {p.name: p.inputs["url"] for p in r.of_type(OIDC)}
    assert providers == {"oidc-github/example-org/oidc-issuer@main-provider": GITHUB_ISSUER,
                         "oidc-github/example-org/oidc-next@main:prod-provider": NEW_GITHUB_ISSUER}
    # The old issuer's provider component adopts the name of stacks from before (its
    # child, "oidc-provider", follows the parent's alias); the new one is new.
    assert [a.get("name") for a in r.by_name("oidc-github/example-org/oidc-issuer@main").aliases] == ["oidc"]
    assert not r.by_name("oidc-github/example-org/oidc-next@main:prod").aliases
    trust = json.loads(r.one("aws:iam/role:Role").inputs["assumeRolePolicy"])
    assert {s["Principal"]["Federated"].split("oidc-provider/")[1] for s in trust["Statement"]} == {
        GITHUB_ISSUER.removeprefix("https://"), NEW_GITHUB_ISSUER.removeprefix("https://")}
    assert r.stack_outputs["issuerUrl"].value == NEW_GITHUB_ISSUER
    assert r.stack_outputs["previousIssuerUrls"].value == [GITHUB_ISSUER]
    from conftest import secret_value
    script = secret_value(r.by_name("cluster-apiserver-retire").inputs["stdin"])
    assert f"IRSA_PREVIOUS_ISSUERS=({GITHUB_ISSUER})" in script


@pytest.mark.parametrize("entry", ["github:example-org/oidc-issuer@main", "github:example-org@main",
                                   "github:example-org/oidc-issuer@ma in", "github:example-org/oidc-issuer@main:/x"])
def test_a_previous_github_issuer_must_be_well_formed_and_not_the_current_one(entry):
    from irsa.settings import SettingsError, parse

    with pytest.raises(SettingsError) as err:
        parse({**DEV, "irsa:previousIssuerHosts": json.dumps([entry])})
    assert err.value.problems == [
        f"irsa:previousIssuerHosts entry {entry!r} must name a GitHub issuer other than the current one, "
        "as github:OWNER/REPO@BRANCH or github:OWNER/REPO@BRANCH:PATH"]
