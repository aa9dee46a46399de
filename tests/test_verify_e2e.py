"""``python -m irsa verify`` against real parts: the project's issuer documents served over
HTTPS from 127.0.0.1 (raw.githubusercontent.com's path layout, a trustme CA), tokens
signed as kube-apiserver signs them, and moto's IAM/STS/S3 on 127.0.0.1 with IAM
permissions enforced. First the whole chain passes; then each broken link fails at
its own check with its own message.

moto accepts any web-identity token and ignores trust-policy conditions; that is
exactly what verify checks itself, so a case passing here would pass STS only
because of verify's own checks.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from support import iam_setup, tokens
from support.https_issuer import DocumentServer, Reply, make_ca, publish_issuer
from support.moto_server import ACCOUNT_ID, REGION, shared_server

from conftest import ROOT
from irsa import oidc
from irsa.verify.chain import FAIL, OK, SKIP, Chain, Inputs, Result, run
from irsa.verify.checks import (
    CHECKS, EXPIRED, KEY_NOT_FOUND, NOT_AUTHORIZED, WRONG_AUDIENCE, no_provider,
)

AUDIENCE = "sts.amazonaws.com"
OWNER, REPOSITORY, BRANCH = "acme", "oidc-issuer", "main"
BUCKET_PREFIX = "k8s-default-aws-cli"
POD_CHECKS = {"pod-mutated", "pod-role-arn", "pod-token"}  # asked only with --pod


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass
class World:
    """Everything the cases share: servers, keys, the deployed issuer and role, credentials."""

    tmp: Path
    https: DocumentServer
    http: DocumentServer
    ca_bundle: Path
    moto: Any
    admin: dict[str, str]
    key: rsa.RSAPrivateKey
    issuer_url: str
    role_arn: str
    env: dict[str, str] = field(default_factory=dict)

    @property
    def kid(self) -> str:
        return tokens.kubernetes_key_id(self.key.public_key())

    def iam(self) -> Any:
        return self.moto.client("iam", self.admin)

    def deploy(self, repository: str, *, server: DocumentServer | None = None,
               client_ids: tuple[str, ...] = (AUDIENCE,), register: bool = True,
               bucket_prefix: str | None = BUCKET_PREFIX) -> Deployment:
        """Another issuer for default/aws-cli: documents published, provider and role in IAM
        (unless ``register`` is false: then the main role stands in)."""
        server = server or self.https
        issuer = publish_issuer(server, OWNER, repository, BRANCH, [self.key.public_key()])
        if not register:
            return Deployment(self, server, issuer, self.role_arn)
        iam = self.iam()
        provider = iam_setup.create_provider(iam, issuer, list(client_ids))
        role = iam_setup.create_role(iam, provider, issuer, "default", "aws-cli", AUDIENCE,
                                     bucket_prefix, role_name=f"k8s_{repository}")
        return Deployment(self, server, issuer, role.role_arn)

    def claims(self, issuer: str | None = None, name: str = "aws-cli", now: float | None = None,
               **overrides: Any) -> dict[str, Any]:
        """A pod's token claims for default/NAME, issued ``now``, with some replaced."""
        return tokens.claims(issuer or self.issuer_url, "default", name, AUDIENCE, now=now) | overrides

    def token(self, issuer: str | None = None, name: str = "aws-cli", now: float | None = None,
              **overrides: Any) -> str:
        """A token signed by the cluster's (published) key."""
        return tokens.sign(self.claims(issuer, name, now, **overrides), self.key)


@dataclass(frozen=True)
class Deployment:
    """One issuer published on a server, and the role that trusts it."""

    world: World
    server: DocumentServer
    issuer: str
    role_arn: str

    def path(self, document: str) -> str:
        """The server path of one of the issuer's documents (oidc.DISCOVERY_PATH, oidc.JWKS_PATH)."""
        return self.issuer.removeprefix(self.server.origin) + document

    def options(self, **extra: Any) -> dict[str, Any]:
        """verify() arguments for a good token of this issuer."""
        return {"token": self.world.token(self.issuer), "issuer": self.issuer,
                "role_arn": self.role_arn} | extra


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> World:
    tmp = tmp_path_factory.mktemp("verify")
    ca, bundle = make_ca(tmp)
    https, http = DocumentServer(ca), DocumentServer()
    moto = shared_server()
    moto.reset()
    key = new_key()
    issuer = publish_issuer(https, OWNER, REPOSITORY, BRANCH, [key.public_key()])
    iam = moto.client("iam")
    admin = iam_setup.create_admin(iam)
    provider = iam_setup.create_provider(iam, issuer, [AUDIENCE])
    role = iam_setup.create_role(iam, provider, issuer, "default", "aws-cli", AUDIENCE, BUCKET_PREFIX)
    moto.enforce_iam()
    moto.unsigned_calls_free = True
    # verify reads IAM with the operator's credentials, from the environment as usual.
    env = {"AWS_ACCESS_KEY_ID": admin["aws_access_key_id"],
           "AWS_SECRET_ACCESS_KEY": admin["aws_secret_access_key"],
           "AWS_DEFAULT_REGION": REGION, "AWS_CONFIG_FILE": os.devnull,
           "AWS_SHARED_CREDENTIALS_FILE": os.devnull, "NO_PROXY": "127.0.0.1"}
    with pytest.MonkeyPatch.context() as patch:
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "KUBECONFIG"):
            patch.delenv(name, raising=False)
        for name, value in env.items():
            patch.setenv(name, value)
        yield World(tmp, https, http, bundle, moto, admin, key, issuer, role.role_arn, env)
    https.close()
    http.close()
    moto.reset()


def verify(world: World, token: str, *, issuer: str | None = None, role_arn: str | None = None,
           service_account: str = "default/aws-cli", **options: Any) -> list[Result]:
    """Run every check in-process, as the command would."""
    namespace, name = service_account.split("/")
    inputs = Inputs(**{
        "issuer_url": issuer or world.issuer_url, "namespace": namespace, "name": name,
        "role_arn": role_arn or world.role_arn, "get_token": lambda: token,
        "token_source": "from a test", "audience": AUDIENCE, "endpoint_url": world.moto.endpoint_url,
        "region": REGION, "ca_bundle": str(world.ca_bundle), "fetch_options": {"backoff": 0.01},
    } | options)
    return run(Chain.start(inputs), CHECKS)


def failed(results: list[Result]) -> list[str]:
    return [r.name for r in results if r.status == FAIL]


def result(results: list[Result], name: str) -> Result:
    return next(r for r in results if r.name == name)


def run_cli(world: World, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    """``python -m irsa verify ...`` as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "irsa", "verify", "--endpoint-url", world.moto.endpoint_url,
         "--ca-bundle", str(world.ca_bundle), *args],
        cwd=ROOT, env=os.environ | world.env, input=stdin, capture_output=True, text=True, timeout=120,
    )


def stack_outputs(world: World) -> dict[str, Any]:
    """What `pulumi stack output --json` prints for this deployment (secrets hidden)."""
    provider_url = iam_setup.condition_prefix(world.issuer_url)
    return {
        "issuerUrl": world.issuer_url,
        "discoveryUrl": oidc.discovery_url(world.issuer_url),
        "jwksUri": oidc.jwks_uri(world.issuer_url),
        "oidcProviderArn": f"arn:aws:iam::{ACCOUNT_ID}:oidc-provider/{provider_url}",
        "oidcProviderUrl": provider_url,
        "audience": AUDIENCE,
        "signingKeyIds": [world.kid],
        "serviceAccountRoles": {"default/aws-cli": world.role_arn},
        "kubeconfig": "[secret]",
    }


def write(world: World, name: str, text: str) -> Path:
    path = world.tmp / name
    path.write_text(text)
    return path


# --- the whole chain holds ---------------------------------------------------------------


def test_full_chain_passes_from_the_command_line(world):
    token = world.token()
    outputs = write(world, "outputs.json", json.dumps(stack_outputs(world)))
    done = run_cli(world, "--stack-outputs", str(outputs), "--service-account", "default/aws-cli",
                   "--token-file", str(write(world, "token", token)),
                   "--s3-bucket-prefix", BUCKET_PREFIX)
    print(done.stdout)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    statuses = {line.split()[1]: line.split()[0] for line in lines[2:-1]}
    # Without --pod the pod checks are not asked; everything else passes.
    assert statuses == {check.name: SKIP if check.name in POD_CHECKS else OK for check in CHECKS}
    assert f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/k8s_default_aws-cli/irsa-verify" in done.stdout
    assert "AccessDenied, as expected" in done.stdout
    assert lines[-1] == (f"{len(CHECKS) - len(POD_CHECKS)} of {len(CHECKS)} checks passed, none failed; "
                         "not asked: pod-mutated, pod-role-arn, pod-token")
    assert token not in done.stdout + done.stderr
    assert world.admin["aws_secret_access_key"] not in done.stdout + done.stderr
    # docs/verify.md shows this run: it must be what the command prints.
    assert _normalised(done.stdout) == documented_run("verify ", "17 of 20")


# What differs from run to run in a report: ports, temporary paths, key ids, times.
_VOLATILE = [(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT"), (r"/tmp/\S+/", "TMP/"),
             (r"\b[A-Za-z0-9_-]{43}\b", "KID"), (r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", "TIME"),
             (r"\(\d+ min left\)", "(N min left)"), (r"-[0-9a-f]{8}\b", "-HEX"),
             (r"\d+\.\d\d s\b", "N s")]


def _normalised(text: str) -> list[str]:
    for pattern, placeholder in _VOLATILE:
        text = re.sub(pattern, placeholder, text)
    return text.splitlines()


def documented_run(first_line_start: str, last_line_start: str) -> list[str]:
    """The report docs/verify.md shows for a run, as its text block has it."""
    page = (ROOT / "docs" / "verify.md").read_text()
    for block in re.findall(r"^```text\n(.*?)^```", page, re.S | re.M):
        lines = block.splitlines()
        if lines[0].startswith(first_line_start) and lines[-1].startswith(last_line_start):
            return _normalised(block)
    raise AssertionError(f"docs/verify.md shows no run ending in {last_line_start!r}")


def test_json_report_from_stack_outputs_on_stdin(world):
    token = world.token()
    done = run_cli(world, "--stack-outputs", "-", "--service-account", "default/aws-cli",
                   "--token-file", str(write(world, "token-json", token)), "--json",
                   stdin=json.dumps(stack_outputs(world)))
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["ok"] is True and report["failed"] == []
    assert report["roleArn"] == world.role_arn and report["issuerUrl"] == world.issuer_url
    assert [c["name"] for c in report["checks"]] == [c.name for c in CHECKS]
    s3 = report["checks"][-1]
    assert (s3["name"], s3["status"]) == ("s3-prefix", SKIP)
    assert s3["message"] == "not asked (give --s3-bucket-prefix)"
    assert all(c["status"] == (SKIP if c["name"] in POD_CHECKS else OK) for c in report["checks"][:-1])
    assert token not in done.stdout


def test_broken_link_from_the_command_line_exits_1_and_skips_what_depends_on_it(world):
    stale = tokens.sign(world.claims(), new_key())
    done = run_cli(world, "--issuer-url", world.issuer_url, "--role-arn", world.role_arn,
                   "--service-account", "default/aws-cli",
                   "--token-file", str(write(world, "stale", stale)))
    print(done.stdout)
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert any(line.startswith("FAIL token-header") and "is not in the published JWKS" in line
               for line in lines)
    assert any("cause:" in line and "caches for about 5 minutes" in line for line in lines)
    assert any(f"STS answers: {KEY_NOT_FOUND}" in line for line in lines)
    assert any(line.startswith("skip signature") and "needs token-header" in line for line in lines)
    assert any(line.startswith("skip assume-role") for line in lines)
    assert lines[-1].startswith("FAILED: token-header")
    assert stale not in done.stdout
    assert _normalised(done.stdout) == documented_run("verify ", "FAILED: token-header")


def test_usage_errors_exit_2(world):
    token_file = str(write(world, "token-usage", world.token()))
    outputs = stack_outputs(world) | {"serviceAccountRoles": {"default/aws-cli": world.role_arn}}
    missing = run_cli(world, "--stack-outputs", "-", "--service-account", "kube-system/other",
                      "--token-file", token_file, stdin=json.dumps(outputs))
    assert missing.returncode == 2
    assert "no role for kube-system/other" in missing.stderr and "default/aws-cli" in missing.stderr
    hidden = run_cli(world, "--stack-outputs", "-", "--service-account", "default/aws-cli",
                     "--from-cluster", stdin=json.dumps(outputs))
    assert hidden.returncode == 2 and "--show-secrets" in hidden.stderr
    neither = run_cli(world, "--issuer-url", world.issuer_url, "--service-account", "default/aws-cli")
    assert neither.returncode == 2 and "--token-file --from-cluster" in neither.stderr


def test_token_from_the_cluster_through_the_kubernetes_client(world):
    # A stand-in kube-apiserver on the same HTTPS host: it answers TokenRequests with tokens
    # signed by the cluster's key, for the audience asked.
    path = "/api/v1/namespaces/default/serviceaccounts/aws-cli/token"
    asked: list[dict[str, Any]] = []

    def token_request(request) -> Reply:
        body = json.loads(request.body)
        asked.append({"auth": request.headers.get("authorization"), "spec": body["spec"]})
        token = tokens.sign(tokens.claims(world.issuer_url, "default", "aws-cli",
                                          body["spec"]["audiences"]), world.key)
        expires = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 600))
        answer = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                  "metadata": {"name": "aws-cli", "namespace": "default"}, "spec": body["spec"],
                  "status": {"token": token, "expirationTimestamp": expires}}
        return Reply(201, json.dumps(answer).encode())

    world.https.routes[path] = token_request
    kubeconfig = {
        "apiVersion": "v1", "kind": "Config", "current-context": "microk8s",
        "clusters": [{"name": "microk8s", "cluster": {
            "server": world.https.origin, "certificate-authority": str(world.ca_bundle)}}],
        "users": [{"name": "admin", "user": {"token": "kubeconfig-bearer-token"}}],
        "contexts": [{"name": "microk8s", "context": {"cluster": "microk8s", "user": "admin"}}],
    }
    done = run_cli(world, "--issuer-url", world.issuer_url, "--role-arn", world.role_arn,
                   "--service-account", "default/aws-cli", "--from-cluster",
                   "--kubeconfig", str(write(world, "kubeconfig", json.dumps(kubeconfig))))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "from a TokenRequest for audience sts.amazonaws.com" in done.stdout
    assert asked == [{"auth": "Bearer kubeconfig-bearer-token",
                      "spec": {"audiences": [AUDIENCE], "expirationSeconds": 600}}]
    assert "kubeconfig-bearer-token" not in done.stdout


# --- each broken link fails at its own check ------------------------------------------------


@dataclass(frozen=True)
class Case:
    """A broken link: how to break it, and which checks must fail with what words."""

    break_it: Callable[[World], dict[str, Any]]  # → keyword arguments of verify()
    fails: tuple[str, ...]
    message: str
    cause: str = ""
    sts: str = ""


def _unpublished_kid(w: World) -> dict[str, Any]:
    rotated_away = new_key()
    return {"token": tokens.sign(w.claims(), rotated_away)}


def _other_key_same_kid(w: World) -> dict[str, Any]:
    return {"token": tokens.sign(w.claims(), new_key(), kid=w.kid)}


def _discovery_issuer_mismatch(w: World) -> dict[str, Any]:
    d = w.deploy("mismatch")
    published = json.loads(w.https.routes[d.path(oidc.DISCOVERY_PATH)].body)
    w.https.put_json(d.path(oidc.DISCOVERY_PATH), published | {"issuer": d.issuer + "/"})
    return d.options()


def _unpublished(document: str) -> Callable[[World], dict[str, Any]]:
    """A deployment whose document (oidc.JWKS_PATH or oidc.DISCOVERY_PATH) is gone: a 404."""
    def break_it(w: World) -> dict[str, Any]:
        d = w.deploy(f"without{document.replace('/', '-')}")
        del w.https.routes[d.path(document)]
        return d.options()
    return break_it


def _no_kid_in_jwks(w: World) -> dict[str, Any]:
    d = w.deploy("jwks-without-kid")
    keys = json.loads(w.https.routes[d.path(oidc.JWKS_PATH)].body)["keys"]
    w.https.put_json(d.path(oidc.JWKS_PATH), {"keys": [{k: v for k, v in key.items() if k != "kid"}
                                                       for key in keys]})
    return d.options()


def _provider_with_trailing_slash(w: World) -> dict[str, Any]:
    d = w.deploy("slash-provider", register=False)
    iam_setup.create_provider(w.iam(), d.issuer + "/", [AUDIENCE])
    return d.options()


CASES = {
    "unknown kid (stale JWKS, or key rotated away)": Case(
        _unpublished_kid,
        ("token-header",), "is not in the published JWKS", "caches for about 5 minutes",
        KEY_NOT_FOUND),
    "signed by another key with the published kid": Case(
        _other_key_same_kid,
        ("signature",), "the signature does not verify with the published key",
        "public half is not the one published"),
    "alg none": Case(
        lambda w: {"token": tokens.unsigned(w.claims(), w.kid)},
        ("token-header",), "the token is unsigned (alg 'none')", "never issues one"),
    "HS256 keyed with the public key": Case(
        lambda w: {"token": tokens.hs256_with_public_key(w.claims(), w.key.public_key(), w.kid)},
        ("token-header",), "signed with HS256, an HMAC algorithm", "algorithm-confusion"),
    "iss with a trailing slash": Case(
        lambda w: {"token": w.token(iss=w.issuer_url + "/")},
        ("token-issuer",), "a trailing slash differs", "--service-account-issuer",
        no_provider("{issuer}/")),
    "discovery issuer mismatch": Case(
        _discovery_issuer_mismatch,
        ("issuer",), "the discovery document's issuer is", "written for another issuer URL"),
    "aud not a client id": Case(
        lambda w: {"token": w.token(aud=["https://kubernetes.default.svc"])},
        ("token-audience", "trust-policy"), "does not include 'sts.amazonaws.com'",
        "one of the OIDC provider's client ids", WRONG_AUDIENCE),
    "expired token": Case(
        lambda w: {"token": w.token(now=time.time() - 4 * 3600)},  # lived an hour, 3 h ago
        ("token-lifetime",), "the token expired at", "goes stale", EXPIRED),
    "not yet valid": Case(
        lambda w: {"token": w.token(nbf=int(time.time()) + 3600)},
        ("token-lifetime",), "the token is not valid before", "clock is ahead"),
    "sub of another service account (trust policy denies)": Case(
        lambda w: {"token": w.token(name="other"), "service_account": "default/other"},
        ("trust-policy",), "role k8s_default_aws-cli does not trust this token",
        "wants 'system:serviceaccount:default:aws-cli', "
        "the token has 'system:serviceaccount:default:other'", NOT_AUTHORIZED),
    "token of another service account than the one asked": Case(
        lambda w: {"token": w.token(name="other")},
        ("token-subject", "trust-policy"), "the token's sub is 'system:serviceaccount:default:other'",
        "another service account"),
    "JWKS 404": Case(
        _unpublished(oidc.JWKS_PATH),
        ("jwks-uri",), "answered HTTP 404", "missing from that branch", KEY_NOT_FOUND),
    "discovery 404": Case(
        _unpublished(oidc.DISCOVERY_PATH),
        ("discovery",), "answered HTTP 404", "repository is private", KEY_NOT_FOUND),
    "discovery served over plain HTTP": Case(
        lambda w: w.deploy("plain-http", server=w.http, register=False).options(),
        ("discovery", "iam-provider"), "is not https", "only over HTTPS", KEY_NOT_FOUND),
    "certificate not trusted": Case(
        lambda w: {"token": w.token(), "ca_bundle": None},
        ("discovery",), "certificate verify failed", "not trusted here", KEY_NOT_FOUND),
    "OIDC provider missing in IAM": Case(
        lambda w: w.deploy("unregistered", register=False).options(),
        ("iam-provider",), "IAM has no OIDC provider for", "byte for byte", no_provider("{issuer}")),
    "provider registered with a trailing slash": Case(
        _provider_with_trailing_slash,
        ("iam-provider",), "IAM has no OIDC provider for", "differs in a slash or in letter case",
        no_provider("{issuer}")),
    "provider without the audience as client id": Case(
        lambda w: w.deploy("seed-client-id", client_ids=("https://kubernetes.default.svc",)).options(),
        ("iam-provider",), "does not list the audience 'sts.amazonaws.com'", "client ids",
        WRONG_AUDIENCE),
    "JWKS keys without kid": Case(
        _no_kid_in_jwks,
        ("jwks-keys",), "is an RSA key with a kid", "by the token's kid", KEY_NOT_FOUND),
    "not a JWT": Case(
        lambda w: {"token": "not-a-token"},
        ("token",), "not a JWT: expected 3"),
    "role may not use the bucket prefix": Case(
        lambda w: w.deploy("no-s3", bucket_prefix=None).options(s3_bucket_prefix=BUCKET_PREFIX),
        ("s3-prefix",), f"CreateBucket {BUCKET_PREFIX}-", "does not let it manage buckets"),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_broken_link_fails_at_its_own_check(world, case):
    options = case.break_it(world)
    token = options.pop("token")
    results = verify(world, token, **options)
    report = "\n".join(f"{r.status} {r.name}: {r.message} | {r.cause}" for r in results)
    assert failed(results) == list(case.fails), report
    first = result(results, case.fails[0])
    issuer = options.get("issuer", world.issuer_url)
    assert case.message.format(issuer=issuer) in first.message, report
    assert case.cause in first.cause, report
    assert first.fix, "every failure says how to fix it"
    assert first.sts == case.sts.format(issuer=issuer), report
    # STS is never asked when a link before it is broken (moto would accept anything).
    expected_assume = OK if case.fails == ("s3-prefix",) else SKIP
    assert result(results, "assume-role").status == expected_assume
    assert all(token not in r.message + r.cause + r.fix for r in results)


def test_jwks_404_is_not_retried_but_a_server_error_is(world):
    flaky = world.deploy("flaky")
    jwks_path = flaky.path(oidc.JWKS_PATH)
    published = world.https.routes[jwks_path]
    answers = iter([Reply(503, b"busy"), Reply(502, b"bad gateway")])
    world.https.routes[jwks_path] = lambda request: next(answers, published)
    options = flaky.options()
    results = verify(world, **options)
    assert failed(results) == []
    assert world.https.hits[jwks_path] == 3
    del world.https.routes[jwks_path]
    results = verify(world, **options)
    assert failed(results) == ["jwks-uri"]
    assert world.https.hits[jwks_path] == 4


@pytest.mark.parametrize("case, advice", [
    ("aud not a client id", "issue the token for 'sts.amazonaws.com'"),
    ("sub of another service account (trust policy denies)",
     "role k8s_default_aws-cli is the role of system:serviceaccount:default:aws-cli: give "
     "--role-arn of default/other's own role"),
    ("token of another service account than the one asked", "use a token of default/aws-cli"),
])
def test_the_trust_policy_fix_changes_the_side_that_is_wrong(world, case, advice):
    # Never what the docs warn against: trusting the Kubernetes API audience, or
    # widening a role to another service account's tokens.
    options = CASES[case].break_it(world)
    results = verify(world, options.pop("token"), **options)
    fix = result(results, "trust-policy").fix
    assert fix.startswith(advice), fix
    fixes = " ".join(r.fix for r in results)
    assert "aud = https://kubernetes.default.svc" not in fixes
    assert "sub = system:serviceaccount:default:other" not in fixes


def test_the_issuer_alone_needs_no_token_role_or_aws(world):
    done = run_cli(world, "--issuer-url", world.issuer_url)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == (f"verify the issuer {world.issuer_url} (no service account: token, IAM and "
                        "STS are not checked)")
    assert [line.split()[:2] for line in lines[1:-1] if not line.startswith(" ")] == [
        ["ok", "discovery"], ["ok", "issuer"], ["ok", "jwks-uri"], ["ok", "jwks-keys"],
        ["ok", "issuer-host"]]
    assert lines[-1] == "all 5 checks passed"
    # A broken issuer fails as it does in the full chain.
    gone = run_cli(world, "--issuer-url", world.issuer_url + "-nowhere")
    assert gone.returncode == 1 and gone.stdout.splitlines()[1].startswith("FAIL discovery")


def test_verifying_with_the_kubernetes_audience_never_advises_trusting_it(world):
    kubernetes = "https://kubernetes.default.svc"
    results = verify(world, world.token(aud=[kubernetes]), audience=kubernetes)
    assert failed(results) == ["iam-provider"]
    fix = result(results, "iam-provider").fix
    assert fix.startswith("verify with --audience sts.amazonaws.com"), fix
    assert f"--client-id {kubernetes}" not in " ".join(r.fix for r in results)
