"""``irsa verify`` end to end with the issuer in S3: the bucket, policy and objects an
``issuerHost: s3`` stack declares, built in moto's S3, read anonymously through a local
HTTPS endpoint (trustme CA) that forwards every request to that bucket, as
``BUCKET.s3.REGION.amazonaws.com`` would answer it. IAM and STS are moto's too, with
IAM permissions enforced; tokens are signed with the stack's own signing key.

The only change to what the program declares: the discovery document names the
local endpoint as issuer (``irsa.oidc`` rightly refuses a URL with a port, and
the test endpoint has one), as ``publish_issuer`` does for the GitHub stand-in.
"""

from __future__ import annotations

import http.client
import json
import os

import pytest
from cryptography.hazmat.primitives import serialization
from support import iam_setup, tokens
from support.https_issuer import DocumentServer, Reply, make_ca
from support.moto_server import REGION, shared_server
from support.s3_setup import build, declared_with_signing_key

from conftest import ROOT, stack_file_config
from irsa.verify.chain import FAIL, OK, WARN, Chain, Inputs, run
from irsa.verify.checks import CHECKS

AUDIENCE = "sts.amazonaws.com"
BUCKET = "example-oidc-issuer"
BUCKET_PREFIX = "k8s-default-aws-cli"
STACK = {**stack_file_config(ROOT / "Pulumi.dev.yaml"), "aws:region": REGION,
         "irsa:issuerHost": "s3", "irsa:issuerBucket": BUCKET}
DECLARED_ISSUER = f"https://{BUCKET}.s3.{REGION}.amazonaws.com"
PASSED_ON = ("content-type", "cache-control", "age", "x-amz-version-id")


def forward_to_bucket(moto):
    """A route answering every request with what moto's S3 answers for the bucket's host."""
    host, port = moto.endpoint_url.removeprefix("http://").split(":")

    def answer(request):
        connection = http.client.HTTPConnection(host, int(port), timeout=10)
        try:
            target = request.path + (f"?{request.query}" if request.query else "")
            connection.request(request.method, target, headers={"Host": moto.s3_virtual_host(BUCKET)})
            reply = connection.getresponse()
            headers = {k.lower(): v for k, v in reply.getheaders()}
            return Reply(reply.status, reply.read(), headers.get("content-type", ""),
                         tuple((k, v) for k, v in headers.items() if k in PASSED_ON[1:]))
        finally:
            connection.close()
    return answer


@pytest.fixture(scope="module")
def deployed(tmp_path_factory):
    """The s3 stack's store in moto behind local HTTPS; its provider and role in moto's IAM."""
    from conftest import IrsaMocks, RecordingMonitor, Recorder
    import pulumi
    from pulumi.runtime import config as runtime_config, settings as runtime_settings

    recorder = Recorder()
    runtime_settings.set_root_resource(None)
    pulumi.runtime.set_mocks(IrsaMocks(), project="irsa", stack="test", preview=False,
                             monitor=RecordingMonitor(IrsaMocks(), recorder))
    try:
        resources, key_pem = declared_with_signing_key(recorder, STACK)
    finally:
        runtime_config.set_all_config({}, [])
    tmp = tmp_path_factory.mktemp("s3-verify")
    ca, bundle = make_ca(tmp)
    moto = shared_server()
    moto.reset()
    https = DocumentServer(ca)
    issuer = https.origin
    for obj in resources["BucketObjectv2"]:
        if obj["key"] == ".well-known/openid-configuration":
            document = json.loads(obj["content"])
            assert document["issuer"] == DECLARED_ISSUER, "the stack's own issuer URL"
            obj["content"] = json.dumps({k: v.replace(DECLARED_ISSUER, issuer) if isinstance(v, str)
                                         else v for k, v in document.items()})
    build(moto.client("s3"), resources)
    https.fallback = forward_to_bucket(moto)
    iam = moto.client("iam")
    admin = iam_setup.create_admin(iam)
    provider = iam_setup.create_provider(iam, issuer, [AUDIENCE])
    role = iam_setup.create_role(iam, provider, issuer, "default", "aws-cli", AUDIENCE, BUCKET_PREFIX)
    moto.enforce_iam()
    moto.unsigned_calls_free = True
    key = serialization.load_pem_private_key(key_pem.encode(), None)
    env = {"AWS_ACCESS_KEY_ID": admin["aws_access_key_id"],
           "AWS_SECRET_ACCESS_KEY": admin["aws_secret_access_key"],
           "AWS_DEFAULT_REGION": REGION, "AWS_CONFIG_FILE": os.devnull,
           "AWS_SHARED_CREDENTIALS_FILE": os.devnull, "NO_PROXY": "127.0.0.1"}
    with pytest.MonkeyPatch.context() as patch:
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
            patch.delenv(name, raising=False)
        for name, value in env.items():
            patch.setenv(name, value)
        yield {"issuer": issuer, "bundle": str(bundle), "moto": moto, "key": key,
               "role_arn": role.role_arn, "https": https}
    https.close()
    moto.reset()


def verify(deployed, token: str):
    inputs = Inputs(issuer_url=deployed["issuer"], namespace="default", name="aws-cli",
                    role_arn=deployed["role_arn"], get_token=lambda: token, token_source="from a test",
                    audience=AUDIENCE, endpoint_url=deployed["moto"].endpoint_url, region=REGION,
                    ca_bundle=deployed["bundle"], s3_bucket_prefix=BUCKET_PREFIX,
                    fetch_options={"backoff": 0.01}, issuer_host="s3")
    return {r.name: r for r in run(Chain.start(inputs), CHECKS)}


def test_the_whole_chain_holds_with_the_issuer_in_s3(deployed):
    claims = tokens.claims(deployed["issuer"], "default", "aws-cli", AUDIENCE)
    results = verify(deployed, tokens.sign(claims, deployed["key"]))
    failed = {name: r.message for name, r in results.items() if r.status == FAIL}
    assert not failed
    for name, result in results.items():
        if name == "issuer-host" or name.startswith("pod-"):
            continue  # a warning of its own (below); the pod checks are asked only with --pod
        assert result.status == OK, (name, result.message)
    assert {results[n].message for n in ("pod-mutated", "pod-role-arn", "pod-token")} == {"not asked (give --pod)"}
    assert "AccessDenied, as expected" in results["s3-prefix"].message


def test_issuer_host_sees_s3s_headers_and_motos_open_bucket(deployed):
    claims = tokens.claims(deployed["issuer"], "default", "aws-cli", AUDIENCE)
    host = verify(deployed, tokens.sign(claims, deployed["key"]))["issuer-host"]
    # What the bucket serves, as declared: JSON with a 60 s cache.
    assert "discovery document: application/json, Cache-Control public, max-age=60" in host.cause
    assert "JWKS: application/json, Cache-Control public, max-age=60" in host.cause
    # moto checks no anonymous bucket-level request: anyone may list the bucket, read its
    # policy and ACL, and a missing key answers 404 (S3 answers 403 to all of it for this
    # policy). So here the check warns about exactly those four, and nothing about the
    # documents themselves; tests/test_verify_issuer_host.py has the 403 case.
    assert host.status == WARN
    assert host.message.split("; ") == [
        "anyone can list the bucket (GET /?list-type=2 answered 200)",
        "anyone may list the bucket (a missing key answers 404, not 403) "
        f"(GET /{host.message.split('GET /')[2].split(' ')[0]} answered 404)",
        "anyone can read the bucket policy (GET /?policy answered 200)",
        "anyone can read the bucket ACL (GET /?acl answered 200)",
    ]
    assert "irsa-verify-probe-" in host.message


def test_a_token_of_another_key_is_refused_at_the_published_jwks(deployed):
    from cryptography.hazmat.primitives.asymmetric import rsa

    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    claims = tokens.claims(deployed["issuer"], "default", "aws-cli", AUDIENCE)
    results = verify(deployed, tokens.sign(claims, other))
    assert results["token-header"].status == FAIL
    assert results["assume-role"].status != OK


def test_documents_are_not_readable_once_the_policy_is_gone(deployed):
    """The control for the whole file: without the bucket policy, S3 (moto) refuses the reads."""
    moto = deployed["moto"]
    s3 = moto.client("s3", None)
    moto.enforce_iam(unchecked_calls=2)
    policy = s3.get_bucket_policy(Bucket=BUCKET)["Policy"]
    s3.delete_bucket_policy(Bucket=BUCKET)
    try:
        claims = tokens.claims(deployed["issuer"], "default", "aws-cli", AUDIENCE)
        results = verify(deployed, tokens.sign(claims, deployed["key"]))
        assert results["discovery"].status == FAIL
        assert "403" in results["discovery"].message
    finally:
        moto.enforce_iam(unchecked_calls=1)
        s3.put_bucket_policy(Bucket=BUCKET, Policy=policy)
        moto.enforce_iam()
