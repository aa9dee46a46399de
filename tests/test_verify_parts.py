"""The parts of ``irsa.verify`` one at a time: trust-policy evaluation, HTTPS fetching,
token reading, the order table's skipping, and the command's inputs."""

from __future__ import annotations

import io
import json
import time
from urllib.parse import quote

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from support import tokens
from support.https_issuer import DocumentServer, Reply, make_ca

from irsa import cli, oidc, policies
from irsa.verify import fetch, trust
from irsa.verify import token as token_module
from irsa.verify.aws import Aws
from irsa.verify.broken import Broken
from irsa.verify.chain import ALL_BEFORE, FAIL, OK, SKIP, Chain, Check, Inputs, exit_status, run
from irsa.verify.checks import CLOCK_SKEW_SECONDS, check_token_lifetime
from irsa.verify.command import UsageError, inputs_from, summary

ISSUER = "https://127.0.0.1:8443/acme/oidc-issuer/refs/heads/main"
PREFIX = "127.0.0.1:8443/acme/oidc-issuer/refs/heads/main"
PROVIDER = f"arn:aws:iam::123456789012:oidc-provider/{PREFIX}"
AUDIENCE = "sts.amazonaws.com"
ROLE = "arn:aws:iam::123456789012:role/k8s_default_aws-cli"


def context(sub: str = "system:serviceaccount:default:aws-cli", aud: str = AUDIENCE) -> dict[str, str]:
    return trust.condition_context(ISSUER, {"sub": sub, "aud": [aud]}, AUDIENCE)


def project_trust(namespace: str = "default", name: str = "aws-cli") -> dict:
    return policies.trust_policy(PROVIDER, PREFIX, namespace, name, AUDIENCE)


# --- trust policy ------------------------------------------------------------------------


def test_the_projects_trust_policy_admits_its_service_account():
    decision = trust.evaluate(project_trust(), PROVIDER, context())
    assert (decision.allowed, decision.matched) == (True, "statement 1")


def test_another_subject_is_refused_with_both_values_named():
    other = context(sub="system:serviceaccount:default:other")
    decision = trust.evaluate(project_trust(), PROVIDER, other)
    assert not decision.allowed
    assert decision.reasons == (
        f"statement 1: StringEquals {PREFIX}:sub wants 'system:serviceaccount:default:aws-cli', "
        "the token has 'system:serviceaccount:default:other'",)


def test_another_audience_is_refused():
    decision = trust.evaluate(project_trust(), PROVIDER, context(aud="https://kubernetes.default.svc"))
    assert not decision.allowed and f"{PREFIX}:aud wants 'sts.amazonaws.com'" in decision.reasons[0]


def test_string_like_patterns_match_like_iam():
    policy = project_trust("team-*", "*")
    assert trust.evaluate(policy, PROVIDER, context(sub="system:serviceaccount:team-a:app")).allowed
    assert not trust.evaluate(policy, PROVIDER, context(sub="system:serviceaccount:default:app")).allowed


def test_another_provider_is_refused():
    other = PROVIDER + "/"
    decision = trust.evaluate(project_trust(), other, context())
    assert not decision.allowed and f"not {other}" in decision.reasons[0]


def test_explicit_deny_wins_over_allow():
    policy = project_trust()
    deny = dict(policy["Statement"][0], Effect="Deny", Sid="NoAwsCli")
    policy["Statement"].append(deny)
    decision = trust.evaluate(policy, PROVIDER, context())
    assert decision.reasons == ("statement NoAwsCli denies it explicitly",)


def test_condition_keys_with_the_scheme_are_not_keys_sts_sets():
    policy = policies.trust_policy(PROVIDER, ISSUER, "default", "aws-cli", AUDIENCE)
    decision = trust.evaluate(policy, PROVIDER, context())
    assert not decision.allowed and f"condition key {ISSUER}:sub is not set" in decision.reasons[0]


def test_unknown_operators_are_not_guessed():
    policy = project_trust()
    statement = policy["Statement"][0]
    statement["Condition"] = {"StringEqualsIfExists": statement["Condition"]["StringEquals"]}
    decision = trust.evaluate(policy, PROVIDER, context())
    assert not decision.allowed and "StringEqualsIfExists is not one" in decision.reasons[0]


def test_policy_documents_are_read_as_iam_returns_them():
    document = project_trust()
    assert trust.parse_document(quote(json.dumps(document))) == document
    assert trust.parse_document(json.dumps(document)) == document
    assert trust.parse_document(document) == document


def test_aud_key_is_the_audience_the_provider_accepts():
    claims = {"sub": "s", "aud": ["https://kubernetes.default.svc", AUDIENCE]}
    assert trust.condition_context(ISSUER, claims, AUDIENCE)[f"{PREFIX}:aud"] == AUDIENCE
    assert trust.condition_context(ISSUER, {"aud": "x"}, AUDIENCE)[f"{PREFIX}:aud"] == "x"


# --- HTTPS fetching ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def https(tmp_path_factory):
    ca, bundle = make_ca(tmp_path_factory.mktemp("ca"))
    server = DocumentServer(ca)
    yield server, str(bundle)
    server.close()


def answers(server: DocumentServer, path: str, *replies: Reply) -> str:
    """Serve these replies in turn at ``path`` (the last one from then on); return the URL."""
    queue = list(replies)
    server.routes[path] = lambda request: queue.pop(0) if len(queue) > 1 else queue[0]
    return server.origin + path


def test_server_errors_are_retried_with_backoff(https):
    server, bundle = https
    url = answers(server, "/flaky", Reply(503, b""), Reply(500, b""), Reply(200, b'{"keys": []}'))
    slept: list[float] = []
    assert fetch.get_json_object(url, ca_bundle=bundle, sleep=slept.append) == {"keys": []}
    assert server.hits["/flaky"] == 3 and slept == [0.5, 1.0]


def test_client_errors_are_not_retried(https):
    server, bundle = https
    url = answers(server, "/gone", Reply(404, b"404: Not Found"))
    slept: list[float] = []
    with pytest.raises(fetch.FetchError) as failed:
        fetch.get(url, ca_bundle=bundle, sleep=slept.append)
    assert (failed.value.kind, failed.value.status) == ("http", 404)
    assert server.hits["/gone"] == 1 and slept == []


def test_giving_up_says_how_often_it_tried(https):
    server, bundle = https
    url = answers(server, "/down", Reply(502, b""))
    with pytest.raises(fetch.FetchError, match=r"HTTP 502 .*\(tried 3 times\)"):
        fetch.get(url, ca_bundle=bundle, sleep=lambda _: None)
    assert server.hits["/down"] == 3


def test_slow_answers_time_out_and_are_retried(https):
    server, bundle = https

    def slow(request):
        time.sleep(0.5)
        return Reply(200, b"{}")

    server.routes["/slow"] = slow
    with pytest.raises(fetch.FetchError) as failed:
        fetch.get(server.origin + "/slow", ca_bundle=bundle, timeout=0.1, attempts=2,
                  sleep=lambda _: None)
    assert failed.value.kind == "network" and "(tried 2 times)" in str(failed.value)
    assert server.hits["/slow"] == 2


@pytest.mark.parametrize("body, reason", [(b"<html>", "not JSON"), (b"[1]", "not an object")])
def test_only_json_objects_are_documents(https, body, reason):
    server, bundle = https
    url = answers(server, f"/doc-{len(body)}", Reply(200, body))
    with pytest.raises(fetch.FetchError, match=reason) as failed:
        fetch.get_json_object(url, ca_bundle=bundle)
    assert failed.value.kind == "content"


def test_plain_http_is_refused_before_any_request():
    with pytest.raises(fetch.FetchError, match="is not an https URL"):
        fetch.get("http://127.0.0.1:9/doc")


# --- tokens ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def test_a_kube_apiserver_token_is_read_without_trusting_it(key):
    raw = tokens.sign(tokens.claims(ISSUER, "default", "aws-cli", AUDIENCE), key)
    token = token_module.parse(raw + "\n")
    assert token.header == {"alg": "RS256", "kid": tokens.kubernetes_key_id(key.public_key())}
    assert token.claims["sub"] == "system:serviceaccount:default:aws-cli"
    assert token.audiences == [AUDIENCE]
    assert raw not in repr(token)


@pytest.mark.parametrize("raw, reason", [
    ("abc", "expected 3 dot-separated parts, found 1"),
    ("a.b.c", "the header is not base64url-encoded JSON"),
    ("WzFd.e30.", "the header is not a JSON object"),
])
def test_what_is_not_a_jwt_says_why(raw, reason):
    with pytest.raises(token_module.TokenError, match=reason):
        token_module.parse(raw)


def chain_with(raw: str) -> Chain:
    inputs = Inputs(issuer_url=ISSUER, namespace="default", name="aws-cli", role_arn=ROLE,
                    get_token=lambda: raw, token_source="from a test")
    return Chain(inputs=inputs, aws=Aws(), token=token_module.parse(raw))


def test_lifetime_allows_a_minute_of_clock_skew(key):
    now = time.time()
    chain = chain_with(tokens.sign(tokens.claims(ISSUER, "default", "aws-cli", AUDIENCE, now=now), key))
    exp = chain.token.claims["exp"]
    assert check_token_lifetime(chain, now=exp + CLOCK_SKEW_SECONDS - 1).startswith("valid until")
    with pytest.raises(Broken, match="the token expired at"):
        check_token_lifetime(chain, now=exp + CLOCK_SKEW_SECONDS + 1)
    nbf = chain.token.claims["nbf"]
    assert check_token_lifetime(chain, now=nbf - CLOCK_SKEW_SECONDS + 1)
    with pytest.raises(Broken, match="not valid before"):
        check_token_lifetime(chain, now=nbf - CLOCK_SKEW_SECONDS - 1)


# --- the order table ---------------------------------------------------------------------


def passes(chain: Chain) -> str:
    return "fine"


def breaks(chain: Chain) -> str:
    raise Broken(f"bad token {chain.inputs.get_token()}", "cause", "fix")


def crashes(chain: Chain) -> str:
    raise ValueError("surprise")


RAW = tokens.unsigned({"sub": "system:serviceaccount:default:aws-cli"}, "kid")


def statuses(checks: list[Check]) -> list[tuple[str, str, str]]:
    return [(r.name, r.status, r.message) for r in run(chain_with(RAW), checks)]


def test_a_failure_skips_what_needs_it_and_nothing_else():
    results = statuses([Check("a", "", breaks), Check("b", "", passes, ("a",)),
                        Check("c", "", passes), Check("d", "", passes, (ALL_BEFORE,))])
    assert [(name, status) for name, status, _ in results] == [
        ("a", FAIL), ("b", SKIP), ("c", OK), ("d", SKIP)]
    assert results[1][2] == "skipped: needs a" and results[3][2] == "skipped: needs a, b"


def test_summary_counts_each_check_once_and_says_what_each_count_means():
    results = run(chain_with(RAW), [
        Check("a", "", passes), Check("b", "", breaks), Check("c", "", passes, ("b",)),
        Check("d", "", passes, ("b",)), Check("e", "", passes, wanted=lambda inputs: "not asked")])
    assert summary(results) == (
        "FAILED: b — 1 passed, 1 failed, 2 not run (a check they need failed); not asked: e")
    clean = run(chain_with(RAW), [Check("a", "", passes),
                                  Check("e", "", passes, wanted=lambda inputs: "not asked")])
    assert summary(clean) == "1 of 2 checks passed, none failed; not asked: e"
    assert summary(run(chain_with(RAW), [Check("a", "", passes)])) == "all 1 checks passed"


def test_checks_not_asked_for_block_nothing():
    results = statuses([Check("a", "", passes, wanted=lambda inputs: "not asked"),
                        Check("b", "", passes, ("a",)), Check("c", "", passes, (ALL_BEFORE,))])
    assert results == [("a", SKIP, "not asked"), ("b", OK, "fine"), ("c", OK, "fine")]
    assert exit_status(run(chain_with(RAW), [Check("a", "", passes)])) == 0
    assert exit_status(run(chain_with(RAW), [Check("a", "", breaks)])) == 1


def test_the_token_never_reaches_a_message():
    results = statuses([Check("a", "", breaks)])
    assert results == [("a", FAIL, "bad token [redacted]")]


def test_an_unexpected_error_is_a_failure_not_a_crash():
    results = statuses([Check("a", "", crashes), Check("b", "", passes)])
    assert results == [("a", FAIL, "unexpected ValueError: surprise"), ("b", OK, "fine")]


# --- the command's inputs ----------------------------------------------------------------

OUTPUTS = {"issuerUrl": ISSUER, "audience": "my-audience", "kubeconfig": "[secret]",
           "serviceAccountRoles": {"default/aws-cli": ROLE}}


def inputs(*argv: str, stdin: str = json.dumps(OUTPUTS), environ: dict | None = None) -> Inputs:
    args = cli.parser().parse_args(["verify", "--stack-outputs", "-", *argv])
    return inputs_from(args, environ or {}, io.StringIO(stdin))


def test_stack_outputs_give_issuer_role_and_audience(tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text("a.b.c\n")
    got = inputs("--service-account", "default/aws-cli", "--token-file", str(token_file))
    assert (got.issuer_url, got.role_arn, got.audience) == (ISSUER, ROLE, "my-audience")
    assert got.get_token() == "a.b.c"


def test_flags_override_stack_outputs(tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text("a.b.c")
    got = inputs("--service-account", "default/aws-cli", "--token-file", str(token_file),
                 "--issuer-url", "https://issuer.example", "--audience", AUDIENCE,
                 "--role-arn", "arn:aws:iam::1:role/r")
    assert got.issuer_url == "https://issuer.example"
    assert (got.role_arn, got.audience) == ("arn:aws:iam::1:role/r", AUDIENCE)


@pytest.mark.parametrize("argv, stdin, message", [
    (["--service-account", "aws-cli", "--from-cluster"], json.dumps(OUTPUTS), "must be NAMESPACE/NAME"),
    (["--service-account", "default/aws-cli", "--from-cluster"], '{"audience": "x"}',
     r"^--stack-outputs standard input has no issuerUrl \(it has: audience\)"),
    (["--service-account", "default/x", "--from-cluster"], json.dumps(OUTPUTS),
     "it has: default/aws-cli"),
    (["--service-account", "default/aws-cli", "--from-cluster"], "not json", "not JSON"),
    (["--service-account", "default/aws-cli", "--from-cluster"], json.dumps(OUTPUTS), "--show-secrets"),
    (["--service-account", "default/aws-cli", "--token-file", "/nonexistent"], json.dumps(OUTPUTS),
     "no such file"),
])
def test_unusable_inputs_are_usage_errors(argv, stdin, message):
    with pytest.raises(UsageError, match=message):
        inputs(*argv, stdin=stdin)


def test_kubeconfig_comes_from_the_environment_before_the_stack():
    got = inputs("--service-account", "default/aws-cli", "--from-cluster",
                 environ={"KUBECONFIG": "/no/such/kubeconfig:/other"})
    with pytest.raises(token_module.TokenError, match="cannot use the kubeconfig"):
        got.get_token()


def test_usage_errors_exit_2(capsys):
    status = cli.main(["verify", "--service-account", "default/aws-cli", "--token-file", "/nonexistent",
                       "--issuer-url", ISSUER, "--role-arn", ROLE])
    assert status == 2
    assert capsys.readouterr().err == "irsa verify: --token-file /nonexistent: no such file\n"
